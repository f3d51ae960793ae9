package sfu

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/protocol"
)

// outTrack is the pair of outbound tracks that carry one source user's
// media to one destination device.
type outTrack struct {
	userID     string
	audio      *webrtc.TrackLocalStaticRTP
	video      *webrtc.TrackLocalStaticRTP
	negotiated bool // under SFU.mu: the destination answered an offer with it
}

func newOutTrack(userID string) (*outTrack, error) {
	a, err := webrtc.NewTrackLocalStaticRTP(opusCapability(), "audio-"+userID, userID)
	if err != nil {
		return nil, err
	}
	v, err := webrtc.NewTrackLocalStaticRTP(vp8Capability(), "video-"+userID, userID)
	if err != nil {
		return nil, err
	}
	return &outTrack{userID: userID, audio: a, video: v}, nil
}

// attached is an outTrack as added to the PeerConnection (worker only).
type attached struct {
	audio, video *webrtc.RTPSender
}

// fanout is an immutable set of destinations for one source device.
type fanout struct {
	audio []*webrtc.TrackLocalStaticRTP
	video []*webrtc.TrackLocalStaticRTP
}

type peer struct {
	s        *SFU
	room     *room
	seq      uint64
	userID   string
	deviceID string
	send     SendFunc

	closeCh chan struct{} // closed when closing is set
	wake    chan struct{} // cap 1: state under SFU.mu changed
	kf      chan struct{} // cap 1: a keyframe is wanted

	// Under SFU.mu.
	connected   bool
	closing     bool
	notifyClose bool // send the device "close" when done
	failed      bool // report through Config.OnPeerFailed
	out         map[string]*outTrack
	dirty       bool // out changed since the last offer
	offered     bool // the first offer went out
	awaiting    bool // an offer waits for its answer
	offerMids   []string
	offerTracks []*outTrack
	answer      *webrtc.SessionDescription
	cands       []webrtc.ICECandidateInit

	// Forwarding (hot path).
	fan       atomic.Pointer[fanout]
	videoSSRC atomic.Uint32
	transport atomic.Bool // ICE+DTLS came up at least once

	pktIn, pktFwd, bytesFwd, dropped, lost atomic.Uint64

	held heldAudio // --- ans: held packets --- (held.go)

	// Worker only.
	pc        *webrtc.PeerConnection
	attached  map[*outTrack]attached
	remoteSet bool
	lastPLI   time.Time
	readers   tracker // goroutines reading this PC's tracks and RTCP
}

func newPeer(s *SFU, r *room, seq uint64, userID, deviceID string, send SendFunc) *peer {
	return &peer{
		s: s, room: r, seq: seq, userID: userID, deviceID: deviceID, send: send,
		closeCh:  make(chan struct{}),
		wake:     make(chan struct{}, 1),
		kf:       make(chan struct{}, 1),
		out:      map[string]*outTrack{},
		attached: map[*outTrack]attached{},
	}
}

func (p *peer) wakeUp() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *peer) requestKeyframe() {
	select {
	case p.kf <- struct{}{}:
	default:
	}
}

func (p *peer) addCounters(st *Stats) {
	st.PacketsIn += p.pktIn.Load()
	st.PacketsForwarded += p.pktFwd.Load()
	st.BytesForwarded += p.bytesFwd.Load()
	st.PacketsDropped += p.dropped.Load()
	st.PacketsLost += p.lost.Load()
}

func (p *peer) logger() []any {
	return []any{"call", p.room.id, "device", p.deviceID, "user", p.userID}
}

// run is the peer's worker: it owns the PeerConnection.
func (p *peer) run() {
	s := p.s
	defer s.workers.done()
	defer s.workerDone(p)

	if err := p.setup(); err != nil {
		s.log.Error("creating peer connection", append(p.logger(), "err", err)...)
		s.failPeer(p, err.Error())
	}
	p.loop()
	p.teardown()
}

