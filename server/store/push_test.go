package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// setPushEndpoints sets each of eps as alice's, the i-th made i seconds
// after base.
func setPushEndpoints(ctx context.Context, t *testing.T, s *Store, base time.Time, eps []PushEndpoint) {
	t.Helper()
	for i, ep := range eps {
		ep.UserID, ep.CreatedAt = "alice", base.Add(time.Duration(i)*time.Second)
		if err := s.SetPushEndpoint(ctx, ep); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPushEndpoints(t *testing.T) {
	forEachDB(t, func(t *testing.T, d testDB) {
		t.Helper()
		s, _ := openTemp(t, d)
		ctx := context.Background()
		base := time.UnixMilli(1_700_000_000_000)
		setPushEndpoints(ctx, t, s, base, []PushEndpoint{
			{URL: "https://a.example/1", Kind: "webhook"}, {URL: "https://ntfy.example/topic", Kind: "ntfy"}, {URL: "https://a.example/1", Kind: "webhook"}})
		got, err := s.PushEndpoints(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		want := []PushEndpoint{
			{UserID: "alice", URL: "https://a.example/1", Kind: "webhook", CreatedAt: base.Add(2 * time.Second)},
			{UserID: "alice", URL: "https://ntfy.example/topic", Kind: "ntfy", CreatedAt: base.Add(time.Second)},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("endpoints (-want +got):\n%s", diff)
		}
		// At most MaxPushEndpoints: the oldest go.
		more := make([]PushEndpoint, MaxPushEndpoints)
		for i := range more {
			more[i] = PushEndpoint{URL: "https://b.example/" + string(rune('a'+i)), Kind: "webhook"}
		}
		setPushEndpoints(ctx, t, s, base.Add(10*time.Second), more)
		got, _ = s.PushEndpoints(ctx, "alice")
		if len(got) != MaxPushEndpoints || got[0].URL != "https://b.example/e" || got[len(got)-1].URL != "https://b.example/a" {
			t.Errorf("after %d more: %v", MaxPushEndpoints, got)
		}
		if n, err := s.DeletePushEndpoint(ctx, "alice", "https://b.example/a"); n != 1 || err != nil {
			t.Errorf("delete one: %d %v", n, err)
		}
		if n, err := s.DeletePushEndpoint(ctx, "alice", ""); n != MaxPushEndpoints-1 || err != nil {
			t.Errorf("delete all: %d %v", n, err)
		}
		if got, _ := s.PushEndpoints(ctx, "bob"); len(got) != 0 {
			t.Errorf("bob has %v", got)
		}
	})
}
