package cluster_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/server/cluster"
)

// TestPresence: devices per user, moves between nodes, deletes only by the
// holding node, watches, and releasing a dead node's devices.
func TestPresence(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
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
		changes := testutil.Collect(t, "watch", ch, len(want), 10*time.Second)
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

// TestTakeover: a single-device login displaces the previous device; the
// same device again displaces nothing; only the holder empties the slot.
func TestTakeover(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		ctx := ctxT(t)
		a, b := f.state(f.node(), "A"), f.state(f.node(), "B")
		d1 := cluster.Device{User: "alice", Device: "d1", Node: "A"}
		d2 := cluster.Device{User: "alice", Device: "d2", Node: "B"}
		prev, err := a.Presence.Takeover(ctx, d1)
		if err != nil || prev != nil {
			t.Fatalf("first login: %v, %v", prev, err)
		}
		prev, err = a.Presence.Takeover(ctx, d1)
		if err != nil || prev != nil {
			t.Fatalf("same device again: %v, %v", prev, err)
		}
		prev, err = b.Presence.Takeover(ctx, d2)
		if err != nil || prev == nil || *prev != d1 {
			t.Fatalf("second device: %v, %v; want d1 displaced", prev, err)
		}
		if ok, err := a.Presence.ReleaseLogin(ctx, d1); err != nil || ok {
			t.Fatalf("stale logout: %v, %v", ok, err)
		}
		if _, err := a.ReleaseNode(ctx, "B"); err != nil {
			t.Fatal(err)
		}
		prev, err = a.Presence.Takeover(ctx, d1)
		if err != nil || prev != nil {
			t.Fatalf("login after B's reap: %v, %v; want nothing displaced", prev, err)
		}
		if ok, err := a.Presence.ReleaseLogin(ctx, d1); err != nil || !ok {
			t.Fatalf("logout: %v, %v", ok, err)
		}
	})
}

// TestTakeoverRace: 8 nodes log one user in at once (no multi-device), 50
// times, over an old device: every device but the last is displaced
// (kicked) exactly once, and the survivor holds the slot.
func TestTakeoverRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		ctx := ctxT(t)
		const n = 8
		var states []*cluster.State
		for i := range n {
			states = append(states, f.state(f.node(), fmt.Sprintf("N%d", i)))
		}
		for round := range 50 {
			user := fmt.Sprintf("u%d", round)
			old := cluster.Device{User: user, Device: "old", Node: "N0"}
			if _, err := states[0].Presence.Takeover(ctx, old); err != nil {
				t.Fatal(err)
			}
			start := make(chan struct{})
			displaced := make([]*cluster.Device, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i, s := range states {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					displaced[i], errs[i] = s.Presence.Takeover(ctx, cluster.Device{User: user, Device: fmt.Sprintf("d%d", i), Node: s.Node})
				}()
			}
			close(start)
			wg.Wait()
			kicked := map[string]int{}
			for i, d := range displaced {
				if errs[i] != nil {
					t.Fatalf("round %d: node %d: %v", round, i, errs[i])
				}
				if d == nil {
					t.Fatalf("round %d: node %d displaced nothing; the slot was never empty", round, i)
				}
				kicked[d.Device]++
			}
			var survivors []string
			for _, d := range append([]string{"old"}, devNames(n)...) {
				switch kicked[d] {
				case 0:
					survivors = append(survivors, d)
				case 1:
				default:
					t.Fatalf("round %d: %s kicked %d times", round, d, kicked[d])
				}
			}
			if len(survivors) != 1 {
				t.Fatalf("round %d: survivors %v, want exactly one", round, survivors)
			}
			// The survivor is the slot's holder: logging "old" in again
			// displaces exactly it.
			prev, err := states[0].Presence.Takeover(ctx, old)
			if err != nil || prev == nil || prev.Device != survivors[0] {
				t.Fatalf("round %d: slot holder %v, %v; want %s", round, prev, err, survivors[0])
			}
		}
	})
}

func devNames(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("d%d", i))
	}
	return out
}
