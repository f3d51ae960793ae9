package e2e

import (
	"testing"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/testutil"
)

// TestClusterGroupMixedOutcomes is TestGroupCallMixedOutcomes with the
// participants on three nodes: bob answers, carol rejects, dave does not
// answer (his 2 s timeout, run by the owner node, fires once), erin is in
// another call (owned by another node) so alice hears line busy. The
// group is created on node 1 and known on every node.
func TestClusterGroupMixedOutcomes(t *testing.T) {
	cl := newCluster(t, 3)
	cl.node(1).group("team", "alice", "bob", "carol", "dave", "erin")
	alice, bob, carol := cl.node(1).login("alice"), cl.node(2).login("bob"), cl.node(3).login("carol")
	dave, erin, frank := cl.node(2).login("dave"), cl.node(3).login("erin"), cl.node(2).login("frank")
	connect1v1(t, frank, erin)

	info := alice.mustGroupCall("team", "bob", "carol", "dave", "erin")
	alice.expect(engine.UserLineBusy{CallID: info.CallID, UserID: "erin"})
	all := []string{"bob", "carol", "dave", "erin"}
	bob.expect(groupReceived(info, "alice", "team", all...))
	carol.expect(groupReceived(info, "alice", "team", all...))
	dave.expect(groupReceived(info, "alice", "team", all...))
	erin.expect(engine.CallMissed{CallID: info.CallID, CallerID: "alice", GroupID: "team", MediaType: engine.MediaTypeAudio,
		Caller: engine.UserInfo{UserID: "alice"}, Reason: engine.ReasonLineBusy}) // busy: told at once, across nodes too
	erin.quiet()

	bob.must("Accept", bob.Accept(ctx(t)))
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})
	bob.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"})

	carol.must("Reject", carol.Reject(ctx(t)))
	carol.expect(cancelled(info, "carol", engine.ReasonReject))
	for _, c := range []*client{alice, bob, dave} {
		c.expect(engine.UserReject{CallID: info.CallID, UserID: "carol"})
	}

	dave.expect(cancelled(info, "dave", engine.ReasonNoResponse))
	alice.expect(engine.UserNoResponse{CallID: info.CallID, UserID: "dave"})
	bob.expect(engine.UserNoResponse{CallID: info.CallID, UserID: "dave"})

	alice.must("Hangup", alice.Hangup(ctx(t)))
	alice.expect(end(info, engine.RoleCaller, "alice", engine.ReasonHangup))
	bob.expect(engine.UserLeave{CallID: info.CallID, UserID: "alice"}, end(info, engine.RoleCalled, "alice", engine.ReasonHangup))
	for _, c := range []*client{alice, bob, carol, dave, erin, frank} {
		c.quiet()
	}
}

