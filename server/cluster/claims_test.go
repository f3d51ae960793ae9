package cluster_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server/cluster"
)

var ignoreClaimRev = cmpopts.IgnoreFields(cluster.Claim{}, "Rev")

// TestClaims: take, lose with the holder named, release only by the
// holder's revision, and release a node's claims.
func TestClaims(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		ctx := ctxT(t)
		a, b := f.state(f.node(), "A"), f.state(f.node(), "B")

		la, err := a.Busy.Claim(ctx, "alice", cluster.Owner{Node: "A", Call: "c1"})
		must(t, "claim", err)
		_, err = b.Busy.Claim(ctx, "alice", cluster.Owner{Node: "B", Call: "c2"})
		var te *cluster.TakenError
		if !errors.As(err, &te) || !errors.Is(err, cluster.ErrTaken) {
			t.Fatalf("second claim: got %v, want a TakenError", err)
		}
		if diff := cmp.Diff(la, te.Holder); diff != "" {
			t.Fatalf("holder (-want +got):\n%s", diff)
		}
		got, err := b.Busy.Get(ctx, "alice")
		must(t, "get", err)
		if diff := cmp.Diff(la, got); diff != "" {
			t.Fatalf("get (-want +got):\n%s", diff)
		}

		// A stale claim (an older revision) cannot release a newer one.
		must(t, "release", a.Busy.Release(ctx, la))
		lb, err := b.Busy.Claim(ctx, "alice", cluster.Owner{Node: "B", Call: "c2"})
		must(t, "claim after release", err)
		mustErr(t, "stale release", a.Busy.Release(ctx, la), cluster.ErrNotOwner)
		if got, err := a.Busy.Get(ctx, "alice"); err != nil || got.Owner.Node != "B" {
			t.Fatalf("after the stale release: %v, %v; want B's claim", got, err)
		}

		// Rooms and calls are claims too, in their own buckets: the same
		// key in another bucket is free.
		room := protocol.IntRoom(42).Key()
		_, err = a.Rooms.Claim(ctx, room, cluster.Owner{Node: "A", Call: "c1"})
		must(t, "room", err)
		_, err = a.Calls.Claim(ctx, "alice", cluster.Owner{Node: "A"})
		must(t, "calls bucket is separate", err)
		_, err = b.Rooms.Claim(ctx, room, cluster.Owner{Node: "B", Call: "c2"})
		mustErr(t, "room taken", err, cluster.ErrTaken)
		for _, u := range []string{"bob", "carol"} {
			_, err := a.Busy.Claim(ctx, u, cluster.Owner{Node: "A", Call: "c9"})
			must(t, "claim "+u, err)
		}

		byA, err := b.Busy.ByNode(ctx, "A")
		must(t, "by node", err)
		want := []cluster.Claim{
			{Key: "bob", Owner: cluster.Owner{Node: "A", Call: "c9"}},
			{Key: "carol", Owner: cluster.Owner{Node: "A", Call: "c9"}},
		}
		if diff := cmp.Diff(want, byA, ignoreClaimRev); diff != "" {
			t.Fatalf("by node (-want +got):\n%s", diff)
		}

		// B releases what dead A held; B's own lock stays.
		rel, err := b.ReleaseNode(ctx, "A")
		must(t, "release node", err)
		wantRel := cluster.Released{
			Calls: []cluster.Claim{{Key: "alice", Owner: cluster.Owner{Node: "A"}}},
			Busy:  want,
			Rooms: []cluster.Claim{{Key: room, Owner: cluster.Owner{Node: "A", Call: "c1"}}},
		}
		if diff := cmp.Diff(wantRel, rel, ignoreClaimRev); diff != "" {
			t.Fatalf("released (-want +got):\n%s", diff)
		}
		for _, u := range []string{"bob", "carol"} {
			_, err := b.Busy.Get(ctx, u)
			mustErr(t, "get "+u, err, cluster.ErrNotFound)
		}
		if got, err := b.Busy.Get(ctx, "alice"); err != nil || got.Rev != lb.Rev {
			t.Fatalf("B's lock after releasing A: %v, %v", got, err)
		}
		again, err := a.ReleaseNode(ctx, "A")
		must(t, "release node again", err)
		if diff := cmp.Diff(cluster.Released{}, again); diff != "" {
			t.Fatalf("second release (-want +got):\n%s", diff)
		}
	})
}

// claimRace has n nodes (separate backends: on NATS separate connections)
// claim one key at once behind a barrier, 50 times: exactly one wins, and
// every loser is told the winner.
func claimRace(t *testing.T, f *fleet, pick func(*cluster.State) *cluster.Claims, n int, reuse bool) {
	t.Helper()
	ctx := ctxT(t)
	states := make([]*cluster.State, n)
	for i := range states {
		states[i] = f.state(f.node(), fmt.Sprintf("N%d", i))
	}
	for round := range 50 {
		key := fmt.Sprintf("key-%d", round)
		if reuse {
			key = "key"
		}
		start := make(chan struct{})
		type result struct {
			claim cluster.Claim
			err   error
		}
		results := make([]result, n)
		var wg sync.WaitGroup
		for i, s := range states {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				c, err := pick(s).Claim(ctx, key, cluster.Owner{Node: s.Node, Call: fmt.Sprintf("call-%d", i)})
				results[i] = result{c, err}
			}()
		}
		close(start)
		wg.Wait()
		var winners []cluster.Claim
		for _, r := range results {
			if r.err == nil {
				winners = append(winners, r.claim)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("round %d: %d winners (%v), want 1", round, len(winners), results)
		}
		w := winners[0]
		for i, r := range results {
			if r.err == nil {
				continue
			}
			var te *cluster.TakenError
			if !errors.As(r.err, &te) {
				t.Fatalf("round %d: node %d: %v, want a TakenError", round, i, r.err)
			}
			if te.Holder != w {
				t.Fatalf("round %d: node %d was told holder %v, the winner is %v", round, i, te.Holder, w)
			}
		}
		// Release, so the next round (another key) starts from a bucket
		// holding tombstones as well as live keys.
		must(t, "release", pick(states[0]).Release(ctx, w))
	}
}

