package server

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/termcall/termcall/internal/lograte"
	"github.com/termcall/termcall/protocol"
)

// Operator logs: one structured line (slog) per login, logout, call start
// and call end, and per refused request; these are the server's INFO
// lines, next to startup and shutdown. The state machine calls the obs*
// functions below (one line each, with Server.mu held); they also update
// the metrics. The keys are stable (docs/operations.md, "Logs"):
//
//	login       user, device, remote, resumed, multiDevice
//	logout      user, device, remote, reason (logout, kicked, timeout)
//	call start  callId, scene, mediaType, caller, invitees, groupId
//	call end    callId, scene, mediaType, participants, connected, answered,
//	            reason, by, setup (s), duration (s, from the first answer)
//	refused     code, name, type, user, device, remote, error
//
// Refusals are logged by code class: auth failures (2xxx) at INFO, storage
// and limits (6002, 6005, 7xxx) at WARN, internal errors (6001) at ERROR,
// and the rest (malformed requests, wrong call state, busy: the ordinary
// flow of a call and client bugs) at DEBUG. Every code is rate-limited on
// its own: refusalBurst lines per refusalInterval, then one "refusals
// suppressed" line with the count, so a client looping on a refused request
// cannot flood the log. The count of every refusal is in the metric
// termcall_refusals_total.
const (
	refusalBurst    = 10
	refusalInterval = 10 * time.Second
)

func refusalLevel(c protocol.Code) slog.Level {
	switch {
	case c == protocol.CodeInternal:
		return slog.LevelError
	case c == protocol.CodeStorage || c == protocol.CodeStoreUnavailable || (c >= 7000 && c < 8000):
		return slog.LevelWarn
	case c >= 2000 && c < 3000:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

func newRefusalLimiter(log *slog.Logger) *lograte.Limiter {
	return lograte.New(refusalBurst, refusalInterval, func(key string, n int) {
		code, _ := strconv.Atoi(key)
		c := protocol.Code(code)
		if lograte.IsOverflow(key) {
			c = protocol.CodeInternal
		}
		log.Log(context.Background(), refusalLevel(c), "refusals suppressed", "code", code, "name", c.String(), "suppressed", n)
	})
}

// refuse queues an error reply on c and counts and logs the refusal. It is
// where every WebSocket error reply goes. Called with Server.mu held.
func (s *Server) refuse(c *conn, id uint64, typ string, err error) {
	pe := asProtoErr(err)
	c.queue(protocol.EncodeError(id, pe))
	s.metrics.refused(pe.Code, "ws")
	level := refusalLevel(pe.Code)
	if !s.log.Enabled(context.Background(), level) || !s.refusals.Allow(strconv.Itoa(int(pe.Code))) {
		return
	}
	attrs := []any{"code", int(pe.Code), "name", pe.Code.String(), "type", typ}
	if d := c.dev; d != nil {
		attrs = append(attrs, "user", d.user.id, "device", d.id)
	}
	attrs = append(attrs, "remote", c.remote, "error", pe.Message)
	s.log.Log(context.Background(), level, "refused", attrs...)
}

// RefusedHTTP counts a request refused at the HTTP level (the listener's
// connection caps, a disallowed WebSocket origin, the admin API) under its
// error code, in termcall_refusals_total{via="http"}. It does not log.
func (s *Server) RefusedHTTP(code protocol.Code) { s.metrics.refused(code, "http") }

// obsLogin logs a successful login.
func (s *Server) obsLogin(c *conn, d *device, resumed bool) {
	s.metrics.logins.WithLabelValues(strconv.FormatBool(resumed)).Inc()
	s.log.Info("login", "user", d.user.id, "device", d.id, "remote", c.remote, "resumed", resumed, "multiDevice", d.multi)
}

// obsLogout logs a device leaving: reason is logout (it asked), kicked
// (another login displaced it) or timeout (it did not come back within the
// grace period).
func (s *Server) obsLogout(d *device, reason string) {
	remote := ""
	if d.conn != nil {
		remote = d.conn.remote
	}
	s.log.Info("logout", "user", d.user.id, "device", d.id, "remote", remote, "reason", reason)
}

// obsCallStart logs and counts a call set up.
func (s *Server) obsCallStart(c *call) {
	s.metrics.callSetups.WithLabelValues(sceneLabel(c.scene), mediaLabel(c.mediaType)).Inc()
	attrs := []any{"callId", c.id, "scene", sceneLabel(c.scene), "mediaType", mediaLabel(c.mediaType),
		"caller", c.inviter, "invitees", c.invitees()}
	if c.groupID != "" {
		attrs = append(attrs, "groupId", c.groupID)
	}
	s.log.Info("call start", attrs...)
}

// obsCallEnd logs and counts a call's end. Called from endCall once the
// call is marked ended.
func (s *Server) obsCallEnd(c *call, reason protocol.EndReason, by string) {
	answered := !c.began.IsZero()
	s.metrics.callEnds.WithLabelValues(sceneLabel(c.scene), mediaLabel(c.mediaType), reason.String(), strconv.FormatBool(answered)).Inc()
	now := time.Now()
	var parts []string
	connected := 0
	for _, p := range c.order {
		parts = append(parts, p.user.id)
		if p.connected {
			connected++
		}
	}
	attrs := []any{"callId", c.id, "scene", sceneLabel(c.scene), "mediaType", mediaLabel(c.mediaType),
		"participants", parts, "connected", connected, "answered", answered, "reason", reason.String()}
	if by != "" {
		attrs = append(attrs, "by", by)
	}
	setup := now.Sub(c.created)
	duration := time.Duration(0)
	if answered {
		setup = c.began.Sub(c.created)
		duration = now.Sub(c.began)
	}
	attrs = append(attrs, "setup", setup.Round(time.Millisecond).Seconds(), "duration", duration.Round(time.Millisecond).Seconds())
	s.log.Info("call end", attrs...)
}

// obsRing measures the invite-to-ring latency of an invitee just rung (its
// onCallReceived queued on each of its connected devices): a mark queued
// behind the event on each connection reaches the write goroutine once the
// event was written to the socket, and that observes the time since the
// request being handled was read.
func (s *Server) obsRing(p *part) {
	if s.frameAt.IsZero() {
		return
	}
	for _, d := range p.user.devices {
		if d.conn != nil {
			d.conn.queueMark(s.frameAt)
		}
	}
}

// queueMark queues a mark: a frame that is not sent, whose time reaches
// onMark once every frame queued before it is written. When the queue is
// full it is dropped (the connection is not dropped for it). Called with
// Server.mu held.
func (c *conn) queueMark(at time.Time) {
	if c.closed || c.onMark == nil {
		return
	}
	c.push(frame{mark: at})
}
