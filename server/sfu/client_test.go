package sfu

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/termcall/termcall/protocol"
)

// testLogger shows warnings and errors only (set SFU_TEST_DEBUG for all).
func testLogger() *slog.Logger {
	if os.Getenv("SFU_TEST_DEBUG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func newTestSFU(t testing.TB, mod func(*Config)) *SFU {
	t.Helper()
	cfg := Config{ListenIP: "127.0.0.1", IncludeLoopback: true, Logger: testLogger()}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// clientAPI is a plain pion API as a device would build it: default
// codecs, the audio level extension, default interceptors, loopback only.
func clientAPI(t testing.TB) *webrtc.API {
	t.Helper()
	api, err := makeClientAPI()
	if err != nil {
		t.Fatal(err)
	}
	return api
}

func makeClientAPI() (*webrtc.API, error) { return makeClientAPIWith() }

// makeClientAPIWith makes a client API offering these SRTP profiles
// (none: pion's defaults).
func makeClientAPIWith(srtp ...dtls.SRTPProtectionProfile) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		return nil, err
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeAudio) // as the engine does
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.LoggerFactory = pionLoggerFactory{log: testLogger()}
	if len(srtp) > 0 {
		se.SetSRTPProtectionProfiles(srtp...)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se)), nil
}

type rxStream struct {
	count    int
	payloads []string // the first few
	track    string
}

// testClient is one device: it answers the SFU's offers, sends Opus
// samples with payloads "<userID>-<n>" and records what it receives.
type testClient struct {
	answer                   func(protocol.MediaSignal) error // to the SFU
	callID, userID, deviceID string
	pc                       *webrtc.PeerConnection
	audio                    *webrtc.TrackLocalStaticSample
	video                    *webrtc.TrackLocalStaticRTP // if withVideo
	rtpAudio                 *webrtc.TrackLocalStaticRTP // if withRTPAudio: sent by the caller, not a loop
	onPacket                 func()                      // if set, replaces the recording of received packets
	silent                   bool                        // attach the audio track but send nothing
	sigs                     chan protocol.MediaSignal
	done                     chan struct{}
	closeOnce                sync.Once
	wg                       sync.WaitGroup

	// beforeAnswer, if set, runs before the client answers an offer.
	beforeAnswer func(offer string)

	offers    atomic.Int32
	answerErr atomic.Value // error
	gotClose  atomic.Bool
	plis      atomic.Int32 // PLIs received for the video track
	nackMu    sync.Mutex
	nacked    []uint16 // sequence numbers the SFU asked this device to resend

	mu      sync.Mutex
	streams map[string]*rxStream // by stream ID + "/" + kind
	tracks  []string             // "streamID/trackID" per OnTrack
	rxTrack map[string]*webrtc.TrackRemote
}

type clientOpt func(*testClient) error

func withVideo() clientOpt {
	return func(c *testClient) (err error) {
		c.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", c.userID)
		return err
	}
}

func withRTPAudio() clientOpt {
	return func(c *testClient) (err error) {
		c.rtpAudio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", c.userID)
		return err
	}
}

func withOnPacket(f func()) clientOpt {
	return func(c *testClient) error { c.onPacket = f; return nil }
}

func withSilence() clientOpt {
	return func(c *testClient) error { c.silent = true; return nil }
}

func withBeforeAnswer(f func(offer string)) clientOpt {
	return func(c *testClient) error { c.beforeAnswer = f; return nil }
}

// newClient creates the client, adds its peer to the SFU and starts it.
func newClient(t testing.TB, s *SFU, api *webrtc.API, callID, userID, deviceID string, opts ...clientOpt) *testClient {
	t.Helper()
	answer := func(sig protocol.MediaSignal) error { return s.HandleSignal(callID, deviceID, sig) }
	c, err := startClient(api, answer, callID, userID, deviceID, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	if err := s.AddPeer(callID, userID, deviceID, c.sendFunc); err != nil {
		t.Fatal(err)
	}
	return c
}

func startClient(api *webrtc.API, answer func(protocol.MediaSignal) error, callID, userID, deviceID string, opts ...clientOpt) (*testClient, error) {
	c := &testClient{
		answer: answer, callID: callID, userID: userID, deviceID: deviceID,
		sigs:    make(chan protocol.MediaSignal, 64),
		done:    make(chan struct{}),
		streams: map[string]*rxStream{},
		rxTrack: map[string]*webrtc.TrackRemote{},
	}
	for _, o := range opts {
		if err := o(c); err != nil {
			return nil, err
		}
	}
	var err error
	c.audio, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", userID)
	if err != nil {
		return nil, err
	}
	c.pc, err = api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	c.pc.OnTrack(c.onTrack)
	c.wg.Add(1)
	go c.signaling()
	return c, nil
}

func (c *testClient) sendFunc(sig protocol.MediaSignal) {
	if sig.CallID != c.callID {
		c.answerErr.Store(fmt.Errorf("signal for call %q", sig.CallID))
	}
	select {
	case c.sigs <- sig:
	case <-c.done:
	}
}

func (c *testClient) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.pc.Close()
		c.wg.Wait()
	})
}

