package e2e

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/natstest"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server"
)

// Engine failover across a list of servers (Options.Server "a,b,c").

// deadURL is the URL of a port nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

func servers(urls ...string) loginOpt {
	return func(o *engine.Options, _ *client) { o.Server = strings.Join(urls, ",") }
}

func wsURL(t *testing.T, u string) string {
	t.Helper()
	w, err := engine.WebSocketURL(u)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestEngineFailsOver: Init skips a server of the list that does not
// answer; a dropped link first resumes on the same server (the call goes
// on); when that server is gone, the engine logs in to the next one, ends
// the call the new server does not know (endByServer, as after a server
// restart) and places calls there.
func TestEngineFailsOver(t *testing.T) {
	t.Parallel()
	a, b := newEnv(t), newEnv(t)
	pxA := newProxy(t, a.ln.Addr().String()) // node a, as its clients see it
	dead := deadURL(t)
	alice := a.login("alice", servers(dead, pxA.url(), b.url), connEvents)
	if got, want := alice.Server(), wsURL(t, pxA.url()); got != want {
		t.Fatalf("alice logged in to %s, want %s (the first server of the list that answers)", got, want)
	}
	bob := a.login("bob", servers(pxA.url(), b.url), connEvents)
	carol := b.login("carol")
	info := connect1v1(t, alice, bob)

	// A dropped link to a live server: resumed there, the call untouched.
	pxA.cut()
	alice.expect(engine.ConnectionChanged{State: engine.Reconnecting}, engine.ConnectionChanged{State: engine.Connected})
	bob.expect(engine.ConnectionChanged{State: engine.Reconnecting}, engine.ConnectionChanged{State: engine.Connected})
	if got, want := alice.Server(), wsURL(t, pxA.url()); got != want || alice.Status() != engine.StatusAccept {
		t.Fatalf("alice after a drop: on %s in status %v; want %s, accept", got, alice.Status(), want)
	}

	// Node a is gone (connections cut, new ones refused): both move to b.
	t0 := time.Now()
	pxA.setRefuse(true)
	pxA.cut()
	for _, c := range []*client{alice, bob} {
		role := engine.RoleCaller
		if c == bob {
			role = engine.RoleCalled
		}
		c.expect(engine.ConnectionChanged{State: engine.Reconnecting}, engine.ConnectionChanged{State: engine.Connected},
			end(info, role, "", engine.ReasonEndByServer))
		if got, want := c.Server(), wsURL(t, b.url); got != want {
			t.Errorf("%s after node a died: on %s, want %s", c.id, got, want)
		}
		if st := c.Status(); st != engine.StatusNone {
			t.Errorf("%s after node a died: status %v, want none", c.id, st)
		}
	}
	t.Logf("node a gone to both engines logged in to node b: %v", time.Since(t0).Round(time.Millisecond))

	// On node b they call and are called as usual.
	info2 := connect1v1(t, alice, carol)
	carol.must("Hangup", carol.Hangup(ctx(t)))
	carol.expect(end(info2, engine.RoleCalled, "carol", engine.ReasonHangup))
	alice.expect(engine.UserLeave{CallID: info2.CallID, UserID: "carol"}, end(info2, engine.RoleCaller, "carol", engine.ReasonHangup))
	info3 := connect1v1(t, carol, bob)
	bob.must("Hangup", bob.Hangup(ctx(t)))
	bob.expect(end(info3, engine.RoleCalled, "bob", engine.ReasonHangup))
	carol.expect(engine.UserLeave{CallID: info3.CallID, UserID: "bob"}, end(info3, engine.RoleCaller, "bob", engine.ReasonHangup))

	// Node b goes away too and node a comes back: round robin to a.
	pxA.setRefuse(false)
	b.stop()
	alice.expect(engine.ConnectionChanged{State: engine.Reconnecting}, engine.ConnectionChanged{State: engine.Connected})
	if got, want := alice.Server(), wsURL(t, pxA.url()); got != want {
		t.Errorf("alice after node b stopped: on %s, want %s", got, want)
	}
}

// TestEngineNoServerAnswers: Init with a list of servers none of which
// answers fails with 5002, naming each.
func TestEngineNoServerAnswers(t *testing.T) {
	t.Parallel()
	d1, d2 := deadURL(t), deadURL(t)
	eng, err := engine.New(engine.Options{Server: d1 + ", " + d2, RequestTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Destroy()
	err = eng.Init(ctx(t), appID, "alice", "sig")
	wantCode(t, "Init with no server up", err, engine.Code(protocol.CodeServerUnreachable))
	for _, u := range []string{d1, d2} {
		if !strings.Contains(err.Error(), strings.TrimPrefix(u, "http://")) {
			t.Errorf("Init error %q does not name %s", err, u)
		}
	}
	if st := eng.ConnectionState(); st != engine.Disconnected {
		t.Errorf("state after a failed Init: %v, want disconnected", st)
	}
}

// TestEngineSkipsUnreadyNode: a cluster node that lost NATS refuses logins
// with 6006; Init moves on to the next server of the list.
func TestEngineSkipsUnreadyNode(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	a := newEnv(t, func(c *server.Config) {
		c.NATS, c.NodeID = ns.URL, "node-a"
		c.ClusterHeartbeat, c.ClusterDeadAfter = 100*time.Millisecond, time.Second
	})
	b := newEnv(t)
	ns.Shutdown()
	testutil.Until(t, "node a to turn unready after NATS stopped", wait, func() bool {
		resp, err := http.Get(a.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	only := a.newClient("alice")
	wantCode(t, "Init on the unready node alone", only.Init(ctx(t), appID, "alice", a.sig("alice", time.Hour)),
		engine.Code(protocol.CodeClusterUnavailable))
	alice := a.login("alice", servers(a.url, b.url))
	if got, want := alice.Server(), wsURL(t, b.url); got != want {
		t.Errorf("alice logged in to %s, want %s (node a refuses logins without NATS)", got, want)
	}
}
