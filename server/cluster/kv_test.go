package cluster_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/termcall/termcall/server/cluster"
)

// TestKV: create-if-absent, compare-and-set by revision, deletes at a
// revision, list and watch, the same on both backends.
func TestKV(t *testing.T) {
	eachBackend(t, func(t *testing.T, f *fleet) {
		t.Helper()
		ctx := ctxT(t)
		kv, err := f.node().Bucket(ctx, "kvtest")
		must(t, "bucket", err)

		_, ch, err := kv.Watch(ctx, "a.")
		must(t, "watch", err)

		r1, err := kv.Create(ctx, "a.x", []byte("1"))
		must(t, "create", err)
		_, err = kv.Create(ctx, "a.x", []byte("2"))
		mustErr(t, "create again", err, cluster.ErrExists)
		_, err = kv.Update(ctx, "a.x", []byte("2"), r1+100)
		mustErr(t, "update at a wrong revision", err, cluster.ErrRevision)
		r2, err := kv.Update(ctx, "a.x", []byte("2"), r1)
		must(t, "update", err)
		if r2 <= r1 {
			t.Fatalf("revision %d after %d", r2, r1)
		}
		mustErr(t, "delete at the old revision", kv.Delete(ctx, "a.x", r1), cluster.ErrRevision)
		e, err := kv.Get(ctx, "a.x")
		must(t, "get", err)
		if diff := cmp.Diff(cluster.Entry{Key: "a.x", Value: []byte("2"), Rev: r2}, e); diff != "" {
			t.Fatalf("get (-want +got):\n%s", diff)
		}
		must(t, "delete", kv.Delete(ctx, "a.x", r2))
		_, err = kv.Get(ctx, "a.x")
		mustErr(t, "get deleted", err, cluster.ErrNotFound)
		_, err = kv.Update(ctx, "a.x", []byte("3"), r2)
		mustErr(t, "update deleted", err, cluster.ErrRevision)
		r3, err := kv.Create(ctx, "a.x", []byte("3"))
		must(t, "create after delete", err)
		_, err = kv.Put(ctx, "b.y", []byte("4"))
		must(t, "put", err)
		must(t, "delete absent", kv.Delete(ctx, "a.none", 0))
		_, err = kv.List(ctx, "a")
		if err == nil {
			t.Fatal("list with a prefix without a dot: no error")
		}

		sortEntries := cmpopts.SortSlices(func(a, b cluster.Entry) bool { return a.Key < b.Key })
		ignoreRev := cmpopts.IgnoreFields(cluster.Entry{}, "Rev")
		all, err := kv.List(ctx, "")
		must(t, "list", err)
		want := []cluster.Entry{{Key: "a.x", Value: []byte("3")}, {Key: "b.y", Value: []byte("4")}}
		if diff := cmp.Diff(want, all, sortEntries, ignoreRev); diff != "" {
			t.Fatalf("list (-want +got):\n%s", diff)
		}
		as, err := kv.List(ctx, "a.")
		must(t, "list a.", err)
		if diff := cmp.Diff(want[:1], as, ignoreRev); diff != "" {
			t.Fatalf("list a. (-want +got):\n%s", diff)
		}

		// The watch saw a.* only, in order, up to the latest: every change
		// on the memory backend; on NATS, changes that a newer one
		// replaced before the watch was handed them may be missing
		// (KV.Watch).
		wantW := []cluster.Entry{
			{Key: "a.x", Value: []byte("1"), Rev: r1},
			{Key: "a.x", Value: []byte("2"), Rev: r2},
			{Key: "a.x", Deleted: true},
			{Key: "a.x", Value: []byte("3"), Rev: r3},
		}
		got := watchUntil(t, ch, wantW[len(wantW)-1])
		if f.kind == "memory" {
			if diff := cmp.Diff(wantW, got); diff != "" {
				t.Fatalf("watch (-want +got):\n%s", diff)
			}
		} else if !inOrder(got, wantW) {
			t.Fatalf("watch: got %v, want an ordered subset of %v ending at the latest", got, wantW)
		}

		// A new watch starts with the live keys.
		initial, _, err := kv.Watch(ctx, "")
		must(t, "watch all", err)
		if diff := cmp.Diff(want, initial, sortEntries, ignoreRev); diff != "" {
			t.Fatalf("initial (-want +got):\n%s", diff)
		}
	})
}

// TestToken: any string is one valid key token, and comes back.
func TestToken(t *testing.T) {
	for _, s := range []string{"", "alice", "a.b", "é/ü *>", "i:42", "s:room one"} {
		tok := cluster.Token(s)
		for _, r := range tok {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '=') {
				t.Errorf("Token(%q) = %q has %q", s, tok, r)
			}
		}
		back, err := cluster.Untoken(tok)
		if err != nil || back != s {
			t.Errorf("Untoken(Token(%q)) = %q, %v", s, back, err)
		}
	}
}

// watchUntil reads a watch's changes up to and including last (a
// delete's revision cleared: the test cannot know it).
func watchUntil(t *testing.T, ch <-chan cluster.Entry, last cluster.Entry) []cluster.Entry {
	t.Helper()
	var got []cluster.Entry
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e, ok := <-ch:
			if !ok {
				t.Fatalf("watch closed after %v", got)
			}
			if e.Deleted {
				e.Rev = 0
			}
			got = append(got, e)
			if cmp.Equal(e, last) {
				return got
			}
		case <-deadline:
			t.Fatalf("watch: %v in 10 s, not %v", got, last)
		}
	}
}

// inOrder reports whether got is want with some changes left out, in
// want's order.
func inOrder(got, want []cluster.Entry) bool {
	i := 0
	for _, g := range got {
		for i < len(want) && !cmp.Equal(g, want[i]) {
			i++
		}
		if i == len(want) {
			return false
		}
		i++
	}
	return true
}
