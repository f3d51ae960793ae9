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

	var connectTimer <-chan time.Time
	if s.connectTimeout > 0 {
		t := time.NewTimer(s.connectTimeout)
		defer t.Stop()
		connectTimer = t.C
	}
	var pliTimer *time.Timer
	var pliC <-chan time.Time
	p.wakeUp()
loop:
	for {
		select {
		case <-p.closeCh:
			break loop
		case <-p.wake:
			p.step()
		case <-p.kf:
			if wait := keyframeInterval - time.Since(p.lastPLI); wait > 0 {
				if pliC == nil {
					pliTimer = time.NewTimer(wait)
					pliC = pliTimer.C
				}
				continue
			}
			p.sendPLI()
		case <-pliC:
			pliC = nil
			p.sendPLI()
		case <-connectTimer:
			connectTimer = nil
			if !p.transport.Load() {
				s.failPeer(p, "ICE/DTLS did not connect in time")
			}
		}
	}
	if pliTimer != nil {
		pliTimer.Stop()
	}

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
	s := p.s
	if p.pc == nil {
		return
	}
	s.mu.Lock()
	if p.closing {
		s.mu.Unlock()
		return
	}
	answer := p.answer
	p.answer = nil
	var cands []webrtc.ICECandidateInit
	if p.remoteSet || answer != nil {
		cands, p.cands = p.cands, nil
	}
	s.mu.Unlock()

	if answer != nil {
		p.applyAnswer(*answer)
	}
	for _, c := range cands {
		if err := p.pc.AddICECandidate(c); err != nil {
			s.log.Debug("adding ICE candidate", append(p.logger(), "err", err)...)
		}
	}

	s.mu.Lock()
	if p.closing || p.awaiting || (p.offered && !p.dirty) {
		s.mu.Unlock()
		return
	}
	p.dirty = false
	want := make([]*outTrack, 0, len(p.out))
	for _, t := range p.out {
		want = append(want, t)
	}
	s.mu.Unlock()

	if err := p.negotiate(want); err != nil && !errors.Is(err, errClosing) {
		if p.pc.ConnectionState() == webrtc.PeerConnectionStateClosed || errors.Is(err, webrtc.ErrConnectionClosed) {
			// The device hung up under us; the state handler reports it.
			s.log.Debug("negotiating", append(p.logger(), "err", err)...)
			s.failPeer(p, "closed by the device")
			return
		}
		s.log.Error("negotiating", append(p.logger(), "err", err)...)
		s.failPeer(p, "negotiation: "+err.Error())
	}
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
	pc := p.pc
	keep := make(map[*outTrack]bool, len(want))
	for _, t := range want {
		keep[t] = true
	}
	for t, a := range p.attached {
		if keep[t] {
			continue
		}
		for _, snd := range []*webrtc.RTPSender{a.audio, a.video} {
			if err := pc.RemoveTrack(snd); err != nil {
				return fmt.Errorf("removing track of %s: %w", t.userID, err)
			}
		}
		delete(p.attached, t)
	}
	for _, t := range want {
		if _, ok := p.attached[t]; ok {
			continue
		}
		var a attached
		for _, tl := range []*webrtc.TrackLocalStaticRTP{t.audio, t.video} {
			tr, err := pc.AddTransceiverFromTrack(tl, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
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

	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return err
	}
	timer := time.NewTimer(gatherTimeout)
	defer timer.Stop()
	select {
	case <-gathered:
	case <-timer.C:
		s.log.Warn("ICE gathering timed out; offering the candidates so far", p.logger()...)
	case <-p.closeCh:
		return errClosing
	}
	ld := pc.LocalDescription()
	if ld == nil {
		return fmt.Errorf("no local description")
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
		mids, err := checkAnswer(sig.SDP)
		if err != nil {
			return protocol.Errorf(protocol.CodeInvalidArgument, "bad answer: %w", err)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		p := s.lookupLocked(callID, deviceID)
		if p == nil || p.closing {
			return protocol.Errorf(protocol.CodeNoSuchCall, "no media for device %q in call %q", deviceID, callID)
		}
		if !p.awaiting || p.answer != nil {
			return protocol.Errorf(protocol.CodeInvalidArgument, "bad answer: no offer is waiting for one")
		}
		if !equalStrings(mids, p.offerMids) {
			return protocol.Errorf(protocol.CodeInvalidArgument, "bad answer: media sections %v do not match the offer's %v", mids, p.offerMids)
		}
		p.answer = &webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sig.SDP}
		p.wakeUp()
		return nil

	case protocol.MediaCandidate:
		var c webrtc.ICECandidateInit
		if err := json.Unmarshal([]byte(sig.Candidate), &c); err != nil {
			return protocol.Errorf(protocol.CodeInvalidArgument, "bad candidate: %w", err)
		}
		if c.Candidate != "" {
			if _, err := ice.UnmarshalCandidate(strings.TrimPrefix(c.Candidate, "candidate:")); err != nil {
				return protocol.Errorf(protocol.CodeInvalidArgument, "bad candidate: %w", err)
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		p := s.lookupLocked(callID, deviceID)
		if p == nil || p.closing {
			return protocol.Errorf(protocol.CodeNoSuchCall, "no media for device %q in call %q", deviceID, callID)
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

	default:
		return protocol.Errorf(protocol.CodeInvalidArgument, "media signal kind %q is not for the SFU", sig.Kind)
	}
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
	_, sessUfrag := d.Attribute("ice-ufrag")
	_, sessPwd := d.Attribute("ice-pwd")
	_, sessFP := d.Attribute("fingerprint")
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
		if _, ok := m.Attribute("ice-ufrag"); !ok && !sessUfrag {
			return nil, fmt.Errorf("media section %q has no ice-ufrag", mid)
		}
		if _, ok := m.Attribute("ice-pwd"); !ok && !sessPwd {
			return nil, fmt.Errorf("media section %q has no ice-pwd", mid)
		}
		if _, ok := m.Attribute("fingerprint"); !ok && !sessFP {
			return nil, fmt.Errorf("media section %q has no DTLS fingerprint", mid)
		}
		if setup, ok := m.Attribute("setup"); ok && setup != "active" && setup != "passive" {
			return nil, fmt.Errorf("media section %q: an answer's setup must be active or passive, not %q", mid, setup)
		}
		var want string
		switch m.MediaName.Media {
		case "audio":
			want = "opus/"
		case "video":
			want = "vp8/"
		default:
			return nil, fmt.Errorf("media section %q: unexpected media %q", mid, m.MediaName.Media)
		}
		found := false
		for _, a := range m.Attributes {
			if a.Key == "rtpmap" {
				if _, enc, ok := strings.Cut(a.Value, " "); ok && strings.HasPrefix(strings.ToLower(enc), want) {
					found = true
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("media section %q has no %s codec", mid, strings.TrimSuffix(want, "/"))
		}
	}
	return mids, nil
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
