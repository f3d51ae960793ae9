package e2e

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/server/store"
)

// TestClusterRecords: the owner node writes every participant's records
// to the shared PostgreSQL database; a user's history is the same
// whichever node they ask, and so is the admin listing.
func TestClusterRecords(t *testing.T) {
	cl := newCluster(t, 3)
	alice, bob := cl.node(1).login("alice"), cl.node(2).login("bob")

	info := connect1v1(t, alice, bob)
	bob.must("Hangup", bob.Hangup(ctx(t)))
	bob.rec.take(1, wait)
	alice.rec.take(2, wait)
	rej := rejectedVideoCall(alice, bob)
	missed := alice.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{Timeout: 1})
	bob.expect(received(missed, "alice", "bob", ""), cancelled(missed, "bob", engine.ReasonNoResponse))
	alice.expect(engine.UserNoResponse{CallID: missed.CallID, UserID: "bob"}, cancelled(missed, "alice", engine.ReasonNoResponse))

	base := engine.CallRecord{UserID: "bob", Inviter: "alice", InviteList: []string{"bob"}, Scene: engine.SceneSingleCall, Role: engine.RoleCalled}
	want := []engine.CallRecord{
		with(base, missed, engine.MediaTypeAudio, engine.ResultMissed, engine.ReasonNoResponse, 0),
		with(base, rej, engine.MediaTypeVideo, engine.ResultIncoming, engine.ReasonReject, 0),
		with(base, info, engine.MediaTypeAudio, engine.ResultIncoming, engine.ReasonHangup, 0),
	}
	ignore := cmpopts.IgnoreFields(engine.CallRecord{}, "BeginTime", "ConnectedAt", "TotalTime")
	// The owner's writer commits within milliseconds; another node reads
	// the same database.
	var recs []engine.CallRecord
	testutil.Until(t, "bob's history on node 2", wait, func() bool {
		var err error
		recs, err = bob.QueryRecentCalls(ctx(t), engine.RecentCallsFilter{})
		return err == nil && cmp.Diff(want, recs, ignore) == ""
	})
	bob3 := cl.node(3).login("bob", device("other")) // kicks the node 2 device
	again, err := bob3.QueryRecentCalls(ctx(t), engine.RecentCallsFilter{})
	bob3.must("QueryRecentCalls on node 3", err)
	if diff := cmp.Diff(recs, again); diff != "" {
		t.Errorf("bob's history on node 3 differs from node 2's (-2 +3):\n%s", diff)
	}
	aliceRecs, err := alice.QueryRecentCalls(ctx(t), engine.RecentCallsFilter{})
	alice.must("QueryRecentCalls", err)
	if len(aliceRecs) != 3 || aliceRecs[0].Result != engine.ResultOutgoing {
		t.Errorf("alice's history: %+v", aliceRecs)
	}

	var lists [3][]store.Record
	for i := range 3 {
		var out struct {
			Records []store.Record `json:"records"`
		}
		code, err := cl.node(i+1).admin("GET", "/v1/calls?user=bob", nil, &out)
		if err != nil || code != http.StatusOK {
			t.Fatalf("node %d: GET /v1/calls: %d %v", i+1, code, err)
		}
		lists[i] = out.Records
	}
	if len(lists[0]) != 3 {
		t.Fatalf("admin records of bob on node 1: %d, want 3", len(lists[0]))
	}
	for i := 1; i < 3; i++ {
		if diff := cmp.Diff(lists[0], lists[i]); diff != "" {
			t.Errorf("admin records on node %d differ from node 1's (-1 +%d):\n%s", i+1, i+1, diff)
		}
	}
}

// TestClusterUsersAndGroups: users and groups changed through one node's
// admin API are known on every node (broadcast on NATS).
func TestClusterUsersAndGroups(t *testing.T) {
	cl := newCluster(t, 3)
	cl.node(2).group("team", "alice", "bob")
	for _, i := range []int{1, 3} {
		testutil.Until(t, "the group on the other nodes", wait, func() bool {
			var g store.Group
			code, err := cl.node(i).admin("GET", "/v1/groups/team", nil, &g)
			return err == nil && code == http.StatusOK && cmp.Equal(g.Members, []string{"alice", "bob"})
		})
	}
	code, err := cl.node(3).admin("POST", "/v1/groups/team/members", map[string]any{"userIds": []string{"carol"}}, nil)
	if err != nil || code != http.StatusOK {
		t.Fatalf("add member: %d %v", code, err)
	}
	testutil.Until(t, "the new member on node 1", wait, func() bool {
		var g store.Group
		code, err := cl.node(1).admin("GET", "/v1/groups/team", nil, &g)
		return err == nil && code == http.StatusOK && cmp.Equal(g.Members, []string{"alice", "bob", "carol"})
	})
	if code, err := cl.node(1).admin("DELETE", "/v1/groups/team", nil, nil); err != nil || code != http.StatusOK {
		t.Fatalf("delete group: %d %v", code, err)
	}
	testutil.Until(t, "the group gone on node 2", wait, func() bool {
		code, err := cl.node(2).admin("GET", "/v1/groups/team", nil, nil)
		return err == nil && code == http.StatusNotFound
	})

	// A user added on node 1 who never logged in can be called from node 2.
	cl.node(1).users("zed")
	alice := cl.node(2).login("alice")
	testutil.Until(t, "zed known on node 2", wait, func() bool {
		info, err := alice.Call(ctx(t), "zed", engine.MediaTypeAudio, engine.CallParams{})
		if err != nil {
			return false
		}
		alice.must("Hangup", alice.Hangup(ctx(t)))
		alice.expect(cancelled(info, "alice", engine.ReasonCanceled))
		return true
	})
}