// TestClusterInviteAndJoin is TestInviteUserAndJoin across three nodes:
// bob (node 2) invites carol (node 3) into alice's call (node 1); dave
// (node 2) joins by room, erin (node 3) by call ID; the refusals carry the
// owner's codes.
func TestClusterInviteAndJoin(t *testing.T) {
	cl := newCluster(t, 3)
	cl.node(1).group("team", "alice", "bob", "carol", "dave", "erin")
	alice, bob, carol := cl.node(1).login("alice"), cl.node(2).login("bob"), cl.node(3).login("carol")
	dave, erin, mallory := cl.node(2).login("dave"), cl.node(3).login("erin"), cl.node(3).login("mallory")
	c := ctx(t)
	info, err := alice.GroupCall(c, "team", []string{"bob"}, engine.MediaTypeAudio, engine.CallParams{RoomID: engine.IntRoom(777)})
	alice.must("GroupCall", err)
	bob.expect(groupReceived(info, "alice", "team", "bob"))
	bob.must("Accept", bob.Accept(c))
	alice.expect(begin(info, engine.RoleCaller), engine.UserJoin{CallID: info.CallID, UserID: "bob"})
	bob.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"})

	got, err := bob.InviteUser(c, []string{"carol"}, engine.CallParams{RoomID: engine.IntRoom(5)})
	bob.must("InviteUser", err)
	if len(got) != 1 || got[0] != "carol" {
		t.Fatalf("InviteUser returned %v, want [carol]", got)
	}
	// As on one node: the caller is the call's (alice), the inviter bob.
	carol.expect(engine.CallReceived{CallID: info.CallID, CallerID: "alice", CalleeIDList: []string{"bob", "carol"}, GroupID: "team",
		MediaType: engine.MediaTypeAudio, RoomID: engine.IntRoom(777), Scene: engine.SceneGroupCall, Caller: engine.UserInfo{UserID: "alice"},
		InviterID: "bob"})
	upd := engine.GroupCallInviteeListUpdate{CallID: info.CallID, UserIDList: []string{"alice", "bob", "carol"}}
	alice.expect(upd)
	bob.expect(upd)
	carol.must("Accept", carol.Accept(c))
	carol.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"}, engine.UserJoin{CallID: info.CallID, UserID: "bob"})
	alice.expect(engine.UserJoin{CallID: info.CallID, UserID: "carol"})
	bob.expect(engine.UserJoin{CallID: info.CallID, UserID: "carol"})

	_, err = dave.JoinInGroupCall(c, engine.IntRoom(777), "team", engine.MediaTypeAudio)
	dave.must("JoinInGroupCall", err)
	dave.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"},
		engine.UserJoin{CallID: info.CallID, UserID: "bob"}, engine.UserJoin{CallID: info.CallID, UserID: "carol"})
	for _, x := range []*client{alice, bob, carol} {
		x.expect(engine.UserJoin{CallID: info.CallID, UserID: "dave"})
	}
	_, err = erin.Join(c, info.CallID)
	erin.must("Join", err)
	erin.expect(begin(info, engine.RoleCalled), engine.UserJoin{CallID: info.CallID, UserID: "alice"},
		engine.UserJoin{CallID: info.CallID, UserID: "bob"}, engine.UserJoin{CallID: info.CallID, UserID: "carol"},
		engine.UserJoin{CallID: info.CallID, UserID: "dave"})
	for _, x := range []*client{alice, bob, carol, dave} {
		x.expect(engine.UserJoin{CallID: info.CallID, UserID: "erin"})
	}
	if cur, _ := erin.CurrentCall(); cur.CallID != info.CallID || cur.Status != engine.StatusAccept || len(cur.Participants) != 5 {
		t.Errorf("erin's current call: %+v", cur)
	}

	_, err = mallory.Join(c, info.CallID)
	wantCode(t, "non-member joins by call ID", err, 4007)
	_, err = mallory.JoinInGroupCall(c, engine.IntRoom(777), "team", engine.MediaTypeAudio)
	wantCode(t, "non-member joins by room", err, 4007)
	_, err = mallory.GroupCall(c, "team", []string{"alice"}, engine.MediaTypeAudio, engine.CallParams{})
	wantCode(t, "non-member starts a group call", err, 4007)
	_, err = dave.Join(c, info.CallID)
	wantCode(t, "join twice", err, 4011)
	_, err = bob.InviteUser(c, []string{"mallory"}, engine.CallParams{})
	wantCode(t, "invite a non-member (from node 2)", err, 4007)
	_, err = carol.InviteUser(c, []string{"alice"}, engine.CallParams{})
	wantCode(t, "invite someone already in the call (from node 3)", err, 4011)
	_, err = mallory.Join(c, "0123456789abcdef0123")
	wantCode(t, "join a call that does not exist", err, 4002)
	cl.node(1).group("other", "mallory", "alice")
	_, err = mallory.JoinInGroupCall(c, engine.IntRoom(777), "other", engine.MediaTypeAudio)
	wantCode(t, "join a room of another group", err, 4008)

	// Everyone hangs up; the room is free again (its claim released).
	for _, x := range []*client{erin, dave, carol, bob} {
		x.must("Hangup", x.Hangup(c))
	}
	alice.rec.take(20, 0)
	testutil.Until(t, "alice's call to end", wait, func() bool { return alice.Status() == engine.StatusNone })
	info2, err := carol.GroupCall(c, "team", []string{"dave"}, engine.MediaTypeAudio, engine.CallParams{RoomID: engine.IntRoom(777)})
	carol.must("GroupCall in room 777 again", err)
	if info2.RoomID != engine.IntRoom(777) {
		t.Errorf("room: %v", info2.RoomID)
	}
}