func (c *testClient) signaling() {
	defer c.wg.Done()
	attached := false
	for {
		var sig protocol.MediaSignal
		select {
		case sig = <-c.sigs:
		case <-c.done:
			return
		}
		switch sig.Kind {
		case protocol.MediaClose:
			c.gotClose.Store(true)
		case protocol.MediaOffer:
			if c.answerOffer(sig.SDP, &attached) {
				return
			}
		default:
			c.answerErr.Store(fmt.Errorf("unexpected signal %q", sig.Kind))
		}
	}
}

// answerOffer answers an offer of the SFU, attaching the uplink tracks
// to the first; errors go to answerErr. It returns true when the client
// closed meanwhile.
func (c *testClient) answerOffer(sdp string, attached *bool) (closed bool) {
	c.offers.Add(1)
	if c.beforeAnswer != nil {
		c.beforeAnswer(sdp)
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		c.answerErr.Store(err)
		return false
	}
	if !*attached {
		*attached = true
		c.attachUplink()
	}
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		c.answerErr.Store(err)
		return false
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(answer); err != nil {
		c.answerErr.Store(err)
		return false
	}
	select {
	case <-gathered:
	case <-c.done:
		return true
	}
	if err := c.answer(protocol.MediaSignal{
		Kind: protocol.MediaAnswer, CallID: c.callID, SDP: c.pc.LocalDescription().SDP,
	}); err != nil {
		c.answerErr.Store(err)
	}
	return false
}

// attachUplink attaches the client's audio (and video) track; errors go
// to answerErr.
func (c *testClient) attachUplink() {
	var audio webrtc.TrackLocal = c.audio
	if c.rtpAudio != nil {
		audio = c.rtpAudio
	}
	if err := c.attach(audio, "0"); err != nil {
		c.answerErr.Store(err)
	}
	if c.video != nil {
		if err := c.attach(c.video, "1"); err != nil {
			c.answerErr.Store(err)
		}
	}
}

// attach puts a track on the transceiver the SFU offered for the uplink
// (pion's AddTrack reuses the first free transceiver of the kind) and starts
// sending.
func (c *testClient) attach(track webrtc.TrackLocal, mid string) error {
	snd, err := c.pc.AddTrack(track)
	if err != nil {
		return err
	}
	for _, tr := range c.pc.GetTransceivers() {
		if tr.Sender() == snd && tr.Mid() != mid {
			return fmt.Errorf("track %s went on mid %q, want %q", track.ID(), tr.Mid(), mid)
		}
	}
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		for {
			pkts, _, err := snd.ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				switch p := p.(type) {
				case *rtcp.PictureLossIndication:
					c.plis.Add(1)
				case *rtcp.TransportLayerNack:
					c.nackMu.Lock()
					for _, pair := range p.Nacks {
						c.nacked = append(c.nacked, pair.PacketList()...)
					}
					c.nackMu.Unlock()
				}
			}
		}
	}()
	if track == c.rtpAudio || c.silent {
		c.wg.Done()
		return nil
	}
	go func() {
		defer c.wg.Done()
		c.sendLoop(track)
	}()
	return nil
}

func (c *testClient) sendLoop(track webrtc.TrackLocal) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-tick.C:
		case <-c.done:
			return
		}
		payload := []byte(fmt.Sprintf("%s-%d", c.userID, i))
		switch tr := track.(type) {
		case *webrtc.TrackLocalStaticSample:
			_ = tr.WriteSample(media.Sample{Data: payload, Duration: 20 * time.Millisecond})
		case *webrtc.TrackLocalStaticRTP:
			_ = tr.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i) * 3000, Marker: true}, Payload: payload})
		}
	}
}

func (c *testClient) onTrack(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	key := tr.StreamID() + "/" + tr.Kind().String()
	c.mu.Lock()
	c.tracks = append(c.tracks, tr.StreamID()+"/"+tr.ID())
	c.rxTrack[key] = tr
	c.mu.Unlock()
	if c.onPacket != nil {
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
			c.onPacket()
		}
	}
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		c.mu.Lock()
		st := c.streams[key]
		if st == nil {
			st = &rxStream{track: tr.ID()}
			c.streams[key] = st
		}
		st.count++
		if len(st.payloads) < 20 {
			st.payloads = append(st.payloads, string(pkt.Payload))
		}
		c.mu.Unlock()
	}
}

// count is how many audio packets came from user.
// nacks returns the sequence numbers the SFU asked this device for.
func (c *testClient) nacks() []uint16 {
	c.nackMu.Lock()
	defer c.nackMu.Unlock()
	return append([]uint16(nil), c.nacked...)
}

func (c *testClient) count(user string) int { return c.countKind(user, "audio") }

func (c *testClient) countKind(user, kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.streams[user+"/"+kind]; st != nil {
		return st.count
	}
	return 0
}

func (c *testClient) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, st := range c.streams {
		n += st.count
	}
	return n
}

func (c *testClient) stream(user, kind string) rxStream {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.streams[user+"/"+kind]; st != nil {
		return rxStream{count: st.count, payloads: append([]string(nil), st.payloads...), track: st.track}
	}
	return rxStream{}
}

func (c *testClient) onTracks() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.tracks...)
}

func (c *testClient) err() error {
	if e, ok := c.answerErr.Load().(error); ok {
		return e
	}
	return nil
}

func (c *testClient) connected() bool {
	return c.pc.ConnectionState() == webrtc.PeerConnectionStateConnected
}

func hasPrefixAll(ss []string, prefix string) bool {
	for _, s := range ss {
		if !strings.HasPrefix(s, prefix) {
			return false
		}
	}
	return len(ss) > 0
}
