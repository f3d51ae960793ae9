package e2e

import (
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/engine"
)

// TestClusterBusyRace: alice (node 1) and bob (node 2) call carol (node 3)
// at the same moment, 50 times: each time exactly one call rings, the
// other caller hears line busy (the busy lock in NATS decides).
func TestClusterBusyRace(t *testing.T) {
	// 50 unanswered invitations and 100 calls in seconds: no limits.
	cl := newCluster(t, 3, noCallLimits)
	alice, bob, carol := cl.node(1).login("alice"), cl.node(2).login("bob"), cl.node(3).login("carol")
	wins := map[string]int{}
	for round := range 50 {
		var wg sync.WaitGroup
		start := make(chan struct{})
		infos := make([]engine.CallInfo, 2)
		errs := make([]error, 2)
		for i, c := range []*client{alice, bob} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				infos[i], errs[i] = c.Call(ctx(t), "carol", engine.MediaTypeAudio, engine.CallParams{})
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: call %d: %v", round, i, err)
			}
		}
		// carol rings for one call and hears at once that she missed the
		// other (onCallMissed, lineBusy), in either order.
		got := carol.rec.take(2, wait)
		if len(got) != 2 {
			t.Fatalf("round %d: carol got %s, want an invitation and a missed call", round, names(got))
		}
		var rc engine.CallReceived
		var missed engine.CallMissed
		var okR, okM bool
		for _, ev := range got {
			switch ev := ev.(type) {
			case engine.CallReceived:
				rc, okR = ev, true
			case engine.CallMissed:
				missed, okM = ev, true
			}
		}
		if !okR || !okM {
			t.Fatalf("round %d: carol got %s, want onCallReceived and onCallMissed", round, names(got))
		}
		w := 0
		if rc.CallID == infos[1].CallID {
			w = 1
		} else if rc.CallID != infos[0].CallID {
			t.Fatalf("round %d: carol rung by call %s, neither %s nor %s", round, rc.CallID, infos[0].CallID, infos[1].CallID)
		}
		winner, loser := []*client{alice, bob}[w], []*client{alice, bob}[1-w]
		wi, li := infos[w], infos[1-w]
		wins[winner.id]++
		if diff := cmp.Diff(engine.CallMissed{CallID: li.CallID, CallerID: loser.id, MediaType: engine.MediaTypeAudio,
			Caller: engine.UserInfo{UserID: loser.id}, Reason: engine.ReasonLineBusy}, missed); diff != "" {
			t.Fatalf("round %d: carol's missed call (-want +got):\n%s", round, diff)
		}
		if diff := cmp.Diff(received(wi, winner.id, "carol", ""), rc); diff != "" {
			t.Fatalf("round %d: carol's invitation (-want +got):\n%s", round, diff)
		}
		loser.expect(engine.UserLineBusy{CallID: li.CallID, UserID: "carol"}, cancelled(li, loser.id, engine.ReasonLineBusy))
		winner.must("Hangup", winner.Hangup(ctx(t)))
		winner.expect(cancelled(wi, winner.id, engine.ReasonCanceled))
		carol.expect(cancelled(wi, winner.id, engine.ReasonCanceled))
	}
	alice.quiet()
	bob.quiet()
	carol.quiet()
	t.Logf("winners: %v", wins)
}

// TestClusterMultiDevice: bob's phone (node 2) and laptop (node 3), both
// in multi-device mode, ring for alice's call (node 1); the first accept
// wins and the other device hears otherDeviceAccepted; then both accept
// at once, five times: exactly one gets the call.
func TestClusterMultiDevice(t *testing.T) {
	cl := newCluster(t, 3)
	alice := cl.node(1).login("alice")
	phone, laptop := cl.node(2).loginMulti("bob", "phone"), cl.node(3).loginMulti("bob", "laptop")

	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	phone.expect(received(info, "alice", "bob", ""))
	laptop.expect(received(info, "alice", "bob", ""))
	laptop.must("Accept", laptop.Accept(ctx(t)))
	laptop.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"})
	phone.expect(cancelled(info, "bob", engine.ReasonOtherDeviceAccepted))
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})
	wantCode(t, "accept on the other device", phone.Accept(ctx(t)), 5006)
	alice.must("Hangup", alice.Hangup(ctx(t)))
	alice.expect(end(info, engine.RoleCaller, "alice", engine.ReasonHangup))
	laptop.expect(engine.UserLeave{CallID: info.CallID, UserID: "alice"}, end(info, engine.RoleCalled, "alice", engine.ReasonHangup))
	phone.quiet()

	// A reject on one device: the other hears otherDeviceReject.
	rejectOnOneDevice(alice, phone, laptop)

	for round := range 5 {
		acceptRace(t, round, alice, phone, laptop)
	}
}

// TestClusterKick: without multi-device mode, bob's login on node 3 kicks
// his device on node 2, which was in a call with alice (node 1): the same
// events as on one node; then bob's new device is called.
func TestClusterKick(t *testing.T) {
	cl := newCluster(t, 3)
	alice := cl.node(1).login("alice")
	first := cl.node(2).login("bob", device("first"))
	info := connect1v1(t, alice, first)
	second := cl.node(3).login("bob", device("second"))
	first.expect(end(info, engine.RoleCalled, "bob", engine.ReasonOffline), engine.KickedOffline{})
	alice.expect(engine.UserLeave{CallID: info.CallID, UserID: "bob"}, end(info, engine.RoleCaller, "bob", engine.ReasonOffline))
	info2 := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	second.expect(received(info2, "alice", "bob", ""))
	first.quiet()

	// A ringing device is kicked too; the invitation rings on the new
	// login (here on the call's own node), as on one node.
	third := cl.node(1).login("bob", device("third"))
	second.expect(engine.KickedOffline{})
	third.expect(received(info2, "alice", "bob", ""))
	third.must("Accept", third.Accept(ctx(t)))
	third.expect(begin(info2, engine.RoleCalled), engine.UserJoin{CallID: info2.CallID, UserID: "alice"})
	alice.expect(begin(info2, engine.RoleCaller), engine.UserJoin{CallID: info2.CallID, UserID: "bob"})
	second.quiet()
}

// TestClusterLoginRings: a device of bob that logs in on node 3 while
// alice's call (node 1) rings for bob on node 2 rings too; the first
// accept wins.
func TestClusterLoginRings(t *testing.T) {
	cl := newCluster(t, 3)
	alice := cl.node(1).login("alice")
	phone := cl.node(2).loginMulti("bob", "phone")
	info := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	phone.expect(received(info, "alice", "bob", ""))
	laptop := cl.node(3).loginMulti("bob", "laptop")
	laptop.expect(received(info, "alice", "bob", ""))
	laptop.must("Accept", laptop.Accept(ctx(t)))
	laptop.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"})
	phone.expect(cancelled(info, "bob", engine.ReasonOtherDeviceAccepted))
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})
}
