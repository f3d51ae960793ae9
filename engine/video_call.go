package engine

import (
	"errors"
	"io"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/termcall/termcall/protocol"
)

// keyframeRequestInterval: at most one PLI per remote video track this often
// (a view's start is not limited).
const keyframeRequestInterval = 300 * time.Millisecond

// videoCall is one call's video: its uplink track and the remote tracks.
// It lives in mediaCall.video.
type videoCall struct {
	c *mediaCall

	// Owned by the call's run goroutine.
	sender  *webrtc.RTPSender
	sending bool // videoSendLoop started

	// Guarded by c.mu.
	pc      *webrtc.PeerConnection
	track   *webrtc.TrackLocalStaticSample
	remotes map[string]*remoteVideo // by user ID
}

type remoteVideo struct {
	ssrc    uint32
	lastPLI time.Time
}

// attach adds this device's video track to the PeerConnection if the
// server's offer has a video section it may send on; applyOffer calls it
// after setting the remote description.
func (v *videoCall) attach(pc *webrtc.PeerConnection) error {
	c := v.c
	c.mu.Lock()
	v.pc = pc
	c.mu.Unlock()
	if v.sender != nil || !videoSendSlot(pc) {
		return nil
	}
	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", c.me)
	if err != nil {
		return err
	}
	sender, err := pc.AddTrack(track)
	if err != nil {
		return err
	}
	v.sender = sender
	c.mu.Lock()
	v.track = track
	c.mu.Unlock()
	c.spawn(func() { v.readSenderRTCP(sender) })
	return nil
}

// negotiated starts the send loop once the answer is made.
func (v *videoCall) negotiated() {
	if v.sender != nil && !v.sending {
		v.sending = true
		v.c.spawn(v.sendLoop)
	}
}

// videoSendSlot says whether the remote description has a video section
// this device may send on (the server's recvonly video transceiver).
func videoSendSlot(pc *webrtc.PeerConnection) bool {
	for _, t := range pc.GetTransceivers() {
		if t.Kind() == webrtc.RTPCodecTypeVideo && t.Sender() == nil &&
			(t.Direction() == webrtc.RTPTransceiverDirectionSendonly || t.Direction() == webrtc.RTPTransceiverDirectionSendrecv) {
			return true
		}
	}
	return false
}

// sendLoop sends the video source's frames while the call is connected and
// the camera open.
func (v *videoCall) sendLoop() {
	c := v.c
	poll := time.NewTicker(250 * time.Millisecond)
	defer poll.Stop()
	s := &videoSender{v: v, paused: true}
	for {
		changed := c.m.changes()
		vio := s.source()
		if vio == nil {
			s.paused = true
			select {
			case <-c.ctx.Done():
				return
			case <-changed:
			case <-poll.C:
			}
			continue
		}
		if !s.sendFrame(vio) {
			return
		}
	}
}

// videoSender is sendLoop's state.
type videoSender struct {
	v       *videoCall
	last    time.Time // when the last frame was sent
	paused  bool      // the next frame follows a pause: make it a keyframe
	ended   *videoIO  // a source that reached its end
	failing bool      // the source's last read failed
}

// source is the video source to send from now, nil while there is none
// (none set, ended, the camera off) or the call's media is not connected.
func (s *videoSender) source() *videoIO {
	c := s.v.c
	vm := &c.m.video
	vio := vm.io.Load()
	_, connected := c.e.mediaCallState(c.id)
	if vio == nil || vio.src == nil || vio == s.ended || !vm.cameraOn.Load() || !connected {
		return nil
	}
	return vio
}

// sendFrame reads one frame from vio's source and sends it; false ends
// the loop.
func (s *videoSender) sendFrame(vio *videoIO) bool {
	c := s.v.c
	vm := &c.m.video
	if s.paused {
		if kr, ok := vio.src.(KeyframeRequester); ok {
			kr.ForceKeyframe()
		}
		s.paused = false
	}
	s.v.applyUplinkEstimate(vio.src) // bwe.go
	frame, _, err := vio.src.ReadVP8Frame(c.ctx)
	if err != nil {
		return s.readFailed(vio, err)
	}
	s.failing = false
	if len(frame) == 0 {
		return true
	}
	if _, connected := c.e.mediaCallState(c.id); !connected || !vm.cameraOn.Load() {
		s.paused = true
		return true
	}
	s.write(frame)
	return true
}

// readFailed deals with a failed read of vio's source: the call ending
// stops the loop, the source's end is remembered, a device error is
// reported (sourceError); false ends the loop.
func (s *videoSender) readFailed(vio *videoIO, err error) bool {
	c := s.v.c
	if c.ctx.Err() != nil {
		return false
	}
	if errors.Is(err, io.EOF) {
		s.ended = vio
		return true
	}
	return c.sourceError("video", protocol.CodeVideoDevice, err, &s.failing)
}

// write sends frame on the track; its duration is the time since the one
// before (1 ms to 1 s; 1/15 s for the first).
func (s *videoSender) write(frame []byte) {
	c := s.v.c
	now := time.Now()
	d := time.Second / 15
	if !s.last.IsZero() {
		d = min(max(now.Sub(s.last), time.Millisecond), time.Second)
	}
	s.last = now
	c.mu.Lock()
	track := s.v.track
	c.mu.Unlock()
	if err := track.WriteSample(media.Sample{Data: frame, Duration: d}); err != nil {
		c.e.log.Debug("sending video", "err", err)
	}
}

// readSenderRTCP reads the RTCP about this device's video: PLI and FIR ask
// the source for a keyframe, the bandwidth estimate (bwe.go) or a REMB sets its bitrate.
func (v *videoCall) readSenderRTCP(sender *webrtc.RTPSender) {
	vm := &v.c.m.video
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if kr, ok := vm.source().(KeyframeRequester); ok {
					kr.ForceKeyframe()
				}
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				if bs, ok := vm.source().(BitrateSetter); ok && p.Bitrate > 0 {
					bs.SetBitrate(max(int(p.Bitrate/1000), 50))
				}
			}
		}
	}
}

// readTrack reads another user's video track until it ends, handing its
// packets to the view's sink while the user is viewed.
func (v *videoCall) readTrack(track *webrtc.TrackRemote) {
	c := v.c
	user := track.StreamID()
	rv := &remoteVideo{ssrc: uint32(track.SSRC())}
	c.mu.Lock()
	if v.remotes == nil {
		v.remotes = make(map[string]*remoteVideo)
	}
	v.remotes[user] = rv
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		mine := v.remotes[user] == rv
		if mine {
			delete(v.remotes, user)
		}
		c.mu.Unlock()
		if mine {
			c.m.video.ended(user)
		}
	}()
	if c.e.IsRemoteViewing(user) {
		v.sendPLI(user, true)
	}
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		c.m.video.deliver(user, pkt)
	}
}

// sendPLI asks the server for a keyframe of user's track in this call;
// rate-limited unless force.
func (v *videoCall) sendPLI(user string, force bool) {
	c := v.c
	now := time.Now()
	c.mu.Lock()
	rv, pc := v.remotes[user], v.pc
	if rv == nil || pc == nil || (!force && now.Sub(rv.lastPLI) < keyframeRequestInterval) {
		c.mu.Unlock()
		return
	}
	rv.lastPLI = now
	ssrc := rv.ssrc
	c.mu.Unlock()
	if err := pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		c.e.log.Debug("sending PLI", "user", user, "err", err)
	}
}