// pliPacer holds the timer of a PLI deferred to keep keyframeInterval
// between two; c is nil when none is pending.
type pliPacer struct {
	timer *time.Timer
	c     <-chan time.Time
}

func (t *pliPacer) stop() {
	if t.timer != nil {
		t.timer.Stop()
	}
}

// loop serves the peer's events until it closes.
func (p *peer) loop() {
	s := p.s
	var connectTimer <-chan time.Time
	if s.connectTimeout > 0 {
		t := time.NewTimer(s.connectTimeout)
		defer t.Stop()
		connectTimer = t.C
	}
	var pli pliPacer
	defer pli.stop()
	p.wakeUp()
	for {
		select {
		case <-p.closeCh:
			return
		case <-p.wake:
			p.step()
		case <-p.kf:
			p.keyframeRequested(&pli)
		case <-pli.c:
			pli.c = nil
			p.sendPLI()
		case <-connectTimer:
			connectTimer = nil
			if !p.transport.Load() {
				s.failPeer(p, "ICE/DTLS did not connect in time")
			}
		}
	}
}

// keyframeRequested sends a PLI now, or once keyframeInterval has passed
// since the last one.
func (p *peer) keyframeRequested(pli *pliPacer) {
	if wait := keyframeInterval - time.Since(p.lastPLI); wait > 0 {
		if pli.c == nil {
			pli.timer = time.NewTimer(wait)
			pli.c = pli.timer.C
		}
		return
	}
	p.sendPLI()
}

// teardown closes the PeerConnection, waits for the RTCP readers and
// tells the device and the owner.
func (p *peer) teardown() {
	s := p.s
	if p.pc != nil {
		if err := p.pc.GracefulClose(); err != nil {
			s.log.Debug("closing peer connection", append(p.logger(), "err", err)...)
		}
	}
	p.readers.closeAndWait()

	s.mu.Lock()
	notify, failed := p.notifyClose, p.failed
	s.mu.Unlock()
	if notify {
		p.send(protocol.MediaSignal{Kind: protocol.MediaClose, CallID: p.room.id})
	}
	if failed && s.cfg.OnPeerFailed != nil {
		s.cfg.OnPeerFailed(p.room.id, p.deviceID)
	}
}

func (p *peer) setup() error {
	pc, err := p.s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	p.pc = pc
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		switch st {
		case webrtc.PeerConnectionStateConnected:
			p.transport.Store(true)
			p.heldTransportUp() // --- ans: held packets ---
		case webrtc.PeerConnectionStateFailed:
			p.s.failPeer(p, "ICE/DTLS failed")
		case webrtc.PeerConnectionStateClosed:
			// Ours when closing; otherwise the device closed DTLS.
			p.s.failPeer(p, "closed by the device")
		}
	})
	pc.OnTrack(p.onTrack)
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return err
		}
	}
	return nil
}

// step applies whatever changed: an answer, candidates, outbound tracks.
func (p *peer) step() {
	if p.pc == nil {
		return
	}
	answer, cands, ok := p.takeSignals()
	if !ok {
		return
	}
	if answer != nil {
		p.applyAnswer(*answer)
	}
	for _, c := range cands {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.s.log.Debug("adding ICE candidate", append(p.logger(), "err", err)...)
		}
	}
	want, ok := p.tracksToOffer()
	if !ok {
		return
	}
	if err := p.negotiate(want); err != nil && !errors.Is(err, errClosing) {
		p.negotiationFailed(err)
	}
}

// takeSignals takes the queued answer and, once a remote description is
// (or is about to be) set, the queued candidates. ok is false when the
// peer is closing.
func (p *peer) takeSignals() (answer *webrtc.SessionDescription, cands []webrtc.ICECandidateInit, ok bool) {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.closing {
		return nil, nil, false
	}
	answer = p.answer
	p.answer = nil
	if p.remoteSet || answer != nil {
		cands, p.cands = p.cands, nil
	}
	return answer, cands, true
}

