package sfu

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pion/logging"

	"github.com/termcall/termcall/internal/lograte"
)

// pion's logs go to slog one level down (pion's Warn is our Info, its Info
// our Debug): pion is chatty about conditions a relay sees routinely. Two
// more rules keep the log of a server on the internet readable:
//
//   - Messages anyone can cause with one packet (a malformed STUN message, a
//     check with a wrong username or integrity, a packet from an unknown
//     address) and the messages every PeerConnection prints as it closes
//     (streams already closed, reads on a closed pipe) are demoted to Debug,
//     whatever pion's level.
//   - Every message is rate-limited per scope and message template (the
//     format string, before its arguments): pionBurst lines per
//     pionInterval, then one "suppressed similar messages" line with the
//     count when the interval ends.
const (
	pionBurst    = 5
	pionInterval = 30 * time.Second
)

// demoted lists the beginnings of pion message templates that go to Debug.
var demoted = []string{
	// per packet, triggered by anyone who can send UDP to the media port
	"Failed to handle decode ICE from",
	"No Username attribute in STUN message",
	"Discard",
	"Buffer too small for first packet",
	"Error reading first packet",
	"Incoming unhandled RTP",
	"Failed to find pair for add binding",
	"Warning: mux: no endpoint for packet", // also RTCP arriving as a PeerConnection closes
	"Warning: mux: unable to dispatch zero length packet",
	// every PeerConnection's end
	"Could not determine PayloadType for SSRC",
	"Failed to accept RTP",
	"Failed to accept RTCP",
	"Failed to read from candidate",
	"Failed to close",
	"Failed to discover mDNS candidate",
	"Failed to ping without candidate pairs",
	"Failed to write packet", // per packet; "closed pipe" as a PeerConnection closes mid-write
}

func isDemoted(template string) bool {
	for _, p := range demoted {
		if strings.HasPrefix(template, p) {
			return true
		}
	}
	return false
}

// pionLoggerFactory makes pion's loggers. All of them share one rate
// limiter; stop reports what it still holds back.
type pionLoggerFactory struct {
	log     *slog.Logger
	limiter *lograte.Limiter
}

func newPionLoggerFactory(log *slog.Logger) pionLoggerFactory {
	f := pionLoggerFactory{log: log}
	f.limiter = lograte.New(pionBurst, pionInterval, func(key string, n int) {
		scope, template, level := splitKey(key)
		if lograte.IsOverflow(key) {
			scope, template, level = "", "(various)", slog.LevelInfo
		}
		log.Log(context.Background(), level, "suppressed similar messages", "pion", scope, "template", template, "suppressed", n)
	})
	return f
}

func (f pionLoggerFactory) stop() { f.limiter.Stop() }

func (f pionLoggerFactory) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{log: f.log.With("pion", scope), scope: scope, limiter: f.limiter}
}

type pionLogger struct {
	log     *slog.Logger
	scope   string
	limiter *lograte.Limiter
}

const levelTrace = slog.LevelDebug - 4

// key joins what identifies a kind of message (and the level of its
// summary line).
func key(scope, template string, level slog.Level) string {
	return fmt.Sprintf("%d\x00%s\x00%s", level, scope, template)
}

func splitKey(k string) (scope, template string, level slog.Level) {
	parts := strings.SplitN(k, "\x00", 3)
	if len(parts) != 3 {
		return "", k, slog.LevelInfo
	}
	var l int
	_, _ = fmt.Sscan(parts[0], &l)
	return parts[1], parts[2], slog.Level(l)
}

// admit applies the demotion and the rate limit; it reports the level to
// log at, or false to drop the line.
func (l pionLogger) admit(level slog.Level, template string) (slog.Level, bool) {
	if level > slog.LevelDebug && isDemoted(template) {
		level = slog.LevelDebug
	}
	if !l.log.Enabled(context.Background(), level) {
		return level, false
	}
	return level, l.limiter.Allow(key(l.scope, template, level))
}

func (l pionLogger) emit(level slog.Level, msg string) {
	if level, ok := l.admit(level, msg); ok {
		l.log.Log(context.Background(), level, msg)
	}
}

func (l pionLogger) emitf(level slog.Level, format string, args ...any) {
	if level, ok := l.admit(level, format); ok {
		l.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
	}
}

func (l pionLogger) Trace(msg string)                  { l.emit(levelTrace, msg) }
func (l pionLogger) Tracef(format string, args ...any) { l.emitf(levelTrace, format, args...) }
func (l pionLogger) Debug(msg string)                  { l.emit(levelTrace, msg) }
func (l pionLogger) Debugf(format string, args ...any) { l.emitf(levelTrace, format, args...) }
func (l pionLogger) Info(msg string)                   { l.emit(slog.LevelDebug, msg) }
func (l pionLogger) Infof(format string, args ...any)  { l.emitf(slog.LevelDebug, format, args...) }
func (l pionLogger) Warn(msg string)                   { l.emit(slog.LevelInfo, msg) }
func (l pionLogger) Warnf(format string, args ...any)  { l.emitf(slog.LevelInfo, format, args...) }
func (l pionLogger) Error(msg string)                  { l.emit(slog.LevelWarn, msg) }
func (l pionLogger) Errorf(format string, args ...any) { l.emitf(slog.LevelWarn, format, args...) }
