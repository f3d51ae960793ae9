package server

import (
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server/cluster"
	"github.com/termcall/termcall/server/sfu"
)

// The call state machine drives the SFU: a device gets a PeerConnection
// when it joins a call's media (the caller's device when the call is
// placed, every ringing device of an invitee, a joiner), so media is ready
// the moment someone answers; the SFU forwards only between connected
// participants (SetConnected), and a device's PeerConnection goes when it
// stops taking part. All of these run under Server.mu; the SFU never calls
// back into the server synchronously.

// mediaAdd gives a device a PeerConnection for the call.
func (s *Server) mediaAdd(c *call, u *user, d *device) {
	if s.sfu == nil || d.gone {
		return
	}
	if err := s.sfu.AddPeer(c.id, u.id, d.id, s.mediaSender(d)); err != nil {
		s.log.Warn("media: add peer", "call", c.id, "user", u.id, "device", d.id, "err", err)
	}
}

// mediaSender returns the SFU's way to reach a device: a "media" frame on
// its current connection. Signals for a device that is away are dropped;
// the device gets a fresh offer when it takes part again.
func (s *Server) mediaSender(d *device) sfu.SendFunc {
	if d.node != "" { // a device on another node: through it
		return func(sig protocol.MediaSignal) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if !d.gone {
				s.route.deliver(d.node, cluster.Delivery{User: d.user.id, Devices: []string{d.id}, Kind: cluster.DeliverMedia, Media: &sig})
			}
		}
	}
	return func(sig protocol.MediaSignal) {
		b, err := protocol.Encode(protocol.TypeMedia, 0, sig)
		if err != nil {
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if !d.gone && d.conn != nil {
			d.conn.queue(b)
		}
	}
}

// mediaRemoveUser drops the PeerConnections of every device of u in c,
// except keep.
func (s *Server) mediaRemoveUser(c *call, u *user, keep *device) {
	if s.sfu == nil {
		return
	}
	for _, d := range u.devices {
		if d != keep {
			s.sfu.RemovePeer(c.id, d.id)
		}
	}
	for _, d := range u.remote {
		if d != keep {
			s.sfu.RemovePeer(c.id, d.id)
		}
	}
}

func (s *Server) mediaConnected(c *call, p *part) {
	if s.sfu != nil && p.dev != nil {
		s.sfu.SetConnected(c.id, p.dev.id, true)
	}
}

func (s *Server) mediaEnd(c *call) {
	if s.sfu != nil {
		s.sfu.EndCall(c.id)
	}
}

// mediaPeerFailed is the SFU's report that a device's media transport
// failed. The participant stays in the call (its signaling is up); the
// others learn that its audio and video are gone.
func (s *Server) mediaPeerFailed(callID, deviceID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls[callID]
	if c == nil {
		return
	}
	for _, p := range c.order {
		if p.dev != nil && p.dev.id == deviceID && p.state == partConnected {
			s.log.Info("media transport failed", "call", callID, "user", p.user.id)
			s.emit(p.dev, protocol.Event{Event: protocol.EventError, CallID: callID,
				Code: protocol.CodeMediaTransport, Message: "your media connection to the server failed"})
			off := false
			s.setAvailability(c, p, &off, &off)
		}
	}
}

// handleMedia takes a device's media signal: an answer or candidate for the
// SFU, or its microphone/camera state for the others.
func (s *Server) handleMedia(d *device, m *protocol.Message) error {
	var sig protocol.MediaSignal
	if err := protocol.DecodeData(m.Data, &sig); err != nil {
		return err
	}
	c, p, err := s.findPart(d, sig.CallID)
	if err != nil {
		return err
	}
	if !p.active() {
		return protocol.Errorf(protocol.CodeWrongCallState, "you are no longer in call %q", sig.CallID)
	}
	switch sig.Kind {
	case protocol.MediaAnswer, protocol.MediaCandidate:
		if s.sfu == nil {
			return protocol.Errorf(protocol.CodeInternal, "this server relays no media")
		}
		if err := s.sfu.HandleSignal(c.id, d.id, sig); err != nil {
			return err
		}
	case protocol.MediaState:
		s.setAvailability(c, p, sig.Audio, sig.Video)
	default:
		return protocol.Errorf(protocol.CodeInvalidArgument, "media signal kind %.20q; want answer, candidate or state", sig.Kind)
	}
	reply(d.conn, m.ID, nil)
	return nil
}

// setAvailability records a participant's microphone/camera state and tells
// the others in the call when it changed.
func (s *Server) setAvailability(c *call, p *part, audio, video *bool) {
	if audio != nil && (p.audio == nil || *p.audio != *audio) {
		v := *audio
		p.audio = &v
		if p.state == partConnected {
			s.announce(c, p, protocol.EventUserAudioAvailable, &v)
		}
	}
	if video != nil && (p.video == nil || *p.video != *video) {
		v := *video
		p.video = &v
		if p.state == partConnected {
			s.announce(c, p, protocol.EventUserVideoAvailable, &v)
		}
	}
}

// announce tells the connected others about p's availability.
func (s *Server) announce(c *call, p *part, name string, v *bool) {
	ev := c.base(name)
	ev.UserID, ev.Available = p.user.id, v
	for _, q := range c.order {
		if q != p && q.state == partConnected {
			s.toPart(q, ev)
		}
	}
}

// exchangeAvailability, when p connects, tells the others p's known state
// and tells p theirs.
func (s *Server) exchangeAvailability(c *call, p *part) {
	for _, q := range c.order {
		if q == p || q.state != partConnected {
			continue
		}
		for _, a := range []struct {
			name     string
			from, to *part
			v        *bool
		}{
			{protocol.EventUserAudioAvailable, p, q, p.audio},
			{protocol.EventUserVideoAvailable, p, q, p.video},
			{protocol.EventUserAudioAvailable, q, p, q.audio},
			{protocol.EventUserVideoAvailable, q, p, q.video},
		} {
			if a.v == nil {
				continue
			}
			ev := c.base(a.name)
			v := *a.v
			ev.UserID, ev.Available = a.from.user.id, &v
			s.toPart(a.to, ev)
		}
	}
}