// tracksToOffer returns the outbound tracks to offer when a new offer is
// due (none is awaiting an answer and the tracks changed since the last).
func (p *peer) tracksToOffer() ([]*outTrack, bool) {
	s := p.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.closing || p.awaiting || (p.offered && !p.dirty) {
		return nil, false
	}
	p.dirty = false
	want := make([]*outTrack, 0, len(p.out))
	for _, t := range p.out {
		want = append(want, t)
	}
	return want, true
}

// negotiationFailed fails the peer after negotiate returned err.
func (p *peer) negotiationFailed(err error) {
	s := p.s
	if p.pc.ConnectionState() == webrtc.PeerConnectionStateClosed || errors.Is(err, webrtc.ErrConnectionClosed) {
		// The device hung up under us; the state handler reports it.
		s.log.Debug("negotiating", append(p.logger(), "err", err)...)
		s.failPeer(p, "closed by the device")
		return
	}
	s.log.Error("negotiating", append(p.logger(), "err", err)...)
	s.failPeer(p, "negotiation: "+err.Error())
}

func (p *peer) applyAnswer(answer webrtc.SessionDescription) {
	s := p.s
	err := p.pc.SetRemoteDescription(answer)
	if err != nil {
		// Validation let it through but pion refused it: roll back and
		// offer again, so the device gets another chance.
		s.log.Warn("answer refused", append(p.logger(), "err", err)...)
		if rerr := p.pc.SetLocalDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback}); rerr != nil {
			s.log.Debug("rollback", append(p.logger(), "err", rerr)...)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p.awaiting = false
	if err != nil {
		p.dirty = true
		p.offered = false
		p.offerTracks = nil
		p.wakeUp()
		return
	}
	p.remoteSet = true
	for _, t := range p.offerTracks {
		t.negotiated = true
	}
	p.offerTracks = nil
	if !p.closing {
		s.rebuildLocked(p.room)
	}
	if p.dirty || len(p.cands) > 0 {
		p.wakeUp()
	}
}

// negotiate makes the PC's outbound tracks match want and sends an offer.
func (p *peer) negotiate(want []*outTrack) error {
	s := p.s
	if err := p.detachUnwanted(want); err != nil {
		return err
	}
	if err := p.attachWanted(want); err != nil {
		return err
	}
	ld, err := p.gatherOffer()
	if err != nil {
		return err
	}
	mids, err := sdpMids(ld.SDP)
	if err != nil {
		return fmt.Errorf("parsing own offer: %w", err)
	}

	s.mu.Lock()
	if p.closing {
		s.mu.Unlock()
		return errClosing
	}
	p.awaiting = true
	p.offered = true
	p.offerMids = mids
	p.offerTracks = want
	s.mu.Unlock()

	p.send(protocol.MediaSignal{Kind: protocol.MediaOffer, CallID: p.room.id, SDP: ld.SDP})
	return nil
}

// detachUnwanted removes the senders of attached tracks not in want.
func (p *peer) detachUnwanted(want []*outTrack) error {
	keep := make(map[*outTrack]bool, len(want))
	for _, t := range want {
		keep[t] = true
	}
	for t, a := range p.attached {
		if keep[t] {
			continue
		}
		for _, snd := range []*webrtc.RTPSender{a.audio, a.video} {
			if err := p.pc.RemoveTrack(snd); err != nil {
				return fmt.Errorf("removing track of %s: %w", t.userID, err)
			}
		}
		delete(p.attached, t)
	}
	return nil
}

