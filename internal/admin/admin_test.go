package admin

import (
	"context"
	"errors"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/usersig"
)

func TestClient(t *testing.T) {
	const app, secret = 1400000001, "test-secret"
	ctx := context.Background()
	srv, err := server.New(ctx, server.Config{SDKAppID: app, Secret: secret, DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close(context.Background())
	})
	sig, err := usersig.Gen(app, secret, "administrator", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{BaseURL: hs.URL, UserSig: sig}
	if err := c.AddUsers(ctx, []string{"alice", "bob"}); err != nil {
		t.Fatal(err)
	}
	checkGroupLifecycle(ctx, t, c)
	checkClientErrors(ctx, t, srv, hs.URL, sig)
}

// checkGroupLifecycle creates group g1 with alice, adds bob, removes alice,
// lists it, fails to create it again, deletes it and fails to find it.
func checkGroupLifecycle(ctx context.Context, t *testing.T, c *Client) {
	t.Helper()
	g, err := c.CreateGroup(ctx, Group{GroupID: "g1", Name: "one", Members: []string{"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	ignore := cmpopts.IgnoreFields(Group{}, "CreatedAt")
	if diff := cmp.Diff(Group{GroupID: "g1", Name: "one", Members: []string{"alice"}}, g, ignore); diff != "" {
		t.Errorf("create (-want +got):\n%s", diff)
	}
	if g, err = c.AddMembers(ctx, "g1", []string{"bob"}); err != nil || len(g.Members) != 2 {
		t.Fatalf("add members: %v %v", g, err)
	}
	if g, err = c.RemoveMember(ctx, "g1", "alice"); err != nil || !cmp.Equal(g.Members, []string{"bob"}) {
		t.Fatalf("remove member: %v %v", g, err)
	}
	gs, err := c.Groups(ctx)
	if err != nil || len(gs) != 1 || gs[0].GroupID != "g1" {
		t.Fatalf("groups: %v %v", gs, err)
	}
	_, err = c.CreateGroup(ctx, Group{GroupID: "g1"})
	if protocol.CodeOf(err) != protocol.CodeGroupExists {
		t.Errorf("duplicate group: %v", err)
	}
	if err := c.DeleteGroup(ctx, "g1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Group(ctx, "g1"); protocol.CodeOf(err) != protocol.CodeGroupNotFound {
		t.Errorf("deleted group: %v", err)
	}
}

// checkClientErrors checks a bad admin sig (a 2xxx code) and a closed
// server (CodeServerUnreachable carrying ECONNREFUSED).
func checkClientErrors(ctx context.Context, t *testing.T, srv *server.Server, base, sig string) {
	t.Helper()
	bad := &Client{BaseURL: base, UserSig: "garbage"}
	var pe *protocol.Error
	if err := bad.AddUsers(ctx, []string{"x"}); !errors.As(err, &pe) || pe.Code/1000 != 2 {
		t.Errorf("bad sig: %v", err)
	}
	hs2 := httptest.NewServer(srv.Handler())
	url := hs2.URL
	hs2.Close()
	if err := (&Client{BaseURL: url, UserSig: sig}).AddUsers(ctx, []string{"x"}); protocol.CodeOf(err) != protocol.CodeServerUnreachable || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("closed server: %v, want code 5002 carrying ECONNREFUSED", err)
	}
}
