package e2e

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/testutil"
	clusterpkg "github.com/termcall/termcall/server/cluster"
)

// expectWithin is expect with a longer deadline (node loss is noticed
// after the cluster's DeadAfter).
func (c *client) expectWithin(d time.Duration, want ...engine.Event) {
	c.t.Helper()
	got := c.rec.take(len(want), d)
	if diff := cmp.Diff(want, got, ignoreTotalTime); diff != "" {
		c.t.Fatalf("%s: events (-want +got):\n%s", c.id, diff)
	}
}

// TestClusterNodeCrash: node 2 stops abruptly (no heartbeat, no goodbye,
// its WebSockets cut). The calls it owned end for the devices of other
// nodes with endByServer; the calls of other nodes it took part in lose
// its devices as if their grace ran out; a call between nodes 1 and 3 is
// untouched; the busy locks it held are released, so its callees can be
// called again.
func TestClusterNodeCrash(t *testing.T) {
	cl := newCluster(t, 3)
	n1, n2, n3 := cl.node(1), cl.node(2), cl.node(3)
	alice, bob := n1.login("alice"), n2.login("bob")
	carol, dave := n2.login("carol"), n3.login("dave")
	erin, frank := n1.login("erin"), n3.login("frank")
	gina, hank := n2.login("gina"), n3.login("hank")

	owned := connect1v1(t, carol, dave) // owned by node 2
	joined := connect1v1(t, alice, bob) // owned by node 1, bob on node 2
	other := connect1v1(t, erin, frank) // nodes 1 and 3 only
	ringing := gina.mustCall("hank", engine.MediaTypeAudio, engine.CallParams{})
	hank.expect(received(ringing, "gina", "hank", ""))

	t0 := time.Now()
	n2.srv.SimulateCrash()
	within := 4*clusterDead + 5*time.Second
	dave.expectWithin(within, engine.CallEnd{CallID: owned.CallID, RoomID: owned.RoomID, MediaType: owned.MediaType,
		Role: engine.RoleCalled, Reason: engine.ReasonEndByServer})
	hank.expectWithin(within, cancelled(ringing, "hank", engine.ReasonEndByServer))
	alice.expectWithin(within, engine.UserLeave{CallID: joined.CallID, UserID: "bob"}, end(joined, engine.RoleCaller, "bob", engine.ReasonOffline))
	t.Logf("crash to its calls ended on the other nodes: %v", time.Since(t0).Round(time.Millisecond))
	erin.quiet()
	frank.quiet()
	if erin.Status() != engine.StatusAccept || frank.Status() != engine.StatusAccept {
		t.Errorf("the call between nodes 1 and 3: erin %v, frank %v; want both still in it", erin.Status(), frank.Status())
	}

	// The dead node's busy locks are gone: dave and hank can be called.
	reject1v1(t, alice, dave)
	cancel1v1(t, alice, hank)

	// The surviving call goes on normally.
	erin.must("Hangup", erin.Hangup(ctx(t)))
	erin.expect(end(other, engine.RoleCaller, "erin", engine.ReasonHangup))
	frank.expect(engine.UserLeave{CallID: other.CallID, UserID: "erin"}, end(other, engine.RoleCalled, "erin", engine.ReasonHangup))
}

// TestClusterFenced: node 1's registration is deleted under it (as when
// the others declared it dead while it was only cut off): at its next
// heartbeat it learns it is fenced and drops its calls and devices; the
// others end their side of its calls as for a dead node, each device
// hearing the end once; then node 1 registers again and takes calls.
func TestClusterFenced(t *testing.T) {
	cl := newCluster(t, 2)
	n1, n2 := cl.node(1), cl.node(2)
	alice, bob := n1.login("alice"), n2.login("bob")
	carol, dave := n2.login("carol"), n1.login("dave")
	mine := connect1v1(t, alice, bob)    // owned by node 1
	theirs := connect1v1(t, carol, dave) // owned by node 2, dave on node 1

	nc, err := nats.Connect(cl.nats.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx(t), "termcall_nodes")
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx(t), clusterpkg.Token("n1")); err != nil {
		t.Fatal(err)
	}
	within := 4*clusterDead + 5*time.Second
	alice.expectWithin(within, engine.CallEnd{CallID: mine.CallID, RoomID: mine.RoomID, MediaType: mine.MediaType,
		Role: engine.RoleCaller, Reason: engine.ReasonEndByServer})
	bob.expectWithin(within, engine.CallEnd{CallID: mine.CallID, RoomID: mine.RoomID, MediaType: mine.MediaType,
		Role: engine.RoleCalled, Reason: engine.ReasonEndByServer})
	dave.expectWithin(within, engine.CallEnd{CallID: theirs.CallID, RoomID: theirs.RoomID, MediaType: theirs.MediaType,
		Role: engine.RoleCalled, Reason: engine.ReasonEndByServer})
	carol.expectWithin(within, engine.UserLeave{CallID: theirs.CallID, UserID: "dave"}, end(theirs, engine.RoleCaller, "dave", engine.ReasonOffline))
	bob.quiet()
	carol.quiet()

	// Node 1 registers again; a new login there calls bob.
	var erin *client
	testutil.Until(t, "node 1 ready again", within, func() bool {
		code, err := n1.admin("GET", "/readyz", nil, nil)
		return err == nil && code == 200
	})
	erin = n1.login("erin")
	info := erin.mustCall("bob", engine.MediaTypeAudio, engine.CallParams{})
	bob.expect(received(info, "erin", "bob", ""))
}
