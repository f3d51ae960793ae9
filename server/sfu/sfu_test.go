package sfu

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pion/dtls/v3"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/protocol"
)

func TestMain(m *testing.M) {
	if v := os.Getenv(benchHelperEnv); v != "" {
		n, _ := strconv.Atoi(v)
		if err := benchHelper(n); err != nil {
			fmt.Fprintln(os.Stderr, "bench helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

const flowTimeout = 10 * time.Second

func codeOf(err error) protocol.Code { return protocol.CodeOf(err) }

// Two connected peers hear each other, with the right stream IDs, and
// nothing of their own comes back.
func TestTwoPeersForward(t *testing.T) {
	s := newTestSFU(t, nil)
	api := clientAPI(t)
	a := newClient(t, s, api, "call1", "alice", "devA")
	b := newClient(t, s, api, "call1", "bob", "devB")
	s.SetConnected("call1", "devA", true)
	s.SetConnected("call1", "devB", true)

	testutil.Until(t, "audio both ways", flowTimeout, func() bool { return a.count("bob") >= 20 && b.count("alice") >= 20 })
	for _, c := range []*testClient{a, b} {
		if err := c.err(); err != nil {
			t.Fatalf("%s: %v", c.userID, err)
		}
	}
	for _, h := range []struct {
		c         *testClient
		from, own string
	}{{a, "bob", "her"}, {b, "alice", "his"}} {
		if st := h.c.stream(h.from, "audio"); st.track != "audio-"+h.from || !hasPrefixAll(st.payloads, h.from+"-") {
			t.Errorf("%s got from %s: track %q payloads %q", h.c.userID, h.from, st.track, st.payloads)
		}
		if n := h.c.count(h.c.userID); n != 0 {
			t.Errorf("%s got %d packets of %s own", h.c.userID, n, h.own)
		}
	}
	if diff := cmp.Diff([]string{"bob/audio-bob"}, a.onTracks()); diff != "" {
		t.Errorf("alice's tracks (-want +got):\n%s", diff)
	}
	st := s.Stats()
	if st.Calls != 1 || st.Peers != 2 || st.PacketsForwarded < 40 || st.BytesForwarded == 0 || st.PacketsIn < st.PacketsForwarded {
		t.Errorf("stats %+v", st)
	}
}

// TestUplinkNack: packets missing from a device's audio are asked for
// (RTCP NACK, at the device), and nothing else is.
func TestUplinkNack(t *testing.T) {
	s := newTestSFU(t, nil)
	api := clientAPI(t)
	a := newClient(t, s, api, "call1", "alice", "devA", withRTPAudio())
	b := newClient(t, s, api, "call1", "bob", "devB")
	s.SetConnected("call1", "devA", true)
	s.SetConnected("call1", "devB", true)
	testutil.Until(t, "alice's audio track up", flowTimeout, func() bool { return a.connected() && b.connected() })
	seq := uint16(100)
	send := func(n int, skip bool) {
		for range n {
			if !skip {
				_ = a.rtpAudio.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: []byte("alice-x")})
				time.Sleep(2 * time.Millisecond)
			}
			seq++
		}
	}
	// Until bob hears alice (the uplink is up), then 2 lost, then more.
	deadline := time.Now().Add(flowTimeout)
	for b.count("alice") < 5 {
		if time.Now().After(deadline) {
			t.Fatal("bob does not hear alice")
		}
		send(1, false)
	}
	lost := []uint16{seq, seq + 1}
	send(2, true)
	send(20, false)
	testutil.Until(t, "a NACK of the 2 lost packets at alice", flowTimeout, func() bool {
		got := a.nacks()
		return slices.Contains(got, lost[0]) && slices.Contains(got, lost[1])
	})
	for _, q := range a.nacks() {
		if q != lost[0] && q != lost[1] {
			t.Errorf("the SFU asked for packet %d, which arrived (lost: %v)", q, lost)
		}
	}
}

// TestSRTPProfiles: devices offering only one SRTP profile each — AES-CM
// with HMAC-SHA1 (no GCM), AES-256-GCM, AES-128-GCM — all connect and
// exchange audio with a device offering pion's defaults.
func TestSRTPProfiles(t *testing.T) {
	s := newTestSFU(t, nil)
	for i, prof := range []dtls.SRTPProtectionProfile{dtls.SRTP_AES128_CM_HMAC_SHA1_80, dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AEAD_AES_128_GCM} {
		call := fmt.Sprintf("call%d", i)
		only, err := makeClientAPIWith(prof)
		if err != nil {
			t.Fatal(err)
		}
		a := newClient(t, s, only, call, "alice", "devA"+call)
		b := newClient(t, s, clientAPI(t), call, "bob", "devB"+call)
		s.SetConnected(call, "devA"+call, true)
		s.SetConnected(call, "devB"+call, true)
		testutil.Until(t, fmt.Sprintf("audio both ways with a device offering only %v", prof), flowTimeout, func() bool {
			return a.count("bob") >= 10 && b.count("alice") >= 10
		})
		s.EndCall(call)
	}
}

// A ringing peer neither receives nor leaks; it flows once connected and
// stops once removed.
func TestGating(t *testing.T) {
	s := newTestSFU(t, nil)
	api := clientAPI(t)
	a := newClient(t, s, api, "call1", "alice", "devA")
	b := newClient(t, s, api, "call1", "bob", "devB")
	c := newClient(t, s, api, "call1", "carol", "devC")
	s.SetConnected("call1", "devA", true)
	s.SetConnected("call1", "devB", true)

	testutil.Until(t, "alice and bob talking, carol's transport up", flowTimeout, func() bool {
		return a.count("bob") >= 10 && b.count("alice") >= 10 && c.connected()
	})
	before := s.Stats().PacketsDropped
	testutil.Until(t, "carol's packets dropped", flowTimeout, func() bool { return s.Stats().PacketsDropped >= before+50 })
	if n := a.count("carol") + b.count("carol"); n != 0 {
		t.Errorf("ringing carol leaked %d packets", n)
	}
	if n := c.total(); n != 0 {
		t.Errorf("ringing carol received %d packets", n)
	}

	s.SetConnected("call1", "devC", true)
	testutil.Until(t, "carol in the call", flowTimeout, func() bool {
		return a.count("carol") >= 10 && b.count("carol") >= 10 && c.count("alice") >= 10 && c.count("bob") >= 10
	})
	if st := a.stream("carol", "audio"); !hasPrefixAll(st.payloads, "carol-") {
		t.Errorf("alice got from carol: %q", st.payloads)
	}

	offersA := a.offers.Load()
	s.RemovePeer("call1", "devC")
	testutil.Until(t, "carol told to close", flowTimeout, c.gotClose.Load)
	testutil.Until(t, "alice renegotiated", flowTimeout, func() bool { return a.offers.Load() > offersA })
	time.Sleep(100 * time.Millisecond)
	na, nb := a.count("carol"), b.count("carol")
	ab := a.count("bob")
	time.Sleep(400 * time.Millisecond)
	if a.count("carol") != na || b.count("carol") != nb {
		t.Errorf("carol still heard after removal: %d->%d, %d->%d", na, a.count("carol"), nb, b.count("carol"))
	}
	if a.count("bob") <= ab {
		t.Errorf("alice stopped hearing bob after carol left")
	}
	if st := s.Stats(); st.Peers != 2 {
		t.Errorf("stats after removal: %+v", st)
	}
	for _, cl := range []*testClient{a, b, c} {
		if err := cl.err(); err != nil {
			t.Errorf("%s: %v", cl.userID, err)
		}
	}
	// Removing again, or an unknown peer, is harmless.
	s.RemovePeer("call1", "devC")
	s.RemovePeer("nope", "devC")
}

// Three peers each end with exactly two inbound tracks, the third joining
// after the first two are already talking.
func TestThreePeers(t *testing.T) {
	s := newTestSFU(t, nil)
	api := clientAPI(t)
	a := newClient(t, s, api, "call1", "alice", "devA")
	b := newClient(t, s, api, "call1", "bob", "devB")
	s.SetConnected("call1", "devA", true)
	s.SetConnected("call1", "devB", true)
	testutil.Until(t, "alice and bob talking", flowTimeout, func() bool { return a.count("bob") >= 10 && b.count("alice") >= 10 })

	c := newClient(t, s, api, "call1", "carol", "devC")
	s.SetConnected("call1", "devC", true)
	clients := []*testClient{a, b, c}
	testutil.Until(t, "everyone hears everyone", flowTimeout, func() bool {
		for _, x := range clients {
			for _, y := range clients {
				if x != y && x.count(y.userID) < 10 {
					return false
				}
			}
		}
		return true
	})
	time.Sleep(200 * time.Millisecond)
	for _, x := range clients {
		var want []string
		for _, y := range clients {
			if y != x {
				want = append(want, y.userID+"/audio-"+y.userID)
			}
		}
		got := x.onTracks()
		sort.Strings(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s's inbound tracks (-want +got):\n%s", x.userID, diff)
		}
		if err := x.err(); err != nil {
			t.Errorf("%s: %v", x.userID, err)
		}
	}
	if a.offers.Load() < 2 {
		t.Errorf("alice got %d offers, want a renegotiation", a.offers.Load())
	}
}

// checkAllInvalid checks that the bad signals were tried and each refused
// with CodeInvalidArgument.
func checkAllInvalid(t *testing.T, errs []error) {
	t.Helper()
	if len(errs) == 0 {
		t.Fatal("bad answers not tried")
	}
	for i, err := range errs {
		var pe *protocol.Error
		if !errors.As(err, &pe) || pe.Code != protocol.CodeInvalidArgument {
			t.Errorf("bad signal %d: got %v, want CodeInvalidArgument", i, err)
		}
	}
}

// Bad answers are refused and the peer stays; EndCall closes everything;
// closing twice and in any order is safe.
func TestBadAnswerAndEndCall(t *testing.T) {
	s := newTestSFU(t, nil)
	api := clientAPI(t)
	var once sync.Once
	var mu sync.Mutex
	var badErrs []error
	check := func(offer string) {
		once.Do(func() {
			mu.Lock()
			defer mu.Unlock()
			bad := []protocol.MediaSignal{
				{Kind: protocol.MediaAnswer, SDP: "not an SDP"},
				{Kind: protocol.MediaAnswer, SDP: ""},
				{Kind: protocol.MediaAnswer, SDP: offer}, // an offer (setup:actpass) is not an answer
				{Kind: protocol.MediaAnswer, SDP: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"},
				{Kind: protocol.MediaCandidate, Candidate: "{"},
				{Kind: protocol.MediaCandidate, Candidate: `{"candidate":"candidate:garbage"}`},
				{Kind: protocol.MediaState},
				{Kind: protocol.MediaAnswer, CallID: "other", SDP: offer},
			}
			for _, sig := range bad {
				badErrs = append(badErrs, s.HandleSignal("call1", "devA", sig))
			}
		})
	}
	a := newClient(t, s, api, "call1", "alice", "devA", withBeforeAnswer(check))
	b := newClient(t, s, api, "call1", "bob", "devB")
	s.SetConnected("call1", "devA", true)
	s.SetConnected("call1", "devB", true)
	testutil.Until(t, "audio both ways", flowTimeout, func() bool { return a.count("bob") >= 10 && b.count("alice") >= 10 })
	mu.Lock()
	defer mu.Unlock()
	checkAllInvalid(t, badErrs)
	if err := a.err(); err != nil {
		t.Fatalf("alice's real answer: %v", err)
	}
	// No offer is outstanding now: a late answer is refused too.
	answer := protocol.MediaSignal{Kind: protocol.MediaAnswer, SDP: a.pc.LocalDescription().SDP}
	endOfCandidates := protocol.MediaSignal{Kind: protocol.MediaCandidate, Candidate: `{"candidate":""}`}
	for _, tc := range []struct {
		what, call, dev string
		sig             protocol.MediaSignal
		want            protocol.Code // 0: accepted
	}{
		{"answer without offer", "call1", "devA", answer, protocol.CodeInvalidArgument},
		{"unknown call", "nope", "devA", answer, protocol.CodeNoSuchCall},
		{"unknown device", "call1", "devX", endOfCandidates, protocol.CodeNoSuchCall},
		{"end of candidates", "call1", "devA", endOfCandidates, 0},
	} {
		if err := s.HandleSignal(tc.call, tc.dev, tc.sig); (tc.want == 0 && err != nil) || (tc.want != 0 && codeOf(err) != tc.want) {
			t.Errorf("%s: %v", tc.what, err)
		}
	}
	if err := s.AddPeer("call1", "mallory", "devA", func(protocol.MediaSignal) {}); codeOf(err) != protocol.CodeInvalidArgument {
		t.Errorf("device re-added as another user: %v", err)
	}
	if err := s.AddPeer("call1", "alice", "devA", a.sendFunc); err != nil {
		t.Errorf("AddPeer again: %v", err)
	}

	checkEndCallAndClose(t, s, a, b)
}

// checkEndCallAndClose ends call1 (both peers get close signals and their
// transports close), then checks that ending it again, removing a peer and
// closing the SFU twice are harmless, and that a closed SFU refuses peers.
func checkEndCallAndClose(t *testing.T, s *SFU, a, b *testClient) {
	t.Helper()
	s.EndCall("call1")
	testutil.Until(t, "close signals and closed transports", flowTimeout, func() bool {
		return a.gotClose.Load() && b.gotClose.Load() &&
			a.pc.ConnectionState() == webrtc.PeerConnectionStateClosed &&
			b.pc.ConnectionState() == webrtc.PeerConnectionStateClosed
	})
	if st := s.Stats(); st.Calls != 0 || st.Peers != 0 {
		t.Errorf("stats after EndCall: %+v", st)
	}
	s.EndCall("call1")
	s.RemovePeer("call1", "devA")
	s.SetConnected("call1", "devA", true)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.EndCall("call1")
	if err := s.AddPeer("call2", "alice", "devA", a.sendFunc); codeOf(err) != protocol.CodeShuttingDown {
		t.Errorf("AddPeer after Close: %v", err)
	}
}

// Close with live calls closes them all.
func TestCloseWithPeers(t *testing.T) {
	s := newTestSFU(t, nil)
	api := clientAPI(t)
	a := newClient(t, s, api, "call1", "alice", "devA")
	b := newClient(t, s, api, "call1", "bob", "devB")
	s.SetConnected("call1", "devA", true)
	s.SetConnected("call1", "devB", true)
	testutil.Until(t, "audio", flowTimeout, func() bool { return a.count("bob") > 0 && b.count("alice") > 0 })
	done := make(chan struct{})
	go func() { _ = s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(flowTimeout):
		t.Fatal("Close hangs")
	}
	s.RemovePeer("call1", "devA")
}

// A peer that never connects is dropped and reported.
func TestConnectTimeout(t *testing.T) {
	failed := make(chan string, 4)
	s := newTestSFU(t, func(c *Config) {
		c.ConnectTimeout = 300 * time.Millisecond
		c.OnPeerFailed = func(callID, deviceID string) { failed <- callID + "/" + deviceID }
	})
	sigs := make(chan protocol.MediaSignal, 8)
	if err := s.AddPeer("call1", "alice", "devA", func(sig protocol.MediaSignal) { sigs <- sig }); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-failed:
		if got != "call1/devA" {
			t.Errorf("failed %q", got)
		}
	case <-time.After(flowTimeout):
		t.Fatal("no OnPeerFailed")
	}
	var kinds []string
	for len(sigs) > 0 {
		kinds = append(kinds, (<-sigs).Kind)
	}
	if diff := cmp.Diff([]string{protocol.MediaOffer, protocol.MediaClose}, kinds); diff != "" {
		t.Errorf("signals (-want +got):\n%s", diff)
	}
	if st := s.Stats(); st.Peers != 0 {
		t.Errorf("stats %+v", st)
	}
}

// Video flows, a receiver that starts watching triggers a keyframe request
// to the source, and a receiver's PLI reaches the source.
func TestVideoKeyframes(t *testing.T) {
	s := newTestSFU(t, nil)
	api := clientAPI(t)
	a := newClient(t, s, api, "call1", "alice", "devA", withVideo())
	b := newClient(t, s, api, "call1", "bob", "devB")
	s.SetConnected("call1", "devA", true)
	testutil.Until(t, "alice's transport", flowTimeout, a.connected)
	time.Sleep(100 * time.Millisecond)
	if n := a.plis.Load(); n != 0 {
		t.Errorf("alice got %d PLIs with nobody watching", n)
	}
	s.SetConnected("call1", "devB", true)
	testutil.Until(t, "bob sees alice", flowTimeout, func() bool { return b.countKind("alice", "video") >= 10 })
	testutil.Until(t, "a keyframe request for bob", flowTimeout, func() bool { return a.plis.Load() >= 1 })
	if st := b.stream("alice", "video"); st.track != "video-alice" || !hasPrefixAll(st.payloads, "alice-") {
		t.Errorf("bob's video from alice: %+v", st)
	}

	time.Sleep(keyframeInterval)
	n := a.plis.Load()
	b.mu.Lock()
	tr := b.rxTrack["alice/video"]
	b.mu.Unlock()
	if err := b.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}}); err != nil {
		t.Fatal(err)
	}
	testutil.Until(t, "bob's PLI forwarded to alice", flowTimeout, func() bool { return a.plis.Load() > n })
	if st := s.Stats(); st.KeyframeRequests < 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestKeepOnlyAudioLevel(t *testing.T) {
	var h rtp.Header
	for id, v := range map[uint8][]byte{2: []byte("mid"), 3: {0x85}, 5: {0, 7}} {
		if err := h.SetExtension(id, v); err != nil {
			t.Fatal(err)
		}
	}
	keepOnlyAudioLevel(&h, 3)
	if diff := cmp.Diff([]byte{0x85}, h.GetExtension(AudioLevelExtensionID)); diff != "" || len(h.Extensions) != 1 || !h.Extension {
		t.Errorf("level kept wrongly: %+v", h)
	}
	keepOnlyAudioLevel(&h, 0)
	if h.Extension || len(h.Extensions) != 0 {
		t.Errorf("extensions left: %+v", h)
	}
	one := []byte{1}
	if allocs := testing.AllocsPerRun(100, func() {
		_ = h.SetExtension(2, one)
		keepOnlyAudioLevel(&h, 2)
	}); allocs != 0 {
		t.Errorf("%v allocations", allocs)
	}
}

