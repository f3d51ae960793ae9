// Package sfu is termcall's media relay: a selective forwarding unit built on
// pion/webrtc. Every participant device has one PeerConnection to it per
// call. The SFU makes every offer (server-driven negotiation, so there is
// no glare), receives each device's audio and video on two recvonly
// transceivers, and forwards the RTP to one sendonly track per other
// participant on every other device of the same call, but only while both
// ends are connected (accepted the call) — nothing leaks from or to a
// ringing or departed device.
//
// The call server owns call state and calls this API while holding its own
// mutex, so no method blocks on network I/O or calls a SendFunc: all
// PeerConnection work happens on one worker goroutine per peer, and
// signals go out from there.
//
// Outbound tracks are keyed by the source user (stream ID = user ID, track
// IDs "audio-<userID>" and "video-<userID>"). They are negotiated as soon
// as both devices are in the call, ringing or not, so when a call is
// accepted media flows at once: accepting only opens the gate, it needs no
// new offer/answer round.
package sfu

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/protocol"
)

// Codec and header-extension numbers offered on every PeerConnection.
const (
	OpusPayloadType = 111
	VP8PayloadType  = 96

	// AudioLevelURI is the RFC 6464 client-to-mixer audio level extension.
	AudioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
	// AudioLevelExtensionID is its ID in every offer (it is registered
	// first, so pion numbers it 1). Forwarded audio packets carry only this
	// extension, with this ID.
	AudioLevelExtensionID = 1
)

// Defaults.
const (
	DefaultConnectTimeout = 30 * time.Second
	keyframeInterval      = 500 * time.Millisecond // at most one PLI per source per interval
	gatherTimeout         = 5 * time.Second
	maxQueuedCandidates   = 64
)

// Config configures an SFU.
type Config struct {
	// UDPPort is the one UDP port for all media (ICE UDP mux); 0 picks a
	// free one (see Addr).
	UDPPort int
	// ListenIP is the IPv4 address to bind; "" means 0.0.0.0 (then host
	// candidates are gathered for every interface).
	ListenIP string
	// PublicIP, if set, replaces the host candidates' address (NAT 1:1).
	PublicIP string
	// Logger receives the SFU's and pion's logs; nil means slog.Default().
	Logger *slog.Logger
	// IncludeLoopback makes pion offer loopback candidates (needed when
	// clients run on the same host over 127.0.0.1, as in tests).
	IncludeLoopback bool
	// ConnectTimeout is how long a peer may take to bring up ICE and DTLS
	// after it is added; 0 means DefaultConnectTimeout, negative disables.
	ConnectTimeout time.Duration
	// OnPeerFailed, if set, is called when a peer is dropped because its
	// ICE/DTLS transport failed, was closed by the client, or did not come
	// up within ConnectTimeout. It is called from an SFU goroutine with no
	// SFU lock held, after the peer was removed (as if by RemovePeer) and
	// its device was sent a "close" signal. It may call SFU methods.
	OnPeerFailed func(callID, deviceID string)
	// ICELite makes the SFU an ICE-lite agent (see New); the default is a
	// full agent, controlling as the offerer.
	ICELite bool
	// NoDirectSockets keeps every inbound packet on the shared media
	// socket and pion's mux. By default (direct_linux.go; Linux 6.13 and
	// later) each device that sends media gets a connected UDP socket of
	// its own on the media port, read by its ICE candidate: the same CPU
	// per forwarded packet, less loss when the server is starved
	// (docs/performance.md, "Third round: direct sockets").
	NoDirectSockets bool
	// --- test: vnet ---
	// Net is the network media runs on; nil means the host's. Tests give
	// it a pion vnet Net (loss, delay, bandwidth they set); with a Net,
	// ListenIP must be one of its addresses.
	Net transport.Net
}

// SendFunc delivers a media signal to one device. The SFU calls it from
// its own goroutines (never from inside an API call), one signal at a
// time per device, in order.
type SendFunc func(protocol.MediaSignal)

