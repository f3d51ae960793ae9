package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/google/go-cmp/cmp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/protocol"
)

// fakeSignaling is a tiny stand-in for the termcall server: it logs one
// engine in, answers its requests, and lets the test push frames to it.
type fakeSignaling struct {
	t   *testing.T
	srv *httptest.Server

	mu sync.Mutex
	ws *websocket.Conn

	answers chan string   // SDPs of the engine's answers
	states  chan bool     // the engine's audio states
	done    chan struct{} // closed when the engine's connection ended
}

func newFakeSignaling(t *testing.T) *fakeSignaling {
	t.Helper()
	f := &fakeSignaling{t: t, answers: make(chan string, 8), states: make(chan bool, 8), done: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.handle))
	return f
}

// close waits for the engine's connection to end, then stops the server.
func (f *fakeSignaling) close() {
	f.t.Helper()
	select {
	case <-f.done:
	case <-time.After(15 * time.Second):
		f.t.Error("the engine's connection did not end")
	}
	f.srv.Close()
}

func (f *fakeSignaling) handle(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer close(f.done)
	defer ws.CloseNow()
	ctx := r.Context()
	for {
		_, data, err := ws.Read(ctx)
		if err != nil {
			return
		}
		m, err := protocol.Decode(data)
		if err != nil {
			f.t.Errorf("engine sent a bad frame: %v", err)
			return
		}
		var reply any
		switch m.Type {
		case protocol.TypeLogin:
			f.mu.Lock()
			f.ws = ws
			f.mu.Unlock()
			reply = protocol.LoginReply{UserID: "alice", DeviceID: "d1", Calls: []protocol.CallState{}}
		case protocol.TypeCall:
			reply = protocol.CallReply{Call: protocol.CallState{CallID: "c1", RoomID: IntRoom(7), Scene: SceneSingleCall,
				MediaType: MediaTypeAudio, Inviter: "alice", Role: RoleCaller, Status: StatusWaiting,
				Participants: []protocol.Participant{{UserID: "alice", Role: RoleCaller, Status: StatusAccept}, {UserID: "bob", Role: RoleCalled, Status: StatusWaiting}}}}
		case protocol.TypeMedia:
			var sig protocol.MediaSignal
			if err := protocol.DecodeData(m.Data, &sig); err != nil {
				f.t.Errorf("engine sent a bad media signal: %v", err)
			}
			switch {
			case sig.CallID != "c1":
				f.t.Errorf("media signal for call %q, want c1", sig.CallID)
			case sig.Kind == protocol.MediaAnswer:
				f.answers <- sig.SDP
			case sig.Kind == protocol.MediaState && sig.Audio != nil && sig.Video == nil:
				f.states <- *sig.Audio
			default:
				f.t.Errorf("unexpected media signal %+v", sig)
			}
		}
		b, _ := protocol.Encode(protocol.TypeReply, m.ID, reply)
		f.write(b)
	}
}

func (f *fakeSignaling) write(b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = f.ws.Write(ctx, websocket.MessageText, b) // the engine may be gone
}

func (f *fakeSignaling) send(typ string, data any) {
	f.t.Helper()
	b, err := protocol.Encode(typ, 0, data)
	if err != nil {
		f.t.Fatal(err)
	}
	f.write(b)
}

// fakeSource produces distinct frames "alice-N" every 20 ms at a fixed level.
type fakeSource struct {
	level int
	reads atomic.Int64
}

func (s *fakeSource) ReadOpusFrame(ctx context.Context) ([]byte, int, error) {
	t := time.NewTimer(20 * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	case <-t.C:
	}
	return fmt.Appendf(nil, "alice-%d", s.reads.Add(1)), s.level, nil
}

// fakeSink records what the engine delivers.
type fakeSink struct {
	mu      sync.Mutex
	got     map[string][][]byte
	removed []string
}

func (s *fakeSink) WriteRTP(user string, pkt *rtp.Packet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.got == nil {
		s.got = map[string][][]byte{}
	}
	s.got[user] = append(s.got[user], pkt.Payload)
}

func (s *fakeSink) RemoveUser(user string) {
	s.mu.Lock()
	s.removed = append(s.removed, user)
	s.mu.Unlock()
}

