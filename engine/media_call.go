package engine

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/protocol"
)

// mediaOrphanTimeout: media of a call that has not been the engine's
// current call for this long is closed (for the rare ends no event
// reports, such as a call the server forgot during a reconnect).
const mediaOrphanTimeout = 5 * time.Second

// mediaCall is one call's media: its PeerConnection and goroutines.
type mediaCall struct {
	e      *Engine
	m      *mediaMgr
	id     string
	me     string // this user's ID: the stream ID of the local track
	ctx    context.Context
	cancel context.CancelFunc

	qmu   sync.Mutex
	queue []protocol.MediaSignal
	wake  chan struct{} // one pending wake-up for run

	// Owned by run's goroutine.
	pc      *webrtc.PeerConnection
	sender  *webrtc.RTPSender
	sending bool      // sendLoop started
	video   videoCall // video_call.go

	stateMu       sync.Mutex
	reported      *bool // the audio availability last told to the server
	reportedVideo *bool // the video availability last told to the server

	mu         sync.Mutex
	closed     bool           // no more goroutines may start
	wg         sync.WaitGroup // the goroutines started with enter/spawn
	negotiated bool           // an answer was sent
	track      *webrtc.TrackLocalStaticRTP
	levelID    uint8  // outbound audio-level extension ID; 0 = not negotiated
	ssrc       uint32 // outbound audio SSRC
	localLevel int    // the loudest level sent since the last volume report
	uplink     uplinkStats
	ice        webrtc.ICEConnectionState
	remotes    map[string]*inboundStats // by user ID

	transportUp atomic.Bool // ICE and DTLS came up (at least once)
}

func newMediaCall(e *Engine, callID, me string) *mediaCall {
	ctx, cancel := context.WithCancel(context.Background())
	c := &mediaCall{
		e: e, m: &e.media, id: callID, me: me, ctx: ctx, cancel: cancel,
		wake: make(chan struct{}, 1), remotes: make(map[string]*inboundStats),
	}
	c.video.c = c
	return c
}

func (c *mediaCall) enqueue(sig protocol.MediaSignal) {
	c.qmu.Lock()
	c.queue = append(c.queue, sig)
	c.qmu.Unlock()
	c.poke()
}

func (c *mediaCall) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *mediaCall) drain() []protocol.MediaSignal {
	c.qmu.Lock()
	defer c.qmu.Unlock()
	q := c.queue
	c.queue = nil
	return q
}

// enter registers a goroutine of this call; false once it is closing.
func (c *mediaCall) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

func (c *mediaCall) spawn(f func()) {
	if !c.enter() {
		return
	}
	go func() {
		defer c.wg.Done()
		f()
	}()
}

// run applies the call's media signals in order until the media closes.
func (c *mediaCall) run() {
	defer c.m.wg.Done()
	defer c.teardown()
	c.spawn(c.statsLoop)
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.wake:
		}
		for _, sig := range c.drain() {
			if c.ctx.Err() != nil {
				return
			}
			var err error
			switch sig.Kind {
			case protocol.MediaOffer:
				err = c.applyOffer(sig.SDP)
			case protocol.MediaCandidate:
				err = c.addCandidate(sig.Candidate)
			}
			if err != nil && c.ctx.Err() == nil && !callGone(err) {
				c.e.log.Warn("media negotiation failed", "call", c.id, "kind", sig.Kind, "err", err)
				c.e.disp.push(ErrorEvent{Code: protocol.CodeInternal, Message: "media: " + err.Error()})
			}
		}
		if err := c.reportState(c.ctx); err != nil && c.ctx.Err() == nil {
			c.e.log.Warn("cannot report the media state", "call", c.id, "err", err)
		}
	}
}

// teardown closes the PeerConnection and waits for the call's goroutines.
func (c *mediaCall) teardown() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	if c.pc != nil {
		if err := c.pc.GracefulClose(); err != nil {
			c.e.log.Debug("closing the peer connection", "call", c.id, "err", err)
		}
	}
	c.wg.Wait()
	c.m.detach(c)
}

