package server

import (
	"encoding/json"
	"math"
	"slices"
	"time"

	"golang.org/x/time/rate"

	"github.com/termcall/termcall/protocol"
)

// Per-user and per-call limits (docs/operations.md, "Limits"). Each is set
// in Config; 0 there means the default below and a negative value means no
// limit. All state sits behind Server.mu.
//
//   - MaxDevicesPerUser: logged-in devices of one user (multi-device mode).
//     A resume of a known device is not a new device, and a login that
//     kicks the others (multi-device off on either side) never hits it.
//     Refused with CodeTooManyDevices.
//   - CallRate / CallBurst: a token bucket per user for the requests that
//     ring someone: call, groupCall and inviteUser, one token per request
//     whatever it invites and whether or not it then succeeds. Refused with
//     CodeRateLimited before the request is looked at, so a flood costs one
//     bucket check per frame.
//   - MaxPendingInvitations: unanswered invitations per callee. A ringing
//     callee is busy, so at most one invitation rings at a time; what an
//     invite flood at one victim costs is the invitations that come and go
//     unanswered: each rings (or is refused as line busy) and leaves records.
//     So an invitation stays pending for the callee until the callee answers,
//     rejects or ignores it, or else until its ring timeout (at least the
//     default 30 s) has passed since it was made, even if the caller
//     cancelled it or the callee was busy. A request that would invite a
//     callee with MaxPendingInvitations pending is refused as a whole with
//     CodeTooManyInvitations, before any call, ring or record is made.
//   - MaxInvitationBytes: userData plus the JSON of offlinePushInfo of one
//     call or inviteUser request. Refused with CodeInvitationTooLarge.
const (
	DefaultMaxDevicesPerUser     = 10
	DefaultCallRate              = 10.0 // requests per second
	DefaultCallBurst             = 20
	DefaultMaxPendingInvitations = 20
	DefaultMaxInvitationBytes    = 8 << 10
)

// limits are the effective limits; 0 (or a nil rate) means none.
type limits struct {
	devices  int
	rate     rate.Limit
	burst    int
	pending  int
	invBytes int
}

func limitOf(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

func newLimits(cfg Config) limits {
	l := limits{
		devices:  limitOf(cfg.MaxDevicesPerUser, DefaultMaxDevicesPerUser),
		burst:    limitOf(cfg.CallBurst, DefaultCallBurst),
		pending:  limitOf(cfg.MaxPendingInvitations, DefaultMaxPendingInvitations),
		invBytes: limitOf(cfg.MaxInvitationBytes, DefaultMaxInvitationBytes),
	}
	switch {
	case cfg.CallRate == 0:
		l.rate = DefaultCallRate
	case cfg.CallRate > 0 && !math.IsInf(cfg.CallRate, 1):
		l.rate = rate.Limit(cfg.CallRate)
	}
	if l.burst == 0 {
		l.burst = 1
	}
	return l
}

// pendingInvite is an invitation a callee has not answered.
type pendingInvite struct {
	callID string
	until  time.Time
}

// refused is called for every request a limit refuses; the limit is the
// config key's name without "serve.".
func (s *Server) refused(limit, userID string, err *protocol.Error) *protocol.Error {
	s.log.Debug("request refused by a limit", "limit", limit, "user", userID, "code", int(err.Code))
	return err
}

// checkDevices refuses a new device of u beyond the device limit. multi is
// the new device's multi-device mode; without it the others are kicked.
func (s *Server) checkDevices(u *user, multi bool) error {
	if s.lim.devices == 0 || !multi {
		return nil
	}
	stay := 0
	for _, d := range u.devices {
		if d.multi {
			stay++
		}
	}
	if stay >= s.lim.devices {
		return s.refused("max_devices_per_user", u.id, protocol.Errorf(protocol.CodeTooManyDevices,
			"user %q has %d devices logged in; at most %d", u.id, stay, s.lim.devices))
	}
	return nil
}

// allowCall takes a token from the user's call bucket.
func (s *Server) allowCall(u *user) error {
	if s.lim.rate == 0 {
		return nil
	}
	if u.bucket == nil {
		u.bucket = rate.NewLimiter(s.lim.rate, s.lim.burst)
	}
	if !u.bucket.Allow() {
		return s.refused("call_rate", u.id, protocol.Errorf(protocol.CodeRateLimited,
			"more than %g call attempts per second (burst %d); wait a moment", float64(s.lim.rate), s.lim.burst))
	}
	return nil
}

// checkInvitationSize bounds userData plus offlinePushInfo.
func (s *Server) checkInvitationSize(u *user, p *protocol.CallParams) error {
	if s.lim.invBytes == 0 {
		return nil
	}
	n := len(p.UserData)
	if p.OfflinePushInfo != nil {
		b, _ := json.Marshal(p.OfflinePushInfo)
		n += len(b)
	}
	if n > s.lim.invBytes {
		return s.refused("max_invitation_bytes", u.id, protocol.Errorf(protocol.CodeInvitationTooLarge,
			"userData and offlinePushInfo take %d bytes; at most %d", n, s.lim.invBytes))
	}
	return nil
}

// checkPending refuses to invite a callee who has the limit of unanswered
// invitations already.
func (s *Server) checkPending(caller *user, invitees []*user, now time.Time) error {
	if s.lim.pending == 0 {
		return nil
	}
	for _, v := range invitees {
		v.prunePending(now)
		if len(v.pending) >= s.lim.pending {
			return s.refused("max_pending_invitations", caller.id, protocol.Errorf(protocol.CodeTooManyInvitations,
				"%q has %d unanswered invitations; try again later", v.id, len(v.pending)))
		}
	}
	return nil
}

// addPending counts an invitation of v to call c, ringing for timeout.
func (s *Server) addPending(v *user, c *call, timeout time.Duration, now time.Time) {
	if s.lim.pending == 0 {
		return
	}
	timeout = max(timeout, protocol.DefaultTimeoutSeconds*time.Second)
	v.pending = append(v.pending, pendingInvite{callID: c.id, until: now.Add(timeout)})
}

// answered stops counting the callee's invitation to c: the callee dealt
// with it.
func (u *user) answered(c *call) {
	u.pending = slices.DeleteFunc(u.pending, func(p pendingInvite) bool { return p.callID == c.id })
	if len(u.pending) == 0 {
		u.pending = nil
	}
}

func (u *user) prunePending(now time.Time) {
	u.pending = slices.DeleteFunc(u.pending, func(p pendingInvite) bool { return !now.Before(p.until) })
	if len(u.pending) == 0 {
		u.pending = nil
	}
}
