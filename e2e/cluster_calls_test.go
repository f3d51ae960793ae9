package e2e

import (
	"testing"
	"time"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/audiotest"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/testutil"
)

// TestClusterAccept: alice on node 1 calls bob on node 2; the events are
// exactly those of one node, for an accept and either side hanging up.
func TestClusterAccept(t *testing.T) {
	cl := newCluster(t, 2)
	alice, bob := cl.node(1).login("alice"), cl.node(2).login("bob")

	info := connect1v1(t, alice, bob)
	bob.must("Hangup", bob.Hangup(ctx(t)))
	bob.expect(end(info, engine.RoleCalled, "bob", engine.ReasonHangup))
	alice.expect(engine.UserLeave{CallID: info.CallID, UserID: "bob"}, end(info, engine.RoleCaller, "bob", engine.ReasonHangup))

	// Again, the caller hanging up: the busy locks were released.
	info = connect1v1(t, alice, bob)
	alice.must("Hangup", alice.Hangup(ctx(t)))
	alice.expect(end(info, engine.RoleCaller, "alice", engine.ReasonHangup))
	bob.expect(engine.UserLeave{CallID: info.CallID, UserID: "alice"}, end(info, engine.RoleCalled, "alice", engine.ReasonHangup))

	// And the other way round: bob (node 2) calls alice (node 1).
	info = connect1v1(t, bob, alice)
	alice.must("Hangup", alice.Hangup(ctx(t)))
	alice.expect(end(info, engine.RoleCalled, "alice", engine.ReasonHangup))
	bob.expect(engine.UserLeave{CallID: info.CallID, UserID: "alice"}, end(info, engine.RoleCaller, "alice", engine.ReasonHangup))
	alice.quiet()
	bob.quiet()
}

// TestClusterRejectCancel: a reject and a cancel across nodes.
func TestClusterRejectCancel(t *testing.T) {
	cl := newCluster(t, 2)
	alice, bob := cl.node(1).login("alice"), cl.node(2).login("bob")

	reject1v1(t, alice, bob)
	cancel1v1(t, alice, bob)

	// Bob is free again: the call rings.
	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	bob.expect(received(info, "alice", "bob", ""))
	alice.quiet()
}

// TestClusterAudio: alice (node 1) and bob (node 2) hear each other's
// tones; bob's media goes to node 1's SFU, the call's owner.
func TestClusterAudio(t *testing.T) {
	cl := newCluster(t, 2)
	alice, bob := cl.node(1).login("alice"), cl.node(2).login("bob")
	aliceEar, bobEar := alice.withTone(t, 440), bob.withTone(t, 660)

	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	bob.expect(received(info, "alice", "bob", ""))
	bob.must("Accept", bob.Accept(ctx(t)))
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})
	bob.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"})
	testutil.Until(t, "audio both ways", 10*time.Second, func() bool {
		return bobEar.count("alice") > 50 && aliceEar.count("bob") > 50
	})
	aliceEar.heard()
	bobEar.heard()
	time.Sleep(time.Second)
	heardByBob, heardByAlice := bobEar.heard(), aliceEar.heard()
	if f := audiotest.ToneFreq(heardByBob, audio.SampleRate); f < 435 || f > 445 {
		t.Errorf("bob heard %.1f Hz, want 440", f)
	}
	if f := audiotest.ToneFreq(heardByAlice, audio.SampleRate); f < 655 || f > 665 {
		t.Errorf("alice heard %.1f Hz, want 660", f)
	}
	// The media went through node 1's SFU, the owner's: node 2 relays
	// only signaling.
	if n := cl.node(1).metric(t, "termcall_sfu_peers"); n != 2 {
		t.Errorf("node 1's SFU has %v peers, want 2 (alice and bob)", n)
	}
	if n := cl.node(2).metric(t, "termcall_sfu_peers"); n != 0 {
		t.Errorf("node 2's SFU has %v peers, want none", n)
	}
	if n := cl.node(2).metric(t, "termcall_sfu_rtp_packets_received_total"); n != 0 {
		t.Errorf("node 2's SFU received %v packets, want none", n)
	}
	alice.must("Hangup", alice.Hangup(ctx(t)))
	alice.expect(end(info, engine.RoleCaller, "alice", engine.ReasonHangup))
	bob.expect(engine.UserLeave{CallID: info.CallID, UserID: "alice"}, end(info, engine.RoleCalled, "alice", engine.ReasonHangup))
}