// applyOffer answers an offer of the server: the first makes the
// PeerConnection, later ones renegotiate it.
func (c *mediaCall) applyOffer(sdp string) error {
	if c.pc == nil {
		if err := c.newPeerConnection(); err != nil {
			return err
		}
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return err
	}
	if c.sender == nil && c.audioSendSlot() {
		if err := c.addAudioSender(); err != nil {
			return err
		}
	}
	if err := c.video.attach(c.pc); err != nil {
		return err
	}
	if err := c.answerAndGather(); err != nil {
		return err
	}
	if c.sender != nil {
		c.startSending()
	}
	c.video.negotiated()
	err := c.e.request(c.ctx, protocol.TypeMedia, protocol.MediaSignal{
		Kind: protocol.MediaAnswer, CallID: c.id, SDP: c.pc.LocalDescription().SDP,
	}, nil, nil)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.negotiated = true
	c.mu.Unlock()
	return nil
}

// newPeerConnection makes the call's PeerConnection and its handlers.
func (c *mediaCall) newPeerConnection() error {
	api, err := c.m.webrtcAPI()
	if err != nil {
		return err
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	c.pc = pc
	pc.OnTrack(c.onTrack)
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		c.e.log.Debug("media ICE", "call", c.id, "state", s.String())
		c.mu.Lock()
		c.ice = s
		c.mu.Unlock()
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		c.e.log.Debug("media transport", "call", c.id, "state", s.String())
		if s == webrtc.PeerConnectionStateConnected && !c.transportUp.Swap(true) {
			c.m.notify() // the sender waits for this (see sendLoop)
		}
	})
	return nil
}

// addAudioSender adds the device's audio track and reads its RTCP.
func (c *mediaCall) addAudioSender() error {
	track, err := webrtc.NewTrackLocalStaticRTP(opusCapability, "audio", c.me)
	if err != nil {
		return err
	}
	sender, err := c.pc.AddTrack(track)
	if err != nil {
		return err
	}
	c.sender = sender
	c.mu.Lock()
	c.track = track
	c.mu.Unlock()
	c.spawn(func() { c.readUplinkRTCP(sender) })
	return nil
}

// answerAndGather creates and sets the local answer and waits for ICE
// gathering to complete.
func (c *mediaCall) answerAndGather() error {
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(answer); err != nil {
		return err
	}
	select {
	case <-gathered:
		return nil
	case <-c.ctx.Done():
		return c.ctx.Err()
	}
}

// startSending takes the negotiated audio level extension and SSRC of
// the sender, and starts sendLoop once.
func (c *mediaCall) startSending() {
	p := c.sender.GetParameters()
	c.mu.Lock()
	c.levelID = headerExtensionID(p.HeaderExtensions, audioLevelURI)
	if len(p.Encodings) > 0 {
		c.ssrc = uint32(p.Encodings[0].SSRC)
	}
	c.mu.Unlock()
	if !c.sending {
		c.sending = true
		c.spawn(c.sendLoop)
	}
}

// audioSendSlot says whether the remote description has an audio section
// this device may send on (the server's recvonly audio transceiver).
func (c *mediaCall) audioSendSlot() bool {
	for _, t := range c.pc.GetTransceivers() {
		if t.Kind() == webrtc.RTPCodecTypeAudio && t.Sender() == nil &&
			(t.Direction() == webrtc.RTPTransceiverDirectionSendonly || t.Direction() == webrtc.RTPTransceiverDirectionSendrecv) {
			return true
		}
	}
	return false
}

func (c *mediaCall) addCandidate(js string) error {
	if c.pc == nil || js == "" {
		return nil
	}
	var cand webrtc.ICECandidateInit
	if err := unmarshalJSON([]byte(js), &cand); err != nil {
		return err
	}
	return c.pc.AddICECandidate(cand)
}

