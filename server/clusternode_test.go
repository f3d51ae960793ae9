package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/internal/natstest"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/server/cluster"
)

// clusterOpts makes a server a cluster node on nats with fast heartbeats
// (100 ms; dead after 1 s), logging JSON lines to buf.
func clusterOpts(nats, node string, buf *syncBuffer) func(*server.Config) {
	return func(c *server.Config) {
		c.NATS, c.NodeID, c.NoMedia = nats, node, true
		c.ClusterHeartbeat, c.ClusterDeadAfter = 100*time.Millisecond, time.Second
		c.Keepalive = time.Second
		if buf != nil {
			c.Logger = slog.New(slog.NewJSONHandler(buf, nil))
		} else if os.Getenv("CLDEBUG") != "" {
			c.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil)).With("self", node)
		}
	}
}

// waitReady polls /readyz until its status code is want; it returns the
// failing checks.
func waitReady(tb *testing.T, s *fzServer, want int) []string {
	tb.Helper()
	var checks []string
	testutil.WithTimeout(tb, func() string {
		code, b := getReady(tb, nil, "http://"+s.addr)
		if code != want {
			return fmt.Sprintf("/readyz = %d %+v, want %d", code, b, want)
		}
		for _, f := range b.Failing {
			checks = append(checks, f.Check)
		}
		return ""
	}, fzWait)
	return checks
}

// countLines counts the log lines with msg and attribute node.
func countLines(tb testing.TB, buf *syncBuffer, msg, node string) int {
	tb.Helper()
	n := 0
	for _, l := range buf.lines(tb) {
		if l["msg"] == msg && l["node"] == node {
			n++
		}
	}
	return n
}

// TestClusterNodesSeeEachOther: two servers on one NATS each see two live
// nodes; when one stops heartbeating without leaving (a crash), the other
// logs it down exactly once and its gauge drops to 1.
func TestClusterNodesSeeEachOther(t *testing.T) {
	ns := natstest.Start(t)
	var logA syncBuffer
	a := startFzServerWith(t, clusterOpts(ns.URL, "node-a", &logA))
	b := startFzServerWith(t, clusterOpts(ns.URL, "node-b", nil))
	waitMetric(t, a, "termcall_cluster_nodes", 2)
	waitMetric(t, b, "termcall_cluster_nodes", 2)
	if got := waitReady(t, a, 200); len(got) != 0 {
		t.Errorf("node a not ready: %v", got)
	}
	if countLines(t, &logA, "cluster: node up", "node-b") != 1 {
		t.Errorf("node a logged node-b up %d times, want 1", countLines(t, &logA, "cluster: node up", "node-b"))
	}

	t0 := time.Now()
	b.srv.CrashCluster()
	waitMetric(t, a, "termcall_cluster_nodes", 1)
	t.Logf("crash to node down on the other node: %v (heartbeats every 100 ms, dead after 1 s)", time.Since(t0).Round(time.Millisecond))
	waitLine(t, &logA, "cluster: reaped a dead node")
	// Let a few more checks run: still exactly one "down".
	time.Sleep(300 * time.Millisecond)
	if n := countLines(t, &logA, "cluster: node down", "node-b"); n != 1 {
		t.Errorf("node a logged node-b down %d times, want 1", n)
	}
	if got := scrape(t, a.http, "http://"+a.addr+"/metrics")["termcall_cluster_heartbeat_failures_total"]; got != 0 {
		t.Errorf("node a heartbeat failures = %v, want 0", got)
	}
}

// TestClusterUnreachableNATS: New fails with the cluster's error when NATS
// cannot be reached, within the dial timeout, and leaves the data
// directory free.
func TestClusterUnreachableNATS(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.NATS, cfg.NodeID, cfg.ClusterDialTimeout = "nats://127.0.0.1:1", "n1", 2*time.Second
	t0 := time.Now()
	_, err := server.New(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "cluster: NATS at nats://127.0.0.1:1 is unreachable") {
		t.Fatalf("New with an unreachable NATS = %v; want the cluster's unreachable error", err)
	}
	if d := time.Since(t0); d > 8*time.Second {
		t.Errorf("New took %v to fail", d)
	}
	cfg.NATS = ""
	s, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New on the same directory after the failure = %v", err)
	}
	s.Close(context.Background())
}

// TestClusterSameNodeID: a second live node with the same ID is refused.
func TestClusterSameNodeID(t *testing.T) {
	ns := natstest.Start(t)
	startFzServerWith(t, clusterOpts(ns.URL, "same", nil))
	cfg := testConfig(t.TempDir())
	clusterOpts(ns.URL, "same", nil)(&cfg)
	cfg.ClusterDialTimeout = time.Second
	_, err := server.New(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), `node ID "same" is registered`) {
		t.Fatalf("New with a live node's ID = %v; want it refused", err)
	}
}