// Stats are cumulative counters since New.
type Stats struct {
	Calls int // calls with at least one peer
	Peers int // live peers

	PacketsIn        uint64 // RTP packets received from devices
	PacketsForwarded uint64 // RTP packets written, one per destination
	BytesForwarded   uint64 // RTP bytes written, one per destination
	PacketsDropped   uint64 // received packets that went nowhere: the gate was closed
	PacketsLost      uint64 // uplink packets missing from the sequence numbers (see seqGaps)
	KeyframeRequests uint64 // PLIs sent to video sources

	// Direct sockets (direct_linux.go): opened, and the packets devices
	// sent that came in through them rather than the shared socket.
	DirectSockets uint64
	PacketsDirect uint64
}

// SFU is the media relay. Its methods are safe for concurrent use.
type SFU struct {
	cfg            Config
	log            *slog.Logger
	api            *webrtc.API
	mux            ice.UDPMux
	addr           net.Addr
	logs           pionLoggerFactory
	connectTimeout time.Duration

	workers   tracker // one worker goroutine per peer
	closeOnce sync.Once

	keyframes atomic.Uint64

	mu      sync.Mutex
	closed  bool
	rooms   map[string]*room
	live    map[*peer]struct{} // peers whose worker has not finished
	retired Stats              // counters of finished peers
	seq     uint64
}

type room struct {
	id    string
	peers map[string]*peer // by device ID
}

// New binds the UDP port and builds the pion API.
func New(cfg Config) (*SFU, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "sfu")

	ip, err := checkAddrs(cfg)
	if err != nil {
		return nil, err
	}

	me, ir, err := newMediaEngine()
	if err != nil {
		return nil, err
	}

	lf := newPionLoggerFactory(log)
	listen := func(ip net.IP, port int, nl func(string) logging.LeveledLogger) (ice.UDPMux, net.Addr, error) {
		return listenMux(ip, port, !cfg.NoDirectSockets, nl)
	}
	if cfg.Net != nil { // --- test: vnet ---
		listen = func(ip net.IP, port int, nl func(string) logging.LeveledLogger) (ice.UDPMux, net.Addr, error) {
			return listenNetMux(cfg.Net, ip, port, nl)
		}
	}
	mux, addr, err := listen(ip, cfg.UDPPort, lf.NewLogger)
	if err != nil {
		lf.stop()
		return nil, err
	}

	se, err := newSettingEngine(cfg, lf, mux)
	if err != nil {
		_ = mux.Close()
		lf.stop()
		return nil, err
	}

	ct := cfg.ConnectTimeout
	if ct == 0 {
		ct = DefaultConnectTimeout
	}
	s := &SFU{
		cfg:            cfg,
		log:            log,
		api:            webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)),
		mux:            mux,
		addr:           addr,
		logs:           lf,
		connectTimeout: ct,
		rooms:          map[string]*room{},
		live:           map[*peer]struct{}{},
	}
	return s, nil
}

// checkAddrs validates the configured addresses and port and returns the
// IP to listen on (0.0.0.0 when ListenIP is empty).
func checkAddrs(cfg Config) (net.IP, error) {
	ip := net.IPv4zero
	if cfg.ListenIP != "" {
		ip = net.ParseIP(cfg.ListenIP)
		if ip == nil || ip.To4() == nil {
			return nil, fmt.Errorf("sfu: ListenIP %q is not an IPv4 address", cfg.ListenIP)
		}
	}
	if cfg.PublicIP != "" {
		if p := net.ParseIP(cfg.PublicIP); p == nil || p.To4() == nil {
			return nil, fmt.Errorf("sfu: PublicIP %q is not an IPv4 address", cfg.PublicIP)
		}
	}
	if cfg.UDPPort < 0 || cfg.UDPPort > 65535 {
		return nil, fmt.Errorf("sfu: bad UDPPort %d", cfg.UDPPort)
	}
	return ip, nil
}