// reportState tells the server whether this device sends audio, when that
// changed since the last report and media is negotiated.
func (c *mediaCall) reportState(ctx context.Context) error {
	c.stateMu.Lock()
	defer c.stateMu.Unlock()
	c.mu.Lock()
	negotiated := c.negotiated
	c.mu.Unlock()
	if !negotiated {
		return nil
	}
	want := c.m.audioAvailable()
	video := c.m.video.stateToReport(c.reportedVideo) // video.go
	if c.reported != nil && *c.reported == want && video == c.reportedVideo {
		return nil
	}
	err := c.e.request(ctx, protocol.TypeMedia, protocol.MediaSignal{Kind: protocol.MediaState, CallID: c.id, Audio: &want, Video: video}, nil, nil)
	if err != nil {
		return err
	}
	c.reported, c.reportedVideo = &want, video
	return nil
}

// callState says whether callID is the engine's current call, and whether
// that call is connected.
func (e *Engine) mediaCallState(callID string) (current, connected bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur == nil || e.cur.CallID != callID {
		return false, false
	}
	return true, e.cur.Status == StatusAccept
}

// sendState is sendLoop's RTP and source state.
type sendState struct {
	seq     uint16
	ts      uint32
	last    time.Time
	started bool
	gap     bool // the next packet starts a talkspurt
	ended   *audioIO
	failing bool // the source is failing; reported once
}

// sendLoop sends the audio source's frames while the call is connected
// and the microphone open. It starts reading the source only once the
// PeerConnection's transport is up: until DTLS is done, pion drops what
// is written, so a frame read earlier would be lost and the first one to
// arrive would be the next, up to 20 ms later (an instant answer accepts
// while ICE and DTLS are still in progress).
func (c *mediaCall) sendLoop() {
	poll := time.NewTicker(250 * time.Millisecond) // in case a change went unnoticed
	defer poll.Stop()
	defer c.m.gate.Stop() // recvgate.go: reads no longer wait for this clock
	st := sendState{seq: uint16(rand.Uint32()), ts: rand.Uint32(), gap: true}
	for {
		changed := c.m.changes()
		a := c.m.audio.Load()
		if !c.canSend(a, st.ended) {
			st.gap = true
			c.m.gate.Stop()
			select {
			case <-c.ctx.Done():
				return
			case <-changed:
			case <-poll.C:
			}
			continue
		}
		if !c.sendFrame(a, &st) {
			return
		}
	}
}

// canSend says whether a frame of a's source is to be sent now: a has a
// source that has not ended, the microphone is open, the call connected
// and the transport up.
func (c *mediaCall) canSend(a, ended *audioIO) bool {
	_, connected := c.e.mediaCallState(c.id)
	return a != nil && a.src != nil && a != ended && !c.m.micOff.Load() && connected && c.transportUp.Load()
}

// sendFrame reads one frame of a's source and sends it. It returns false
// when the loop is to end.
func (c *mediaCall) sendFrame(a *audioIO, st *sendState) bool {
	c.m.srcMu.Lock()
	frame, level, err := a.src.ReadOpusFrame(c.ctx)
	if err != nil {
		c.m.srcMu.Unlock()
		return c.readFailed(a, err, st)
	}
	st.failing = false
	if _, connected := c.e.mediaCallState(c.id); !connected || c.m.micOff.Load() || c.ctx.Err() != nil {
		c.m.srcMu.Unlock()
		return true
	}
	now := time.Now()
	c.writeAudio(st.packet(now, frame), level)
	c.m.srcMu.Unlock()
	c.m.gate.Tick() // recvgate.go: read what arrived since the last frame
	st.sent(now)
	return true
}

// readFailed handles an error reading the source: the end of a file
// source stops sending from it, another error is reported once. It
// returns false when the loop is to end.
func (c *mediaCall) readFailed(a *audioIO, err error, st *sendState) bool {
	if c.ctx.Err() != nil {
		return false
	}
	if errors.Is(err, io.EOF) {
		st.ended = a
		return true
	}
	c.m.gate.Stop()
	return c.sourceError("audio", protocol.CodeAudioDevice, err, &st.failing)
}

