package server

import "github.com/termcall/termcall/protocol"

// inviteTimeout checks a call's or an invitation's timeout against the
// reference's range, 10..600 s (0 means 30), or from Config.MinInviteTimeout
// when that is set.
func (s *Server) inviteTimeout(t int) (int, error) {
	return protocol.TimeoutSecondsIn(t, s.cfg.MinInviteTimeout)
}
