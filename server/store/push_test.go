package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestPushEndpoints(t *testing.T) {
	forEachDB(t, func(t *testing.T, d testDB) {
		t.Helper()
		s, _ := openTemp(t, d)
		ctx := context.Background()
		base := time.UnixMilli(1_700_000_000_000)
		for i, u := range []string{"https://a.example/1", "https://ntfy.example/topic", "https://a.example/1"} {
			kind := "webhook"
			if i == 1 {
				kind = "ntfy"
			}
			if err := s.SetPushEndpoint(ctx, PushEndpoint{UserID: "alice", URL: u, Kind: kind, CreatedAt: base.Add(time.Duration(i) * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
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
		for i := range MaxPushEndpoints {
			if err := s.SetPushEndpoint(ctx, PushEndpoint{UserID: "alice", URL: "https://b.example/" + string(rune('a'+i)), Kind: "webhook",
				CreatedAt: base.Add(time.Duration(10+i) * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
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