// newSettingEngine configures pion: the shared UDP mux, ICE, SRTP
// profiles and the PublicIP rewrite.
func newSettingEngine(cfg Config, lf pionLoggerFactory, mux ice.UDPMux) (webrtc.SettingEngine, error) {
	var se webrtc.SettingEngine
	se.LoggerFactory = lf
	se.SetICEUDPMux(mux)
	se.SetNet(cfg.Net) // --- test: vnet --- nil: the host's network
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	// Full ICE, not ICE-lite (docs/performance.md, "Media at answer"). With
	// a lite server the device is the controlling agent and pion nominates
	// a pair only on its next connectivity-check tick (200 ms) after the
	// first check succeeds, so media of an instantly answered call started
	// ~220 ms after the accept. As a full agent the server, the offerer,
	// controls, and it nominates as soon as a pair it has checked sees the
	// device's check (each side's triggered check makes that one round
	// trip): ICE is up ~2 ms after the answer. The server still announces
	// only its own host (or PublicIP) candidate, but as any full agent it
	// checks the device's candidates, and may pick a direct path to them.
	// Config.ICELite restores the lite agent: media only through the
	// announced address, at the cost of the ~200 ms.
	se.SetLite(cfg.ICELite)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(5*time.Second, 15*time.Second, 2*time.Second)
	// SRTP: AES-128-GCM first. As the DTLS server (devices answer
	// "active") the SFU picks the first of its own profiles the device
	// offers; pion's default order puts AES-256-GCM first, 14 AES rounds
	// per block instead of 10, for each packet decrypted and each copy
	// encrypted. AES-CM with HMAC-SHA1 stays last, for devices without GCM.
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	if cfg.PublicIP != "" {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        []string{cfg.PublicIP},
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return se, fmt.Errorf("sfu: PublicIP: %w", err)
		}
	}
	return se, nil
}

func opusCapability() webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{
		MimeType:     webrtc.MimeTypeOpus,
		ClockRate:    48000,
		Channels:     2,
		SDPFmtpLine:  "minptime=10;useinbandfec=1",
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}, {Type: webrtc.TypeRTCPFBNACK}},
	}
}

func vp8Capability() webrtc.RTPCodecCapability {
	return webrtc.RTPCodecCapability{
		MimeType:  webrtc.MimeTypeVP8,
		ClockRate: 90000,
		RTCPFeedback: []webrtc.RTCPFeedback{
			{Type: webrtc.TypeRTCPFBGoogREMB},
			{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
			{Type: webrtc.TypeRTCPFBNACK},
			{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
			{Type: webrtc.TypeRTCPFBTransportCC},
		},
	}
}

func newMediaEngine() (*webrtc.MediaEngine, *interceptor.Registry, error) {
	me := &webrtc.MediaEngine{}
	// First registered extension gets ID 1 in our offers: AudioLevelExtensionID.
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, nil, fmt.Errorf("sfu: audio level extension: %w", err)
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCapability(), PayloadType: OpusPayloadType}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, nil, fmt.Errorf("sfu: opus: %w", err)
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: vp8Capability(), PayloadType: VP8PayloadType}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, nil, fmt.Errorf("sfu: vp8: %w", err)
	}
	// Audio NACK too, asked for quickly (every 20 ms), so that a lost frame
	// can be resent before the receiver's jitter buffer needs it.
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBNACK}, webrtc.RTPCodecTypeAudio)
	ir := &interceptor.Registry{}
	if err := registerInterceptors(me, ir); err != nil { // interceptors.go
		return nil, nil, fmt.Errorf("sfu: interceptors: %w", err)
	}
	return me, ir, nil
}

// Addr is the UDP address all media goes through.
func (s *SFU) Addr() net.Addr { return s.addr }

// Close closes every PeerConnection and the UDP port, and waits for the
// SFU's goroutines, including a SendFunc in progress: do not call it while
// holding a lock that a SendFunc takes. Devices are not sent "close".
// Safe to call more than once.
func (s *SFU) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		for _, r := range s.rooms {
			for _, p := range r.peers {
				s.retireLocked(p, false, false)
			}
		}
		s.rooms = map[string]*room{}
		s.mu.Unlock()
		s.workers.closeAndWait()
		_ = s.mux.Close()
		s.logs.stop()
	})
	return nil
}