func TestOfferHasFixedAudioLevelID(t *testing.T) {
	s := newTestSFU(t, nil)
	sigs := make(chan protocol.MediaSignal, 8)
	if err := s.AddPeer("call1", "alice", "devA", func(sig protocol.MediaSignal) { sigs <- sig }); err != nil {
		t.Fatal(err)
	}
	var offer protocol.MediaSignal
	select {
	case offer = <-sigs:
	case <-time.After(flowTimeout):
		t.Fatal("no offer")
	}
	for _, want := range []string{
		"a=extmap:1 " + AudioLevelURI,
		"a=rtpmap:111 opus/48000/2",
		"a=fmtp:111 minptime=10;useinbandfec=1",
		"a=rtpmap:96 VP8/90000",
		"a=rtcp-fb:96 nack pli",
		"a=rtcp-fb:96 ccm fir",
		"a=rtcp-fb:96 goog-remb",
		"a=rtcp-fb:96 transport-cc",
		"a=recvonly",
		"typ host",
		"127.0.0.1",
	} {
		if !strings.Contains(offer.SDP, want) {
			t.Errorf("offer lacks %q:\n%s", want, offer.SDP)
		}
	}
	if offer.Kind != protocol.MediaOffer || offer.CallID != "call1" {
		t.Errorf("offer %+v", offer)
	}
}

