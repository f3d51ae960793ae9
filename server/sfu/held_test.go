package sfu

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/internal/testutil"
)

// TestHeldPackets: what a publisher sends while its only subscriber's
// transport is not up yet (here: the subscriber has not even answered) is
// not lost: the newest heldPackets packets reach the subscriber, oldest
// first, before the live ones that follow; held packets older than
// heldMaxAge are not sent. Without the hold the subscriber would get only
// the live ones.
func TestHeldPackets(t *testing.T) {
	for _, tc := range []struct {
		name   string
		maxAge time.Duration
		held   int
	}{
		// The mechanism: a busy machine may take long to connect.
		{"held", time.Minute, heldPackets},
		{"too old", time.Nanosecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := heldMaxAge
			heldMaxAge = tc.maxAge
			t.Cleanup(func() { heldMaxAge = old })
			testHeldPackets(t, tc.held)
		})
	}
}

func testHeldPackets(t *testing.T, held int) {
	s := newTestSFU(t, nil)
	api := clientAPI(t)
	a := newClient(t, s, api, "call1", "alice", "devA", withRTPAudio())
	release := make(chan struct{})
	var once sync.Once
	b := newClient(t, s, api, "call1", "bob", "devB", withSilence(), withBeforeAnswer(func(string) {
		<-release // bob's first answer waits: his transport stays down
	}))
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	s.SetConnected("call1", "devA", true)
	s.SetConnected("call1", "devB", true)
	testutil.Until(t, "alice connected", flowTimeout, a.connected)

	seq := 0
	send := func() {
		pkt := &rtp.Packet{
			Header:  rtp.Header{Version: 2, SequenceNumber: uint16(seq), Timestamp: uint32(seq) * 960},
			Payload: []byte(fmt.Sprintf("alice-%d", seq)),
		}
		if err := a.rtpAudio.WriteRTP(pkt); err != nil {
			t.Fatal(err)
		}
		seq++
	}
	// Until the SFU reads alice's track, then five more it sees arrive.
	testutil.Until(t, "the SFU reading alice's audio", flowTimeout, func() bool {
		send()
		time.Sleep(20 * time.Millisecond)
		return s.Stats().PacketsIn > 0
	})
	in := s.Stats().PacketsIn
	for range 5 {
		send()
		time.Sleep(20 * time.Millisecond)
	}
	testutil.Until(t, "alice's packets at the SFU", flowTimeout, func() bool { return s.Stats().PacketsIn >= in+5 })
	if n := b.count("alice"); n != 0 {
		t.Fatalf("bob got %d packets before his transport was up", n)
	}
	last := seq - 1
	once.Do(func() { close(release) })
	testutil.Until(t, "bob connected", flowTimeout, b.connected)
	if held > 0 {
		testutil.Until(t, "the held packets at bob", flowTimeout, func() bool { return b.count("alice") >= held })
	}
	live := seq
	for range 3 {
		send()
	}
	testutil.Until(t, "the live packets at bob", flowTimeout, func() bool { return b.count("alice") >= held+3 })
	var want []string
	for i := last - held + 1; i <= last; i++ {
		want = append(want, fmt.Sprintf("alice-%d", i))
	}
	for i := live; i < seq; i++ {
		want = append(want, fmt.Sprintf("alice-%d", i))
	}
	if diff := cmp.Diff(want, b.stream("alice", "audio").payloads); diff != "" {
		t.Errorf("bob's packets from alice (-want +got):\n%s", diff)
	}
	if err := b.err(); err != nil {
		t.Fatal(err)
	}
}

// TestHeldCloses: the hold keeps nothing once every subscriber of the
// publisher's fanout was served, and keeps packets while one is not
// writable.
func TestHeldCloses(t *testing.T) {
	track, err := webrtc.NewTrackLocalStaticRTP(opusCapability(), "audio-alice", "alice")
	if err != nil {
		t.Fatal(err)
	}
	src, dest := &peer{}, &peer{}
	note := func(seq uint16) {
		src.noteHeld(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq}, Payload: []byte{1}}, false)
	}
	kept := func() (n int) {
		for _, s := range src.held.ring {
			if len(s.buf) > 0 {
				n++
			}
		}
		return n
	}
	note(1)
	src.noteHeld(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 2}, Payload: []byte{1}}, true) // video: never
	dests := []heldDest{{track: track, peer: dest}}
	src.held.flushLocked(dests, time.Now())
	note(2)
	if src.held.closed.Load() || kept() != 2 {
		t.Fatalf("subscriber not writable: closed %v, %d kept, want open with 2", src.held.closed.Load(), kept())
	}
	dest.held.writable.Store(true)
	src.held.flushLocked(dests, time.Now())
	if !src.held.closed.Load() || !src.held.served[track] {
		t.Fatalf("after serving the only subscriber: closed %v, served %v", src.held.closed.Load(), src.held.served)
	}
	note(3)
	if kept() != 2 {
		t.Errorf("%d packets kept after the hold closed, want the 2 from before", kept())
	}
	src.held.flushLocked(nil, time.Now()) // the subscriber left: the hold opens again
	if src.held.closed.Load() || len(src.held.served) != 0 {
		t.Errorf("empty fanout: closed %v, served %v", src.held.closed.Load(), src.held.served)
	}
}