// AddPeer creates the device's PeerConnection for the call and sends it an
// offer (asynchronously, through send). Idempotent: adding a device that is
// already in the call does nothing.
func (s *SFU) AddPeer(callID, userID, deviceID string, send SendFunc) error {
	if callID == "" || userID == "" || deviceID == "" || send == nil {
		return protocol.Errorf(protocol.CodeInvalidArgument, "sfu: AddPeer needs a call ID, user ID, device ID and send function")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return protocol.Errorf(protocol.CodeShuttingDown, "sfu closed")
	}
	r := s.rooms[callID]
	if r == nil {
		r = &room{id: callID, peers: map[string]*peer{}}
		s.rooms[callID] = r
	}
	if p := r.peers[deviceID]; p != nil {
		if p.userID != userID {
			return protocol.Errorf(protocol.CodeInvalidArgument, "sfu: device %q is in call %q as user %q", deviceID, callID, p.userID)
		}
		return nil
	}
	if !s.workers.add() {
		return protocol.Errorf(protocol.CodeShuttingDown, "sfu closed")
	}
	s.seq++
	p := newPeer(s, r, s.seq, userID, deviceID, send)
	r.peers[deviceID] = p
	s.live[p] = struct{}{}
	s.updateTracksLocked(r)
	s.rebuildLocked(r)
	go p.run()
	return nil
}

// RemovePeer closes the device's PeerConnection (asynchronously; the device
// is sent "close") and renegotiates the others. Unknown peers are ignored.
func (s *SFU) RemovePeer(callID, deviceID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.lookupLocked(callID, deviceID); p != nil {
		s.retireLocked(p, true, false)
	}
}

// SetConnected opens (true) or closes the gate of a device: media flows
// only between connected devices of a call.
func (s *SFU) SetConnected(callID, deviceID string, connected bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.lookupLocked(callID, deviceID)
	if p == nil || p.connected == connected {
		return
	}
	p.connected = connected
	s.rebuildLocked(p.room)
}

// EndCall closes every PeerConnection of the call (asynchronously; each
// device is sent "close").
func (s *SFU) EndCall(callID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[callID]
	if r == nil {
		return
	}
	delete(s.rooms, callID)
	for _, p := range r.peers {
		s.retireLocked(p, true, false)
	}
}

// Stats returns the counters.
func (s *SFU) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.retired
	st.Calls = len(s.rooms)
	st.Peers = 0
	for _, r := range s.rooms {
		st.Peers += len(r.peers)
	}
	for p := range s.live {
		p.addCounters(&st)
	}
	st.KeyframeRequests = s.keyframes.Load()
	if m, ok := s.mux.(*directMux); ok {
		ds := m.stats()
		st.DirectSockets, st.PacketsDirect = ds.opened, ds.packets
	}
	return st
}

func (s *SFU) lookupLocked(callID, deviceID string) *peer {
	if r := s.rooms[callID]; r != nil {
		return r.peers[deviceID]
	}
	return nil
}

// retireLocked takes p out of its call: the gate closes at once, the other
// peers drop its user's tracks (unless another device of that user stays),
// and p's worker closes the PeerConnection.
func (s *SFU) retireLocked(p *peer, notify, failed bool) {
	if p.closing {
		return
	}
	p.closing = true
	p.notifyClose = notify
	p.failed = failed
	p.fan.Store(nil)
	close(p.closeCh)
	r := p.room
	if r.peers[p.deviceID] == p {
		delete(r.peers, p.deviceID)
	}
	if len(r.peers) == 0 {
		if s.rooms[r.id] == r {
			delete(s.rooms, r.id)
		}
		return
	}
	s.updateTracksLocked(r)
	s.rebuildLocked(r)
}