// The production default binds 0.0.0.0; media still flows over loopback.
func TestUnspecifiedListenIP(t *testing.T) {
	s := newTestSFU(t, func(c *Config) { c.ListenIP = "" })
	api := clientAPI(t)
	a := newClient(t, s, api, "call1", "alice", "devA")
	b := newClient(t, s, api, "call1", "bob", "devB")
	s.SetConnected("call1", "devA", true)
	s.SetConnected("call1", "devB", true)
	testutil.Until(t, "audio both ways", flowTimeout, func() bool { return a.count("bob") >= 10 && b.count("alice") >= 10 })
}

func TestPublicIP(t *testing.T) {
	s := newTestSFU(t, func(c *Config) { c.PublicIP = "203.0.113.7" })
	sigs := make(chan protocol.MediaSignal, 8)
	if err := s.AddPeer("call1", "alice", "devA", func(sig protocol.MediaSignal) { sigs <- sig }); err != nil {
		t.Fatal(err)
	}
	select {
	case offer := <-sigs:
		if !strings.Contains(offer.SDP, "203.0.113.7") || strings.Contains(offer.SDP, "127.0.0.1") {
			t.Errorf("offer candidates:\n%s", offer.SDP)
		}
	case <-time.After(flowTimeout):
		t.Fatal("no offer")
	}
	if _, err := New(Config{PublicIP: "nope"}); err == nil {
		t.Error("bad PublicIP accepted")
	}
}