// packet makes the RTP packet of frame, read at now. After a gap the
// timestamp advances by the frames the gap lasted.
func (st *sendState) packet(now time.Time, frame []byte) *rtp.Packet {
	if st.started {
		if st.gap {
			frames := (now.Sub(st.last) + 10*time.Millisecond) / (20 * time.Millisecond)
			st.ts += uint32(max(frames, 1)) * opusFrameTicks
		} else {
			st.ts += opusFrameTicks
		}
	}
	return &rtp.Packet{
		Header:  rtp.Header{Version: 2, Marker: st.gap, SequenceNumber: st.seq, Timestamp: st.ts},
		Payload: frame,
	}
}

// sent advances the state past a packet sent at now.
func (st *sendState) sent(now time.Time) {
	st.seq++
	st.last, st.started, st.gap = now, true, false
}

// writeAudio sends pkt on the audio track, with the audio level
// extension when negotiated, and keeps the loudest level for reports.
func (c *mediaCall) writeAudio(pkt *rtp.Packet, level int) {
	c.mu.Lock()
	track, extID := c.track, c.levelID
	c.localLevel = max(c.localLevel, level)
	c.mu.Unlock()
	if extID != 0 {
		ext, _ := rtp.AudioLevelExtension{Level: levelToDBov(level), Voice: level > 0}.Marshal()
		_ = pkt.Header.SetExtension(extID, ext)
	}
	if err := track.WriteRTP(pkt); err != nil { // copies frame out
		c.e.log.Debug("sending audio", "err", err)
	}
}

// readUplinkRTCP reads the RTCP about this device's audio (the
// interceptors need it read) and keeps the last receiver report.
func (c *mediaCall) readUplinkRTCP(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		now := time.Now()
		for _, p := range pkts {
			var reports []rtcp.ReceptionReport
			switch p := p.(type) {
			case *rtcp.ReceiverReport:
				reports = p.Reports
			case *rtcp.SenderReport:
				reports = p.Reports
			}
			c.mu.Lock()
			for _, r := range reports {
				if r.SSRC == c.ssrc {
					c.uplink = uplinkStats{
						at:       now,
						lossPct:  float64(r.FractionLost) * 100 / 256,
						jitterMs: float64(r.Jitter) * 1000 / opusClockRate,
						rtt:      rttFromReport(r.LastSenderReport, r.Delay, now),
					}
				}
			}
			c.mu.Unlock()
		}
	}
}

// onTrack reads a track the server sends: another user's audio (to the
// sink) or video (video_call.go: to the view sink while viewed).
func (c *mediaCall) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	if !c.enter() {
		return
	}
	defer c.wg.Done()
	c.spawn(func() { // the interceptors need the sender reports read
		for {
			if _, _, err := recv.ReadRTCP(); err != nil {
				return
			}
		}
	})
	if track.Kind() == webrtc.RTPCodecTypeVideo {
		c.video.readTrack(track)
		return
	}
	user := track.StreamID()
	levelID := headerExtensionID(recv.GetParameters().HeaderExtensions, audioLevelURI)
	st := newInboundStats(track.Codec().ClockRate)
	c.mu.Lock()
	c.remotes[user] = st
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		mine := c.remotes[user] == st
		if mine {
			delete(c.remotes, user)
		}
		c.mu.Unlock()
		if sink := c.m.sink(); mine && sink != nil {
			sink.RemoveUser(user)
		}
	}()
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		level := -1
		if levelID != 0 {
			if b := pkt.Header.GetExtension(levelID); len(b) > 0 {
				var a rtp.AudioLevelExtension
				if a.Unmarshal(b) == nil {
					level = dBovToLevel(a.Level)
				}
			}
		}
		c.mu.Lock()
		st.packet(&pkt.Header, time.Now(), level)
		c.mu.Unlock()
		if sink := c.m.sink(); sink != nil {
			sink.WriteRTP(user, pkt)
		}
	}
}