// failPeer drops a peer whose transport failed; its worker reports it.
func (s *SFU) failPeer(p *peer, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.closing {
		return
	}
	s.log.Info("peer failed", "call", p.room.id, "device", p.deviceID, "user", p.userID, "reason", why)
	s.retireLocked(p, true, true)
}

// workerDone is the last thing a peer's worker does.
func (s *SFU) workerDone(p *peer) {
	s.mu.Lock()
	delete(s.live, p)
	p.addCounters(&s.retired)
	s.mu.Unlock()
}

// updateTracksLocked makes every peer's wanted outbound tracks match the
// users present in the room: one audio and one video track per other user.
func (s *SFU) updateTracksLocked(r *room) {
	for _, p := range r.peers {
		changed := false
		for _, q := range r.peers {
			if q.userID == p.userID || p.out[q.userID] != nil {
				continue
			}
			t, err := newOutTrack(q.userID)
			if err != nil {
				s.log.Error("creating outbound track", "err", err)
				continue
			}
			p.out[q.userID] = t
			changed = true
		}
		for u := range p.out {
			if !r.hasUser(u) {
				delete(p.out, u)
				changed = true
			}
		}
		if changed {
			p.dirty = true
			p.wakeUp()
		}
	}
}

func (r *room) hasUser(u string) bool {
	for _, p := range r.peers {
		if p.userID == u {
			return true
		}
	}
	return false
}

// rebuildLocked recomputes every peer's forwarding destinations. A source
// forwards only while it is connected and is its user's active device (the
// earliest connected one); a destination receives only while it is
// connected and its track for that user has been negotiated.
func (s *SFU) rebuildLocked(r *room) {
	active := activeSources(r)
	for _, src := range r.peers {
		var f *fanout
		if active[src.userID] == src {
			f = fanoutOf(r, src)
		}
		old := src.fan.Load()
		src.fan.Store(f)
		if f != nil && hasNew(old, f.video) {
			src.requestKeyframe()
		}
	}
	s.releaseHeldLocked(r) // --- ans: held packets ---
}

// activeSources maps each user of r to its active device: the earliest
// connected one that is not closing.
func activeSources(r *room) map[string]*peer {
	active := make(map[string]*peer, len(r.peers))
	for _, p := range r.peers {
		if !p.connected || p.closing {
			continue
		}
		if a := active[p.userID]; a == nil || p.seq < a.seq {
			active[p.userID] = p
		}
	}
	return active
}

// fanoutOf collects the negotiated tracks of src's user at every other
// user's connected device; nil when there are none.
func fanoutOf(r *room, src *peer) *fanout {
	var f *fanout
	for _, d := range r.peers {
		if d.userID == src.userID || !d.connected || d.closing {
			continue
		}
		t := d.out[src.userID]
		if t == nil || !t.negotiated {
			continue
		}
		if f == nil {
			f = &fanout{}
		}
		f.audio = append(f.audio, t.audio)
		f.video = append(f.video, t.video)
	}
	return f
}

// hasNew reports whether video holds a track that old's video does not.
func hasNew(old *fanout, video []*webrtc.TrackLocalStaticRTP) bool {
	if old == nil {
		return len(video) > 0
	}
next:
	for _, t := range video {
		for _, o := range old.video {
			if o == t {
				continue next
			}
		}
		return true
	}
	return false
}

// keyframeFor asks the active source of user in r for a keyframe.
func (s *SFU) keyframeFor(r *room, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var src *peer
	for _, p := range r.peers {
		if p.userID == user && p.connected && !p.closing && (src == nil || p.seq < src.seq) {
			src = p
		}
	}
	if src != nil {
		src.requestKeyframe()
	}
}

// tracker counts goroutines so that Close can wait for them, without the
// Add-after-Wait race of a bare WaitGroup.
type tracker struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func (t *tracker) add() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	return true
}

func (t *tracker) done() { t.wg.Done() }

func (t *tracker) closeAndWait() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.wg.Wait()
}

var errClosing = errors.New("peer closing")
