package cluster_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/server/cluster"
)

// TestPresence: devices per user, moves between nodes, deletes only by the
// holding node, watches, and releasing a dead node's devices.
func TestPresence(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		ctx := ctxT(t)
		a, b := f.state(f.node(), "A"), f.state(f.node(), "B")
		initial, ch, err := b.Presence.Watch(ctx, "alice")
		must(t, "watch", err)
		if len(initial) != 0 {
			t.Fatalf("initial %v, want none", initial)
		}
		d1 := cluster.Device{User: "alice", Device: "d1", Node: "A", Multi: true}
		d2 := cluster.Device{User: "alice", Device: "d2", Node: "B"}
		other := cluster.Device{User: "alice.x", Device: "d1", Node: "A"} // a dot in the ID does not leak into alice's keys
		for _, d := range []cluster.Device{d2, d1, other} {
			must(t, "put", a.Presence.Put(ctx, d))
		}
		got, err := b.Presence.List(ctx, "alice")
		must(t, "list", err)
		if diff := cmp.Diff([]cluster.Device{d1, d2}, got); diff != "" {
			t.Fatalf("list (-want +got):\n%s", diff)
		}

		// d1 moves to B: A's late delete (its old WebSocket closing) keeps it.
		moved := d1
		moved.Node = "B"
		must(t, "move", b.Presence.Put(ctx, moved))
		ok, err := a.Presence.Delete(ctx, "alice", "d1", "A")
		must(t, "stale delete", err)
		if ok {
			t.Fatal("A deleted a device B holds")
		}
		ok, err = b.Presence.Delete(ctx, "alice", "d2", "B")
		if err != nil || !ok {
			t.Fatalf("delete: %v, %v", ok, err)
		}

		rel, err := b.Presence.ReleaseNode(ctx, "A")
		must(t, "release node", err)
		if diff := cmp.Diff([]cluster.Device{other}, rel); diff != "" {
			t.Fatalf("released (-want +got):\n%s", diff)
		}

		want := []cluster.PresenceChange{
			{Device: d2}, {Device: d1}, {Device: moved},
			{Device: cluster.Device{User: "alice", Device: "d2"}, Gone: true},
		}
		var changes []cluster.PresenceChange
		deadline := time.After(10 * time.Second)
		for len(changes) < len(want) {
			select {
			case c := <-ch:
				changes = append(changes, c)
			case <-deadline:
				t.Fatalf("watch: %v within 10 s, want %v", changes, want)
			}
		}
		if diff := cmp.Diff(want, changes); diff != "" {
			t.Fatalf("watch (-want +got):\n%s", diff)
		}
		got, err = a.Presence.List(ctx, "alice")
		must(t, "list", err)
		if diff := cmp.Diff([]cluster.Device{moved}, got); diff != "" {
			t.Fatalf("final list (-want +got):\n%s", diff)
		}
	})
}