// TestBusyLockRace: 8 nodes try to take one user's busy lock at once.
func TestBusyLockRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		claimRace(t, f, func(s *cluster.State) *cluster.Claims { return s.Busy }, 8, false)
	})
}

// TestRoomClaimRace: 8 nodes try to claim one room ID at once.
func TestRoomClaimRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		claimRace(t, f, func(s *cluster.State) *cluster.Claims { return s.Rooms }, 8, false)
	})
}

// TestReclaimRace: after a release, the key is free again and the race to
// retake it (create over a deleted key: on NATS an update at the delete
// marker's revision) still has exactly one winner, 50 times on one key.
func TestReclaimRace(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		ctx := ctxT(t)
		s := f.state(f.node(), "N0")
		for range 3 {
			c, err := s.Busy.Claim(ctx, "key", cluster.Owner{Node: "N0"})
			must(t, "claim", err)
			must(t, "release", s.Busy.Release(ctx, c))
		}
		claimRace(t, f, func(s *cluster.State) *cluster.Claims { return s.Busy }, 8, true)
	})
}

// TestOpenConcurrent: 8 nodes starting at once all create (or find) the
// buckets, and share them.
func TestOpenConcurrent(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		ctx := ctxT(t)
		nodes := make([]*node, 8)
		for i := range nodes {
			nodes[i] = f.node()
		}
		states := make([]*cluster.State, len(nodes))
		errs := make([]error, len(nodes))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				states[i], errs[i] = cluster.Open(ctx, n, fmt.Sprintf("N%d", i))
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			must(t, fmt.Sprintf("open %d", i), err)
		}
		c, err := states[3].Calls.Claim(ctx, "c1", cluster.Owner{Node: "N3"})
		must(t, "claim", err)
		for i, s := range states {
			got, err := s.Calls.Get(ctx, "c1")
			if err != nil || got != c {
				t.Fatalf("node %d sees %v, %v; want %v", i, got, err, c)
			}
		}
	})
}

// TestClaimAfterRelease: a key released here is claimed again by an update
// at its delete marker (NATS), and that shortcut never beats the rules: a
// stale marker (someone claimed and released the key since) falls back to
// create-if-absent, a key taken meanwhile is refused, and of two racing
// claims, one with the marker and one without, exactly one wins, 50 times.
func TestClaimAfterRelease(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		ctx := ctxT(t)
		a, b := f.state(f.node(), "A"), f.state(f.node(), "B")
		own := func(n, c string) cluster.Owner { return cluster.Owner{Node: n, Call: c} }

		cl, err := a.Busy.Claim(ctx, "alice", own("A", "c1"))
		must(t, "claim", err)
		must(t, "release", a.Busy.Release(ctx, cl))
		cl, err = a.Busy.Claim(ctx, "alice", own("A", "c2"))
		must(t, "claim again (marker)", err)
		_, err = b.Busy.Claim(ctx, "alice", own("B", "c3"))
		mustErr(t, "taken after a marker claim", err, cluster.ErrTaken)
		must(t, "release again", a.Busy.Release(ctx, cl))

		// B claims and releases: A's marker is stale.
		clb, err := b.Busy.Claim(ctx, "alice", own("B", "c4"))
		must(t, "B claims", err)
		must(t, "B releases", b.Busy.Release(ctx, clb))
		cl, err = a.Busy.Claim(ctx, "alice", own("A", "c5"))
		must(t, "claim with a stale marker", err)
		if got, err := b.Busy.Get(ctx, "alice"); err != nil || got.Owner.Call != "c5" {
			t.Fatalf("holder: %+v %v; want A's c5", got, err)
		}
		// A stale marker must not take a key that is held.
		must(t, "release", a.Busy.Release(ctx, cl))
		clb, err = b.Busy.Claim(ctx, "alice", own("B", "c6"))
		must(t, "B claims over A's marker", err)
		_, err = a.Busy.Claim(ctx, "alice", own("A", "c7"))
		mustErr(t, "A's marker claim of a held key", err, cluster.ErrTaken)
		must(t, "B releases", b.Busy.Release(ctx, clb))

		for round := range 50 {
			key := fmt.Sprintf("race-%d", round)
			first, err := a.Busy.Claim(ctx, key, own("A", "x"))
			must(t, "claim", err)
			must(t, "release", a.Busy.Release(ctx, first)) // A holds the marker
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, st := range []*cluster.State{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = st.Busy.Claim(ctx, key, own(st.Node, "y"))
				}()
			}
			wg.Wait()
			if (errs[0] == nil) == (errs[1] == nil) {
				t.Fatalf("round %d: claims %v and %v; want exactly one", round, errs[0], errs[1])
			}
		}
	})
}