func (s *fakeSink) snapshot() (map[string][][]byte, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	got := map[string][][]byte{}
	for u, p := range s.got {
		got[u] = append([][]byte(nil), p...)
	}
	return got, append([]string(nil), s.removed...)
}

// eventLog records an engine's events.
type eventLog struct {
	mu  sync.Mutex
	evs []Event
}

func (l *eventLog) OnEvent(ev Event) {
	l.mu.Lock()
	l.evs = append(l.evs, ev)
	l.mu.Unlock()
}

func (l *eventLog) find(pred func(Event) bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ev := range l.evs {
		if pred(ev) {
			return true
		}
	}
	return false
}

func recv[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(15 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	panic("unreachable")
}

// uplinkPacket is what the fake SFU receives from the engine.
type uplinkPacket struct {
	payload string
	marker  bool
	level   int // -1 without the extension
}

// fakeSFU is the SFU side of TestMediaAudioCall: a PeerConnection with a
// recvonly audio transceiver for alice, whose packets it passes to uplink,
// and bob's track.
type fakeSFU struct {
	pc     *webrtc.PeerConnection
	bob    *webrtc.TrackLocalStaticRTP
	bobTr  *webrtc.RTPTransceiver
	uplink chan uplinkPacket
	stop   context.CancelFunc
	ctx    context.Context
	wg     sync.WaitGroup
}

func newFakeSFU(ctx context.Context, t *testing.T) *fakeSFU {
	t.Helper()
	api, err := newMediaAPI(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeSFU{uplink: make(chan uplinkPacket, 1024)}
	if s.pc, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	s.ctx, s.stop = context.WithCancel(ctx)
	if _, err := s.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	if s.bob, err = webrtc.NewTrackLocalStaticRTP(opusCapability, "audio", "bob"); err != nil {
		t.Fatal(err)
	}
	if s.bobTr, err = s.pc.AddTransceiverFromTrack(s.bob, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	s.pc.OnTrack(func(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		if tr.StreamID() != "alice" || tr.Codec().PayloadType != opusPayloadType {
			t.Errorf("SFU got track stream %q PT %d, want alice 111", tr.StreamID(), tr.Codec().PayloadType)
		}
		s.readUplink(tr, headerExtensionID(recv.GetParameters().HeaderExtensions, audioLevelURI))
	})
	return s
}

// readUplink passes alice's packets, with their level (-1 without the
// extension id), to s.uplink until the track ends.
func (s *fakeSFU) readUplink(tr *webrtc.TrackRemote, id uint8) {
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		p := uplinkPacket{payload: string(pkt.Payload), marker: pkt.Marker, level: -1}
		if b := pkt.GetExtension(id); id != 0 && len(b) > 0 {
			var a rtp.AudioLevelExtension
			if a.Unmarshal(b) == nil {
				p.level = dBovToLevel(a.Level)
			}
		}
		select {
		case s.uplink <- p:
		default:
		}
	}
}

// close stops bob talking and closes the PeerConnection.
func (s *fakeSFU) close() {
	s.stop()
	s.wg.Wait()
	_ = s.pc.GracefulClose()
}

// negotiate sends the engine the SFU's offer for call c1 and applies the
// engine's answer, which it returns.
func (s *fakeSFU) negotiate(t *testing.T, f *fakeSignaling) string {
	t.Helper()
	offer, err := s.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(s.pc)
	if err := s.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	f.send(protocol.TypeMedia, protocol.MediaSignal{Kind: protocol.MediaOffer, CallID: "c1", SDP: s.pc.LocalDescription().SDP})

	answer := recv(t, "the engine's answer", f.answers)
	checkAudioAnswer(t, answer)
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	return answer
}

// checkAudioAnswer checks the engine's answer to the audio offer: it sends
// on the first transceiver and receives on the second, with Opus, the
// audio-level extension, alice's msid and a host candidate.
func checkAudioAnswer(t *testing.T, answer string) {
	t.Helper()
	var parsed sdp.SessionDescription
	if err := parsed.UnmarshalString(answer); err != nil {
		t.Fatalf("answer: %v", err)
	}
	var dirs []string
	for _, md := range parsed.MediaDescriptions {
		for _, a := range md.Attributes {
			switch a.Key {
			case "sendonly", "recvonly", "sendrecv", "inactive":
				dirs = append(dirs, md.MediaName.Media+":"+a.Key)
			}
		}
	}
	if diff := cmp.Diff([]string{"audio:sendonly", "audio:recvonly"}, dirs); diff != "" {
		t.Errorf("answer directions (-want +got):\n%s", diff)
	}
	for _, want := range []string{"opus/48000/2", audioLevelURI, "msid:alice audio", "typ host"} {
		if !strings.Contains(answer, want) {
			t.Errorf("answer lacks %q:\n%s", want, answer)
		}
	}
}

// bobTalks sends bob's frames "bob-1", "bob-2", ... every 20 ms at
// -10 dBov (level 90) until close.
func (s *fakeSFU) bobTalks(t *testing.T) {
	t.Helper()
	levelID := headerExtensionID(s.bobTr.Sender().GetParameters().HeaderExtensions, audioLevelURI)
	if levelID == 0 {
		t.Fatal("audio-level extension not negotiated")
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 1; ; i++ {
			select {
			case <-s.ctx.Done():
				return
			case <-tick.C:
			}
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * opusFrameTicks)},
				Payload: fmt.Appendf(nil, "bob-%d", i)}
			ext, _ := rtp.AudioLevelExtension{Level: 10, Voice: true}.Marshal()
			_ = pkt.Header.SetExtension(levelID, ext)
			_ = s.bob.WriteRTP(pkt)
		}
	}()
}