// statsLoop reports volumes and network quality while the call is
// connected, and closes the media if the call stopped being current.
func (c *mediaCall) statsLoop() {
	vol := time.NewTicker(volumeInterval)
	defer vol.Stop()
	qual := time.NewTicker(qualityInterval)
	defer qual.Stop()
	var orphan time.Time
	for {
		select {
		case <-c.ctx.Done():
			return
		case now := <-vol.C:
			current, connected := c.e.mediaCallState(c.id)
			switch {
			case current:
				orphan = time.Time{}
			case orphan.IsZero():
				orphan = now
			case now.Sub(orphan) >= mediaOrphanTimeout:
				c.e.log.Info("closing the media of a call that is gone", "call", c.id)
				c.m.detach(c)
				c.cancel()
				return
			}
			if connected {
				c.e.disp.push(UserVoiceVolumeChanged{VolumeMap: c.takeVolumes()})
			}
		case now := <-qual.C:
			if _, connected := c.e.mediaCallState(c.id); connected {
				c.e.disp.push(UserNetworkQualityChanged{NetworkQualityList: c.takeQuality(now)})
			}
		}
	}
}

func (c *mediaCall) takeVolumes() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := make(map[string]int, len(c.remotes)+1)
	v[c.me] = c.localLevel
	c.localLevel = 0
	for user, st := range c.remotes {
		v[user] = st.takeLevel()
	}
	return v
}

func (c *mediaCall) takeQuality(now time.Time) []NetworkQualityInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	mine := NetworkQualityUnknown
	switch {
	case c.ice == webrtc.ICEConnectionStateDisconnected || c.ice == webrtc.ICEConnectionStateFailed:
		mine = NetworkQualityDown
	case !c.uplink.at.IsZero() && now.Sub(c.uplink.at) < qualityInterval+time.Second:
		mine = qualityOf(c.uplink.lossPct, c.uplink.jitterMs, c.uplink.rtt)
	}
	list := []NetworkQualityInfo{{UserID: c.me, Quality: mine}}
	users := make([]string, 0, len(c.remotes))
	for u := range c.remotes {
		users = append(users, u)
	}
	sort.Strings(users)
	for _, u := range users {
		list = append(list, NetworkQualityInfo{UserID: u, Quality: c.remotes[u].takeQuality()})
	}
	return list
}

// callGone reports an answer that raced with this device leaving the call
// (another device answered, the call ended) or with the link dropping (the
// reconnect reconciles the call), or with the server closing this
// device's media (an offer applied as the call ends: its "close" and the
// call's end follow; in cluster mode the media path can outrun them): not
// worth an onError.
func callGone(err error) bool {
	if errors.Is(err, webrtc.ErrConnectionClosed) {
		return true
	}
	switch protocol.CodeOf(err) {
	case protocol.CodeNoSuchCall, protocol.CodeNotInCall, protocol.CodeWrongCallState,
		protocol.CodeConnectionLost, protocol.CodeEngineDestroyed, protocol.CodeNotInitialized,
		protocol.CodeOwnerUnreachable: // cluster mode: the call's node died; its end follows
		return true
	}
	return false
}

// sourceError handles a failed read of a media source: the first failure
// of a streak is reported once (onError with code); the call goes on and
// the others get nothing from this source until it works again. It waits
// a moment before the next try and returns false when the call's media is
// closing.
func (c *mediaCall) sourceError(what string, code protocol.Code, err error, failing *bool) bool {
	if !*failing {
		*failing = true
		c.e.log.Warn(what+" source failed", "err", err)
		c.e.disp.push(ErrorEvent{Code: code, Message: what + " source: " + err.Error()})
	}
	select {
	case <-c.ctx.Done():
		return false
	case <-time.After(100 * time.Millisecond):
		return true
	}
}
