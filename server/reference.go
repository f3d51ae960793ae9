package server

import "github.com/termcall/termcall/protocol"

// inviteTimeout checks a call's or an invitation's timeout against the
// reference's range, 10..600 s (0 means 30), or from Config.MinInviteTimeout
// when that is set.
func (s *Server) inviteTimeout(t int) (int, error) {
	return protocol.TimeoutSecondsIn(t, s.cfg.MinInviteTimeout)
}

// tellMissed tells a callee who is busy that c's caller called: an
// onCallMissed event (reason lineBusy) to each of the callee's devices, so
// that a UI shows "missed call from X (you were in a call)" at once.
func (s *Server) tellMissed(c *call, p *part) {
	ev := c.base(protocol.EventCallMissed)
	ev.CallerID = c.inviter
	ev.Reason = protocol.ReasonLineBusy
	if inv := s.users[c.inviter]; inv != nil {
		ev.Caller = inv.info()
	}
	s.toPart(p, ev)
}