// checkUplinkInOrder checks that alice's frames reach the SFU in order with
// level 70, the first one alice-1 with the marker, up to alice-10.
func checkUplinkInOrder(t *testing.T, uplink <-chan uplinkPacket) {
	t.Helper()
	first := recv(t, "alice's first packet", uplink)
	if first.payload != "alice-1" || !first.marker || first.level != 70 {
		t.Errorf("first uplink packet = %+v, want alice-1, marker, level 70", first)
	}
	last := 1
	for last < 10 {
		p := recv(t, "alice's packets", uplink)
		var n int
		if _, err := fmt.Sscanf(p.payload, "alice-%d", &n); err != nil || n <= last || p.level != 70 {
			t.Fatalf("uplink packet %+v after alice-%d", p, last)
		}
		last = n
	}
}

// checkSinkInOrder checks that bob's frames reached the sink in order and
// whole.
func checkSinkInOrder(t *testing.T, sink *fakeSink) {
	t.Helper()
	got, _ := sink.snapshot()
	prev := 0
	for _, p := range got["bob"] {
		var n int
		if _, err := fmt.Sscanf(string(p), "bob-%d", &n); err != nil || n <= prev {
			t.Fatalf("sink got %q after bob-%d", p, prev)
		}
		prev = n
	}
}

// await waits for an event that pred accepts among those logged.
func (l *eventLog) await(t *testing.T, what string, pred func(Event) bool) {
	t.Helper()
	testutil.Until(t, what, 15*time.Second, func() bool { return l.find(pred) })
}

// goodQualities reports whether ev is a quality change that lists alice then bob, each with a
// quality from excellent to poor.
func goodQualities(ev Event) bool {
	q, ok := ev.(UserNetworkQualityChanged)
	if !ok || len(q.NetworkQualityList) != 2 {
		return false
	}
	a, b := q.NetworkQualityList[0], q.NetworkQualityList[1]
	good := func(q NetworkQuality) bool { return q >= NetworkQualityExcellent && q <= NetworkQualityPoor }
	return a.UserID == "alice" && good(a.Quality) && b.UserID == "bob" && good(b.Quality)
}