// attachWanted adds a send-only transceiver per track of want not yet
// attached, each with its RTCP reader.
func (p *peer) attachWanted(want []*outTrack) error {
	for _, t := range want {
		if _, ok := p.attached[t]; ok {
			continue
		}
		var a attached
		for _, tl := range []*webrtc.TrackLocalStaticRTP{t.audio, t.video} {
			tr, err := p.pc.AddTransceiverFromTrack(tl, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
			if err != nil {
				return fmt.Errorf("adding track of %s: %w", t.userID, err)
			}
			snd := tr.Sender()
			video := tl == t.video
			if video {
				a.video = snd
			} else {
				a.audio = snd
			}
			if p.readers.add() {
				go p.readSenderRTCP(snd, t.userID, video)
			}
		}
		p.attached[t] = a
	}
	return nil
}

// gatherOffer creates and sets a local offer and waits for ICE gathering
// (at most gatherTimeout); it returns the local description to send.
func (p *peer) gatherOffer() (*webrtc.SessionDescription, error) {
	pc := p.pc
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return nil, err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return nil, err
	}
	timer := time.NewTimer(gatherTimeout)
	defer timer.Stop()
	select {
	case <-gathered:
	case <-timer.C:
		p.s.log.Warn("ICE gathering timed out; offering the candidates so far", p.logger()...)
	case <-p.closeCh:
		return nil, errClosing
	}
	ld := pc.LocalDescription()
	if ld == nil {
		return nil, fmt.Errorf("no local description")
	}
	return ld, nil
}

func (p *peer) sendPLI() {
	ssrc := p.videoSSRC.Load()
	if ssrc == 0 || p.pc == nil {
		return
	}
	p.lastPLI = time.Now()
	if err := p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		p.s.log.Debug("sending PLI", append(p.logger(), "err", err)...)
		return
	}
	p.s.keyframes.Add(1)
}

// HandleSignal takes a device's "answer" or trickled "candidate". Bad
// input gets a *protocol.Error with CodeInvalidArgument (the peer stays),
// an unknown call or device CodeNoSuchCall. The answer is applied
// asynchronously.
func (s *SFU) HandleSignal(callID, deviceID string, sig protocol.MediaSignal) error {
	if sig.CallID != "" && sig.CallID != callID {
		return protocol.Errorf(protocol.CodeInvalidArgument, "media signal for call %q sent as call %q", sig.CallID, callID)
	}
	switch sig.Kind {
	case protocol.MediaAnswer:
		return s.handleAnswer(callID, deviceID, sig.SDP)
	case protocol.MediaCandidate:
		return s.handleCandidate(callID, deviceID, sig.Candidate)
	default:
		return protocol.Errorf(protocol.CodeInvalidArgument, "media signal kind %q is not for the SFU", sig.Kind)
	}
}