// A device that closes its PeerConnection is dropped and reported, and the
// others renegotiate.
func TestDeviceHangsUp(t *testing.T) {
	failed := make(chan string, 4)
	s := newTestSFU(t, func(c *Config) {
		c.OnPeerFailed = func(callID, deviceID string) { failed <- callID + "/" + deviceID }
	})
	api := clientAPI(t)
	a := newClient(t, s, api, "call1", "alice", "devA")
	b := newClient(t, s, api, "call1", "bob", "devB")
	s.SetConnected("call1", "devA", true)
	s.SetConnected("call1", "devB", true)
	testutil.Until(t, "audio both ways", flowTimeout, func() bool { return a.count("bob") >= 10 && b.count("alice") >= 10 })
	offers := a.offers.Load()
	b.close()
	select {
	case got := <-failed:
		if got != "call1/devB" {
			t.Errorf("failed %q", got)
		}
	case <-time.After(flowTimeout):
		t.Fatal("no OnPeerFailed")
	}
	testutil.Until(t, "alice renegotiated", flowTimeout, func() bool { return a.offers.Load() > offers })
	if st := s.Stats(); st.Peers != 1 {
		t.Errorf("stats %+v", st)
	}
}

// Changes while an offer waits for its answer are coalesced into one new
// offer after the answer.
func TestCoalescedRenegotiation(t *testing.T) {
	s := newTestSFU(t, nil)
	api := clientAPI(t)
	release := make(chan struct{})
	var offers []string
	var mu sync.Mutex
	hold := func(offer string) {
		mu.Lock()
		offers = append(offers, offer)
		first := len(offers) == 1
		mu.Unlock()
		if first {
			<-release
		}
	}
	a := newClient(t, s, api, "call1", "alice", "devA", withBeforeAnswer(hold))
	t.Cleanup(func() { // before a's own cleanup, which waits for hold
		select {
		case <-release:
		default:
			close(release)
		}
	})
	testutil.Until(t, "alice's first offer", flowTimeout, func() bool { return a.offers.Load() == 1 })
	var others []*testClient
	for _, u := range []string{"bob", "carol", "dave"} {
		others = append(others, newClient(t, s, api, "call1", u, "dev-"+u))
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if n := a.offers.Load(); n != 1 {
		t.Fatalf("alice got %d offers while one waited for its answer", n)
	}
	close(release)
	testutil.Until(t, "alice's second offer", flowTimeout, func() bool { return a.offers.Load() == 2 })
	time.Sleep(200 * time.Millisecond)
	if n := a.offers.Load(); n != 2 {
		t.Errorf("alice got %d offers, want 2", n)
	}
	mu.Lock()
	second := offers[len(offers)-1]
	mu.Unlock()
	for _, u := range []string{"bob", "carol", "dave"} {
		for _, kind := range []string{"audio", "video"} {
			if want := "a=msid:" + u + " " + kind + "-" + u; !strings.Contains(second, want) {
				t.Errorf("second offer lacks %q", want)
			}
		}
	}
	for _, c := range append(others, a) {
		s.SetConnected("call1", c.deviceID, true)
	}
	testutil.Until(t, "alice hears all three", flowTimeout, func() bool {
		return a.count("bob") > 0 && a.count("carol") > 0 && a.count("dave") > 0
	})
	for _, c := range others {
		testutil.Until(t, c.userID+" hears alice", flowTimeout, func() bool { return c.count("alice") > 0 })
	}
}