// TestClusterLosesNATS: with NATS stopped under a running node, /readyz
// fails with the cluster check, a new call and a new login get 6006, and a
// call in progress goes on; once NATS is back on the same port (after more
// than DeadAfter) both nodes are ready again, see each other, and take calls.
func TestClusterLosesNATS(t *testing.T) {
	ns := natstest.Start(t)
	var logA, logB syncBuffer
	s := startFzServerWith(t, clusterOpts(ns.URL, "node-a", &logA))
	other := startFzServerWith(t, clusterOpts(ns.URL, "node-b", &logB))
	waitMetric(t, s, "termcall_cluster_nodes", 2)
	alice, bob := keep(t, s.loginRaw(t, "alice")), keep(t, s.loginRaw(t, "bob"))
	carol := keep(t, s.loginRaw(t, "carol"))
	call := placeCall(t, alice, bob, "bob", "")

	t0 := time.Now()
	ns.Shutdown()
	if got := waitReady(t, s, 503); !cmp.Equal(got, []string{"cluster"}) {
		t.Errorf("/readyz failing checks with NATS down = %v, want [cluster]", got)
	}
	t.Logf("NATS stopped to /readyz 503: %v", time.Since(t0).Round(time.Millisecond))
	carol.refusedWith(t, 10, callFrame(10, "alice", "", ""), protocol.CodeClusterUnavailable)
	dave := keep(t, s.dial(t))
	dave.refusedWith(t, 1, loginFrame(t, 1, "dave", "", false, 0), protocol.CodeClusterUnavailable)
	dave.alive(t)
	// The call in progress goes on: its participants still talk to the
	// server about it, and it is still live.
	alice.request(t, 20, fmt.Sprintf(`{"type":"switchCallMediaType","id":20,"data":{"callId":%q,"mediaType":2}}`, call.CallID))
	bob.alive(t)
	// Wait for a failed heartbeat to be counted.
	testutil.Until(t, "a heartbeat failure counted with NATS down", fzWait, func() bool {
		return scrape(t, s.http, "http://"+s.addr+"/metrics")["termcall_cluster_heartbeat_failures_total"] >= 1
	})

	// Longer than DeadAfter (1 s): when NATS is back, the nodes may find
	// each other silent and fence each other; each registers again.
	time.Sleep(1500 * time.Millisecond)
	ns.Restart(t)
	t0 = time.Now()
	for _, n := range []*fzServer{s, other} {
		if got := waitReady(t, n, 200); len(got) != 0 {
			t.Errorf("/readyz after NATS restarted: failing %v", got)
		}
		waitMetric(t, n, "termcall_cluster_nodes", 2)
	}
	t.Logf("NATS restarted to both nodes ready: %v", time.Since(t0).Round(time.Millisecond))
	// Not asserted (a node whose reconnection lags by more than DeadAfter
	// is rightly fenced), but reported: the watchers' blindness while
	// disconnected normally spares both.
	fencedA := countLines(t, &logA, "cluster: registered again after being fenced", "node-a")
	fenced := fencedA + countLines(t, &logB, "cluster: registered again after being fenced", "node-b")
	t.Logf("nodes fenced by the NATS outage: %d", fenced)
	if fencedA > 0 {
		// Fenced, node-a ended its calls and dropped its devices (as it
		// must: the others had declared it dead): go on with new
		// connections, and there is no call left to hang up.
		carol, dave = keep(t, s.loginRaw(t, "carol")), keep(t, s.dial(t))
	}
	dave.request(t, 2, loginFrame(t, 2, "dave", "", false, 0))
	m := carol.request(t, 11, callFrame(11, "dave", "", ""))
	var rep protocol.CallReply
	if err := json.Unmarshal(m.Data, &rep); err != nil || rep.Call.CallID == "" {
		t.Fatalf("call after NATS restarted: %s %v", m.Data, err)
	}
	dave.awaitEvent(t, protocol.EventCallReceived)
	if fencedA == 0 {
		alice.request(t, 21, fmt.Sprintf(`{"type":"hangup","id":21,"data":{"callId":%q}}`, call.CallID))
		bob.awaitEvent(t, protocol.EventCallEnd)
	}
}

// TestClusterFencedNodeRegistersAgain: a node whose registry key is
// deleted under it (as the others do when they declare it dead) is fenced
// at its next heartbeat, registers again, and is ready.
func TestClusterFencedNodeRegistersAgain(t *testing.T) {
	ns := natstest.Start(t)
	var buf syncBuffer
	s := startFzServerWith(t, clusterOpts(ns.URL, "node-f", &buf))
	waitMetric(t, s, "termcall_cluster_nodes", 1)

	ctx, cancel := context.WithTimeout(context.Background(), fzWait)
	defer cancel()
	nc, err := cluster.Dial(ctx, ns.URL, "reaper")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	back, err := cluster.NewNATS(nc, cluster.NATSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kv, err := back.Bucket(ctx, cluster.BucketNodes)
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, cluster.Token("node-f"))
	if err != nil {
		t.Fatal(err)
	}
	if err := kv.Delete(ctx, cluster.Token("node-f"), e.Rev); err != nil {
		// It beat in between: take the new revision once more.
		if e, err = kv.Get(ctx, cluster.Token("node-f")); err == nil {
			err = kv.Delete(ctx, cluster.Token("node-f"), e.Rev)
		}
		if err != nil {
			t.Fatalf("delete the node's key: %v", err)
		}
	}
	waitLine(t, &buf, "cluster: registered again after being fenced")
	if got := waitReady(t, s, 200); len(got) != 0 {
		t.Errorf("/readyz after registering again: failing %v", got)
	}
	if got := scrape(t, s.http, "http://"+s.addr+"/metrics")["termcall_cluster_heartbeat_failures_total"]; got < 1 {
		t.Errorf("heartbeat failures = %v after being fenced, want >= 1", got)
	}
	waitMetric(t, s, "termcall_cluster_nodes", 1)
	if _, err := kv.Get(ctx, cluster.Token("node-f")); err != nil {
		t.Errorf("the node's key after registering again: %v", err)
	}
}

// TestSingleNodeHasNoClusterMetrics: without NATS no cluster code runs and
// /metrics has no cluster series.
func TestSingleNodeHasNoClusterMetrics(t *testing.T) {
	s := startFzServer(t)
	resp, err := s.http.Get("http://" + s.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	for k := range scrape(t, s.http, "http://"+s.addr+"/metrics") {
		if strings.HasPrefix(k, "termcall_cluster_") {
			t.Errorf("single-node /metrics has %s", k)
		}
	}
}