// handleAnswer checks an answer and queues it for the peer's worker.
func (s *SFU) handleAnswer(callID, deviceID, sdpText string) error {
	mids, err := checkAnswer(sdpText)
	if err != nil {
		return protocol.Errorf(protocol.CodeInvalidArgument, "bad answer: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.signalPeerLocked(callID, deviceID)
	if err != nil {
		return err
	}
	if !p.awaiting || p.answer != nil {
		return protocol.Errorf(protocol.CodeInvalidArgument, "bad answer: no offer is waiting for one")
	}
	if !equalStrings(mids, p.offerMids) {
		return protocol.Errorf(protocol.CodeInvalidArgument, "bad answer: media sections %v do not match the offer's %v", mids, p.offerMids)
	}
	p.answer = &webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdpText}
	p.wakeUp()
	return nil
}

// handleCandidate checks a trickled candidate and queues it for the
// peer's worker; an empty candidate (end of candidates) is accepted.
func (s *SFU) handleCandidate(callID, deviceID, candidate string) error {
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal([]byte(candidate), &c); err != nil {
		return protocol.Errorf(protocol.CodeInvalidArgument, "bad candidate: %w", err)
	}
	if c.Candidate != "" {
		if _, err := ice.UnmarshalCandidate(strings.TrimPrefix(c.Candidate, "candidate:")); err != nil {
			return protocol.Errorf(protocol.CodeInvalidArgument, "bad candidate: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.signalPeerLocked(callID, deviceID)
	if err != nil {
		return err
	}
	if c.Candidate == "" {
		return nil // end of candidates
	}
	if len(p.cands) >= maxQueuedCandidates {
		return protocol.Errorf(protocol.CodeInvalidArgument, "bad candidate: too many queued")
	}
	p.cands = append(p.cands, c)
	p.wakeUp()
	return nil
}

// signalPeerLocked finds the live peer a signal is for, or the
// CodeNoSuchCall error. s.mu is held.
func (s *SFU) signalPeerLocked(callID, deviceID string) (*peer, error) {
	p := s.lookupLocked(callID, deviceID)
	if p == nil || p.closing {
		return nil, protocol.Errorf(protocol.CodeNoSuchCall, "no media for device %q in call %q", deviceID, callID)
	}
	return p, nil
}

// checkAnswer parses an answer and checks what pion would refuse, so that
// bad answers are refused synchronously. It returns the mids in order.
func checkAnswer(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty SDP")
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		return nil, err
	}
	if len(d.MediaDescriptions) == 0 {
		return nil, fmt.Errorf("no media sections")
	}
	var sess sessionAttrs
	_, sess.ufrag = d.Attribute("ice-ufrag")
	_, sess.pwd = d.Attribute("ice-pwd")
	_, sess.fingerprint = d.Attribute("fingerprint")
	mids := make([]string, 0, len(d.MediaDescriptions))
	for i, m := range d.MediaDescriptions {
		mid, ok := m.Attribute("mid")
		if !ok || mid == "" {
			return nil, fmt.Errorf("media section %d has no mid", i)
		}
		mids = append(mids, mid)
		if m.MediaName.Port.Value == 0 {
			continue // rejected
		}
		if err := checkAnswerMedia(m, mid, sess); err != nil {
			return nil, err
		}
	}
	return mids, nil
}

// sessionAttrs says which ICE/DTLS attributes the answer carries at
// session level (a media section then need not repeat them).
type sessionAttrs struct {
	ufrag, pwd, fingerprint bool
}

// checkAnswerMedia checks one accepted media section of an answer.
func checkAnswerMedia(m *sdp.MediaDescription, mid string, sess sessionAttrs) error {
	if _, ok := m.Attribute("ice-ufrag"); !ok && !sess.ufrag {
		return fmt.Errorf("media section %q has no ice-ufrag", mid)
	}
	if _, ok := m.Attribute("ice-pwd"); !ok && !sess.pwd {
		return fmt.Errorf("media section %q has no ice-pwd", mid)
	}
	if _, ok := m.Attribute("fingerprint"); !ok && !sess.fingerprint {
		return fmt.Errorf("media section %q has no DTLS fingerprint", mid)
	}
	if setup, ok := m.Attribute("setup"); ok && setup != "active" && setup != "passive" {
		return fmt.Errorf("media section %q: an answer's setup must be active or passive, not %q", mid, setup)
	}
	var want string
	switch m.MediaName.Media {
	case "audio":
		want = "opus/"
	case "video":
		want = "vp8/"
	default:
		return fmt.Errorf("media section %q: unexpected media %q", mid, m.MediaName.Media)
	}
	if !hasCodec(m, want) {
		return fmt.Errorf("media section %q has no %s codec", mid, strings.TrimSuffix(want, "/"))
	}
	return nil
}

// hasCodec reports whether a media section maps a payload type to an
// encoding whose lower-cased name starts with prefix ("opus/").
func hasCodec(m *sdp.MediaDescription, prefix string) bool {
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		if _, enc, ok := strings.Cut(a.Value, " "); ok && strings.HasPrefix(strings.ToLower(enc), prefix) {
			return true
		}
	}
	return false
}

func sdpMids(s string) ([]string, error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		return nil, err
	}
	mids := make([]string, 0, len(d.MediaDescriptions))
	for _, m := range d.MediaDescriptions {
		mid, _ := m.Attribute("mid")
		mids = append(mids, mid)
	}
	return mids, nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
