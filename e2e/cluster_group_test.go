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

	mixedOutcomes(t, alice, bob, carol, dave, erin)
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
	info := inviteAndJoin(t, alice, bob, carol, dave, erin)
	checkNonMemberRefused(t, mallory, info)
	_, err := dave.Join(c, info.CallID)
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