// checkMuteUnmute checks that muting stops the uplink and tells the
// server, and that unmuting resumes it with a new talkspurt.
func checkMuteUnmute(ctx context.Context, t *testing.T, e *Engine, f *fakeSignaling, uplink chan uplinkPacket) {
	t.Helper()
	if err := e.CloseMicrophone(ctx); err != nil {
		t.Fatal(err)
	}
	if recv(t, "the muted state", f.states) {
		t.Error("state after CloseMicrophone is true")
	}
	time.Sleep(100 * time.Millisecond)
	for len(uplink) > 0 {
		<-uplink
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(uplink); n != 0 {
		t.Errorf("%d packets sent with the microphone closed", n)
	}
	if err := e.OpenMicrophone(ctx); err != nil {
		t.Fatal(err)
	}
	if !recv(t, "the unmuted state", f.states) {
		t.Error("state after OpenMicrophone is false")
	}
	if p := recv(t, "audio after unmuting", uplink); !p.marker {
		t.Errorf("first packet after unmuting %+v has no marker", p)
	}
}

// checkMediaClosed checks that after the call ended the sink forgot bob,
// the media closed and the source is no longer read.
func checkMediaClosed(t *testing.T, e *Engine, src *fakeSource, sink *fakeSink) {
	t.Helper()
	testutil.Until(t, "RemoveUser(bob)", 15*time.Second, func() bool {
		_, removed := sink.snapshot()
		return len(removed) == 1 && removed[0] == "bob"
	})
	testutil.Until(t, "the media to close", 15*time.Second, func() bool {
		e.media.mu.Lock()
		defer e.media.mu.Unlock()
		return len(e.media.calls) == 0
	})
	reads := src.reads.Load()
	time.Sleep(100 * time.Millisecond)
	if n := src.reads.Load(); n != reads {
		t.Errorf("the source is still read after the call ended (%d then %d)", reads, n)
	}
}

// TestMediaAudioCall runs a 1v1 audio call against a fake server acting as
// the SFU with its own PeerConnection: the engine answers its offer, sends
// its source's frames only once the call is connected and while the
// microphone is open, hands bob's frames to the sink, reports volumes and
// availability, and closes the media when the call ends.
func TestMediaAudioCall(t *testing.T) {
	f := newFakeSignaling(t)
	defer f.close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	e, err := New(Options{Server: f.srv.URL, NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Destroy()
	events := &eventLog{}
	e.AddObserver(events)
	src, sink := &fakeSource{level: 70}, &fakeSink{}
	e.SetAudio(src, sink)
	if err := e.Init(ctx, 1400000001, "alice", "sig"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Call(ctx, "bob", MediaTypeAudio, CallParams{RoomID: IntRoom(7)}); err != nil {
		t.Fatal(err)
	}

	// The SFU side: a recvonly audio transceiver for alice, bob's track.
	sfu := newFakeSFU(ctx, t)
	defer sfu.close()
	sfu.negotiate(t, f)
	if !recv(t, "the engine's audio state", f.states) {
		t.Error("first audio state is false, want true (a source is set, the microphone open)")
	}

	// bob talks loudly (-10 dBov: level 90) from now on.
	sfu.bobTalks(t)

	// Media is up while ringing, but nothing is sent before the call connects.
	testutil.Until(t, "bob's audio at the sink", 15*time.Second, func() bool {
		got, _ := sink.snapshot()
		return len(got["bob"]) >= 5
	})
	if n := src.reads.Load(); n != 0 {
		t.Fatalf("the source was read %d times before the call connected", n)
	}
	select {
	case p := <-sfu.uplink:
		t.Fatalf("the SFU got %q before the call connected", p.payload)
	default:
	}
	f.send(protocol.TypeEvent, protocol.Event{Event: protocol.EventCallBegin, Seq: 1, CallID: "c1", MediaType: MediaTypeAudio, Role: RoleCaller})

	// alice's frames reach the SFU in order, with their level; bob's reach
	// the sink, in order and whole.
	checkUplinkInOrder(t, sfu.uplink)
	checkSinkInOrder(t, sink)

	// Volumes: both talk.
	events.await(t, "UserVoiceVolumeChanged with alice 70 and bob 90", func(ev Event) bool {
		v, ok := ev.(UserVoiceVolumeChanged)
		return ok && v.VolumeMap["alice"] == 70 && v.VolumeMap["bob"] == 90
	})

	// Network quality on loopback: alice's uplink from the SFU's receiver
	// reports, bob's from what the engine receives.
	events.await(t, "UserNetworkQualityChanged", goodQualities)

	// The server reports bob's microphone.
	f.send(protocol.TypeEvent, protocol.Event{Event: protocol.EventUserAudioAvailable, Seq: 2, CallID: "c1", UserID: "bob", Available: new(true)})
	events.await(t, "UserAudioAvailable", func(ev Event) bool {
		return cmp.Equal(ev, UserAudioAvailable{CallID: "c1", UserID: "bob", IsAudioAvailable: true})
	})

	// Muting stops the uplink and tells the server; unmuting resumes it
	// with a new talkspurt.
	checkMuteUnmute(ctx, t, e, f, sfu.uplink)

	// The call ends: the media closes and the sink forgets bob.
	f.send(protocol.TypeEvent, protocol.Event{Event: protocol.EventCallEnd, Seq: 3, CallID: "c1", MediaType: MediaTypeAudio, Role: RoleCaller, Reason: ReasonHangup, UserID: "bob"})
	checkMediaClosed(t, e, src, sink)
	sfu.stop()
	e.Destroy()
}

// TestMediaDestroyDuringCall: Destroy closes a call's media and stops all
// its goroutines (goleak checks in TestMain), with audio flowing.
func TestMediaDestroyDuringCall(t *testing.T) {
	f := newFakeSignaling(t)
	defer f.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := New(Options{Server: f.srv.URL, NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	src := &fakeSource{level: 50}
	e.SetAudio(src, &fakeSink{})
	if err := e.Init(ctx, 1400000001, "alice", "sig"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Call(ctx, "bob", MediaTypeAudio, CallParams{RoomID: IntRoom(7)}); err != nil {
		t.Fatal(err)
	}
	api, err := newMediaAPI(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	spc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer spc.GracefulClose() //nolint:errcheck
	if _, err := spc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	offer, _ := spc.CreateOffer(nil)
	gathered := webrtc.GatheringCompletePromise(spc)
	if err := spc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	f.send(protocol.TypeMedia, protocol.MediaSignal{Kind: protocol.MediaOffer, CallID: "c1", SDP: spc.LocalDescription().SDP})
	answer := recv(t, "the engine's answer", f.answers)
	if err := spc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	recv(t, "the audio state", f.states)
	f.send(protocol.TypeEvent, protocol.Event{Event: protocol.EventCallBegin, Seq: 1, CallID: "c1", MediaType: MediaTypeAudio, Role: RoleCaller})
	testutil.Until(t, "the source to be read", 15*time.Second, func() bool { return src.reads.Load() > 3 })
	e.Destroy()
	e.media.mu.Lock()
	n := len(e.media.calls)
	e.media.mu.Unlock()
	if n != 0 {
		t.Errorf("%d calls' media left after Destroy", n)
	}
}

func TestLevelMapping(t *testing.T) {
	for _, tc := range []struct {
		level int
		dBov  uint8
	}{{0, 127}, {-5, 127}, {1, 99}, {40, 60}, {90, 10}, {100, 0}, {120, 0}} {
		if got := levelToDBov(tc.level); got != tc.dBov {
			t.Errorf("levelToDBov(%d) = %d, want %d", tc.level, got, tc.dBov)
		}
	}
	for l := 0; l <= 100; l++ {
		if got := dBovToLevel(levelToDBov(l)); got != l {
			t.Errorf("dBovToLevel(levelToDBov(%d)) = %d", l, got)
		}
	}
	if got := dBovToLevel(110); got != 0 {
		t.Errorf("dBovToLevel(110) = %d, want 0", got)
	}
}

func TestQualityOf(t *testing.T) {
	for _, tc := range []struct {
		loss, jitter, rtt float64
		want              NetworkQuality
	}{
		{0, 5, 20, NetworkQualityExcellent},
		{0, 5, -1, NetworkQualityExcellent},
		{2, 5, 20, NetworkQualityGood},
		{0, 50, 20, NetworkQualityPoor},
		{0, 5, 400, NetworkQualityBad},
		{20, 5, 20, NetworkQualityVbad},
		{50, 5, 20, NetworkQualityDown},
		{0, 5, 5000, NetworkQualityDown},
	} {
		if got := qualityOf(tc.loss, tc.jitter, tc.rtt); got != tc.want {
			t.Errorf("qualityOf(%v, %v, %v) = %v, want %v", tc.loss, tc.jitter, tc.rtt, got, tc.want)
		}
	}
}

func TestInboundStats(t *testing.T) {
	s := newInboundStats(48000)
	now := s.epoch
	// 100 packets with sequence numbers wrapping, every 10th lost, perfectly paced.
	for i := 0; i < 100; i++ {
		if i%10 == 5 {
			continue
		}
		h := &rtp.Header{SequenceNumber: uint16(65500 + i), Timestamp: uint32(i * 960)}
		s.packet(h, now.Add(time.Duration(i)*20*time.Millisecond), 30+i%3)
	}
	if got := s.takeLevel(); got != 32 {
		t.Errorf("level = %d, want 32", got)
	}
	if got := s.takeLevel(); got != 0 {
		t.Errorf("level after take = %d, want 0", got)
	}
	// 10 % loss, no jitter: Bad.
	if got := s.takeQuality(); got != NetworkQualityBad {
		t.Errorf("quality = %v, want bad (jitter %v)", got, s.jitter)
	}
	if got := s.takeQuality(); got != NetworkQualityUnknown {
		t.Errorf("quality of an empty interval = %v, want unknown", got)
	}
}

func TestRTTFromReport(t *testing.T) {
	sent := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	lsr := ntpMiddle(sent)
	dlsr := uint32(65536 / 10) // the server held it 100 ms
	got := rttFromReport(lsr, dlsr, sent.Add(150*time.Millisecond))
	if got < 49 || got > 51 {
		t.Errorf("rtt = %v ms, want 50", got)
	}
	if got := rttFromReport(0, 0, sent); got != -1 {
		t.Errorf("rtt without LSR = %v, want -1", got)
	}
}

func TestMediaEventsWire(t *testing.T) {
	ev := fromWire(&protocol.Event{Event: protocol.EventUserVideoAvailable, CallID: "c1", UserID: "bob", Available: new(true)})
	if diff := cmp.Diff(Event(UserVideoAvailable{CallID: "c1", UserID: "bob", IsVideoAvailable: true}), ev); diff != "" {
		t.Errorf("fromWire (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		ev   Event
		want string
	}{
		{UserAudioAvailable{CallID: "c1", UserID: "bob", IsAudioAvailable: false},
			`{"event":"onUserAudioAvailable","callId":"c1","userId":"bob","isAudioAvailable":false}`},
		{UserVoiceVolumeChanged{VolumeMap: map[string]int{"alice": 3, "bob": 90}},
			`{"event":"onUserVoiceVolumeChanged","volumeMap":{"alice":3,"bob":90}}`},
		{UserNetworkQualityChanged{NetworkQualityList: []NetworkQualityInfo{{UserID: "alice", Quality: NetworkQualityGood}}},
			`{"event":"onUserNetworkQualityChanged","networkQualityList":[{"userId":"alice","quality":2}]}`},
	} {
		b, err := MarshalEvent(tc.ev)
		if err != nil || !bytes.Equal(b, []byte(tc.want)) {
			t.Errorf("MarshalEvent(%T):\n got %s %v\nwant %s", tc.ev, b, err, tc.want)
		}
		if !json.Valid(b) {
			t.Errorf("invalid JSON %s", b)
		}
	}
}

// TestMediaCloseSignal: the server's "close" ends a call's media even
// before ICE connected, and a later offer for the call starts afresh.
func TestMediaCloseSignal(t *testing.T) {
	f := newFakeSignaling(t)
	defer f.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	e, err := New(Options{Server: f.srv.URL, NoReconnect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Destroy()
	if err := e.Init(ctx, 1400000001, "alice", "sig"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Call(ctx, "bob", MediaTypeAudio, CallParams{RoomID: IntRoom(7)}); err != nil {
		t.Fatal(err)
	}
	api, err := newMediaAPI(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	mediaCalls := func() int {
		e.media.mu.Lock()
		defer e.media.mu.Unlock()
		return len(e.media.calls)
	}
	for round := 0; round < 2; round++ {
		spc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := spc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
		offer, _ := spc.CreateOffer(nil)
		gathered := webrtc.GatheringCompletePromise(spc)
		if err := spc.SetLocalDescription(offer); err != nil {
			t.Fatal(err)
		}
		<-gathered
		f.send(protocol.TypeMedia, protocol.MediaSignal{Kind: protocol.MediaOffer, CallID: "c1", SDP: spc.LocalDescription().SDP})
		recv(t, "the engine's answer", f.answers)
		if mediaCalls() != 1 {
			t.Fatalf("round %d: %d calls' media, want 1", round, mediaCalls())
		}
		// No audio source: the engine says it sends no audio.
		if recv(t, "the audio state", f.states) {
			t.Error("audio state true without a source")
		}
		f.send(protocol.TypeMedia, protocol.MediaSignal{Kind: protocol.MediaClose, CallID: "c1"})
		testutil.Until(t, "the media to close", 15*time.Second, func() bool { return mediaCalls() == 0 })
		_ = spc.GracefulClose()
	}
}
