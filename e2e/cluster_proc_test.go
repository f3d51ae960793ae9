package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/natstest"
	"github.com/termcall/termcall/internal/pgtest"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/usersig"
)

// The process-level cluster test: a real NATS (embedded in the test), a
// real PostgreSQL (pgtest) and three `termcall serve` processes, one of
// which is killed with SIGKILL mid-call and restarted.
//
// Until cross-node routing lands, each call is within one node: alice and
// bob (connected) and erin and frank (ringing) on node-1, the node killed;
// carol and dave (connected) on node-2. Once nodes route calls, extend it
// with the same checks for calls whose participants are on several nodes
// (e.g. alice on node-1 calling carol on node-2: the call is owned by
// node-1, so carol must get onCallEnd endByServer when node-1 dies, and
// its records, written by node-1, must be closed by the reaper); the
// helpers here (procNode, the records query) need no change.

// buildTermcall builds termcall into the test's temporary directory.
func buildTermcall(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "termcall")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/termcall/termcall").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// procNode is one `termcall serve` process of the cluster.
type procNode struct {
	t    *testing.T
	bin  string
	id   string
	args []string
	url  string // http://127.0.0.1:port
	cmd  *exec.Cmd
	done chan struct{}

	mu    sync.Mutex
	lines []map[string]any // its JSON log lines
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func startProcNode(t *testing.T, bin, id, natsURL, dsn string) *procNode {
	t.Helper()
	port := freeTCPPort(t)
	n := &procNode{t: t, bin: bin, id: id, url: fmt.Sprintf("http://127.0.0.1:%d", port),
		args: []string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--udp-port", "0", "--media-ip", "127.0.0.1",
			"--node-id", id, "--data", t.TempDir(), "--nats", natsURL, "--database", dsn,
			"--keepalive", "1s", "--grace-period", "1s", "--log-format", "json"}}
	n.start()
	t.Cleanup(n.kill)
	return n
}

func (n *procNode) start() {
	t := n.t
	t.Helper()
	cmd := exec.Command(n.bin, n.args...)
	cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH"), "TERMCALL_SECRET=" + secret,
		"TERMCALL_SDKAPPID=" + strconv.Itoa(appID)}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.cmd, n.done = cmd, make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				n.mu.Lock()
				n.lines = append(n.lines, m)
				n.mu.Unlock()
			}
		}
		_ = cmd.Wait()
		close(n.done)
	}()
	n.waitReady()
}

// waitReady polls /readyz until it answers 200.
func (n *procNode) waitReady() {
	n.t.Helper()
	testutil.WithTimeout(n.t, func() string {
		resp, err := http.Get(n.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return ""
			}
		}
		select {
		case <-n.done:
			n.t.Fatalf("%s exited before it was ready: %v", n.id, n.logTail())
		default:
		}
		return fmt.Sprintf("%s: /readyz not 200 (%v); log: %v", n.id, err, n.logTail())
	}, 30*time.Second)
}

func (n *procNode) logTail() []map[string]any {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lines[max(0, len(n.lines)-10):]
}

// kill sends SIGKILL and waits for the process to be gone.
func (n *procNode) kill() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.done
}

// findLog returns the first log line with msg whose attributes match
// attrs, or nil.
func (n *procNode) findLog(msg string, attrs map[string]any) map[string]any {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, l := range n.lines {
		if l["msg"] != msg {
			continue
		}
		ok := true
		for k, v := range attrs {
			if l[k] != v {
				ok = false
			}
		}
		if ok {
			return l
		}
	}
	return nil
}

// waitClusterNodes waits until each node counts three nodes in its
// cluster (when says since what).
func waitClusterNodes(t *testing.T, when string, nodes ...*procNode) {
	t.Helper()
	for _, n := range nodes {
		testutil.WithTimeout(t, func() string {
			if got := n.metric("termcall_cluster_nodes"); got != 3 {
				return fmt.Sprintf("%s sees %v nodes%s, want 3", n.id, got, when)
			}
			return ""
		}, 10*time.Second)
	}
}

// metric reads one unlabelled series of the node's /metrics.
func (n *procNode) metric(name string) float64 {
	resp, err := http.Get(n.url + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == name {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	return -1
}

// procClient logs an engine in to the servers (a comma list).
func procClient(t *testing.T, servers, user string) *client {
	t.Helper()
	eng, err := engine.New(engine.Options{Server: servers, Keepalive: time.Second, MaxBackoff: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c := &client{Engine: eng, id: user, rec: newRecorder(), t: t}
	eng.AddObserver(c.rec)
	t.Cleanup(eng.Destroy)
	sig, err := usersig.Gen(appID, secret, user, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := eng.Init(cctx, appID, user, sig); err != nil {
		t.Fatalf("%s: Init: %v", user, err)
	}
	return c
}

// procRecord is a record row as the database holds it.
type procRecord struct {
	node   string
	live   bool
	reason int64
}

func procRecords(t *testing.T, pool *pgxpool.Pool, callID string) map[string]procRecord {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT user_id, node_id, live, end_reason FROM records WHERE call_id = $1`, callID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]procRecord{}
	for rows.Next() {
		var u string
		var r procRecord
		var live int64
		if err := rows.Scan(&u, &r.node, &live, &r.reason); err != nil {
			t.Fatal(err)
		}
		r.live = live != 0
		m[u] = r
	}
	return m
}

// waitProcRecords polls until ok holds for the call's records.
func waitProcRecords(t *testing.T, pool *pgxpool.Pool, callID, what string, ok func(map[string]procRecord) bool) {
	t.Helper()
	testutil.WithTimeout(t, func() string {
		if got := procRecords(t, pool, callID); !ok(got) {
			return fmt.Sprintf("call %s records %+v; want %s", callID, got, what)
		}
		return ""
	}, 15*time.Second)
}

// recordsOf reports whether m holds exactly users' records, each live or
// not as live says, written by node and, when ended, ended for reason.
func recordsOf(m map[string]procRecord, users []string, node string, live bool, reason engine.EndReason) bool {
	for _, u := range users {
		if r, ok := m[u]; !ok || r.live != live || r.node != node || (!live && r.reason != int64(reason)) {
			return false
		}
	}
	return len(m) == len(users)
}

// awaitReapLog waits up to 15 s for one of nodes to log that it reaped
// dead, and returns that line.
func awaitReapLog(t *testing.T, dead string, nodes ...*procNode) map[string]any {
	t.Helper()
	var reaped map[string]any
	testutil.Poll(15*time.Second, func() bool {
		for _, n := range nodes {
			if l := n.findLog("cluster: reaped a dead node", map[string]any{"node": dead}); l != nil {
				reaped = l
			}
		}
		return reaped != nil
	})
	if reaped == nil {
		t.Fatalf("no node logged reaping %s within 15 s", dead)
	}
	return reaped
}

// checkUntouchedCall checks that a call of a live node went on through
// another node's death (no event, records live) and ends normally when
// its caller hangs up.
func checkUntouchedCall(t *testing.T, pool *pgxpool.Pool, call engine.CallInfo, caller, callee *client) {
	t.Helper()
	caller.quiet()
	callee.quiet()
	if m := procRecords(t, pool, call.CallID); !m[caller.id].live || !m[callee.id].live {
		t.Errorf("node-2's call records after node-1's death: %+v; want live", m)
	}
	caller.must("Hangup", caller.Hangup(ctx(t)))
	caller.expect(end(call, engine.RoleCaller, caller.id, engine.ReasonHangup))
	callee.expect(engine.UserLeave{CallID: call.CallID, UserID: caller.id}, end(call, engine.RoleCalled, caller.id, engine.ReasonHangup))
	waitProcRecords(t, pool, call.CallID, "ended by "+caller.id+"'s hangup", func(m map[string]procRecord) bool {
		return len(m) == 2 && !m[caller.id].live && !m[callee.id].live &&
			m[caller.id].reason == int64(engine.ReasonHangup) && m[callee.id].reason == int64(engine.ReasonHangup)
	})
}

// TestClusterProcessKilled: SIGKILL of a node mid-call. Within a few
// seconds another node reaps it and closes its live records (endByServer;
// every participant of its calls has a record, ended); its clients fail
// over to the next server of their list and end their calls (endByServer);
// another node's call is untouched and ends normally; the killed node,
// started again, registers and is ready.
func TestClusterProcessKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds termcall and runs three server processes")
	}
	t.Parallel()
	dsn := pgtest.NewDB(t) // skips without PostgreSQL
	bin := buildTermcall(t)
	ns := natstest.Start(t)
	n1 := startProcNode(t, bin, "node-1", ns.URL, dsn)
	n2 := startProcNode(t, bin, "node-2", ns.URL, dsn)
	n3 := startProcNode(t, bin, "node-3", ns.URL, dsn)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	waitClusterNodes(t, "", n1, n2, n3)

	list1 := strings.Join([]string{n1.url, n2.url, n3.url}, ",") // node-1 first
	alice, bob := procClient(t, list1, "alice"), procClient(t, list1, "bob")
	erin, frank := procClient(t, list1, "erin"), procClient(t, list1, "frank")
	carol, dave := procClient(t, n2.url, "carol"), procClient(t, n2.url, "dave")
	onN1 := connect1v1(t, alice, bob)
	onN2 := connect1v1(t, carol, dave)
	ringing := erin.mustCall("frank", engine.MediaTypeAudio, engine.CallParams{})
	frank.expect(received(ringing, "erin", "frank", ""))
	for _, c := range []struct {
		id    string
		users []string
		node  string
	}{{onN1.CallID, []string{"alice", "bob"}, "node-1"}, {ringing.CallID, []string{"erin", "frank"}, "node-1"},
		{onN2.CallID, []string{"carol", "dave"}, "node-2"}} {
		waitProcRecords(t, pool, c.id, "a live record per participant, written by "+c.node, func(m map[string]procRecord) bool {
			return recordsOf(m, c.users, c.node, true, 0)
		})
	}

	t0 := time.Now()
	n1.kill()
	// node-1's clients move to node-2 (fresh logins) and end the calls
	// node-2 does not know; the reaper (node-2 or node-3) closes the
	// records. Neither waits for the other.
	alice.expect(end(onN1, engine.RoleCaller, "", engine.ReasonEndByServer))
	bob.expect(end(onN1, engine.RoleCalled, "", engine.ReasonEndByServer))
	erin.expect(cancelled(ringing, "erin", engine.ReasonEndByServer))
	frank.expect(cancelled(ringing, "frank", engine.ReasonEndByServer))
	t.Logf("kill to the clients' calls ended on node-2: %v", time.Since(t0).Round(time.Millisecond))
	for _, c := range []*client{alice, bob, erin, frank} {
		if got, want := c.Server(), wsURL(t, n2.url); got != want {
			t.Errorf("%s after node-1 was killed: on %s, want %s (the next of its list)", c.id, got, want)
		}
	}
	reaped := awaitReapLog(t, "node-1", n2, n3) // either may be the reaper
	if reaped["records"] != float64(4) {
		t.Errorf("reap closed %v records, want 4 (alice, bob, erin, frank): %v", reaped["records"], reaped)
	}
	t.Logf("kill to node-1 reaped: %v", time.Since(t0).Round(time.Millisecond))
	for _, c := range []struct {
		id    string
		users []string
	}{{onN1.CallID, []string{"alice", "bob"}}, {ringing.CallID, []string{"erin", "frank"}}} {
		waitProcRecords(t, pool, c.id, "every participant's record, ended by the server", func(m map[string]procRecord) bool {
			return recordsOf(m, c.users, "node-1", false, engine.ReasonEndByServer)
		})
	}

	// node-2's call went on untouched: no event, records live, and it ends
	// normally.
	checkUntouchedCall(t, pool, onN2, carol, dave)

	// The failed-over users call each other on node-2.
	again := connect1v1(t, alice, bob)
	alice.must("Hangup", alice.Hangup(ctx(t)))
	alice.expect(end(again, engine.RoleCaller, "alice", engine.ReasonHangup))
	bob.expect(engine.UserLeave{CallID: again.CallID, UserID: "alice"}, end(again, engine.RoleCalled, "alice", engine.ReasonHangup))

	// node-1 comes back under its ID: it registers again and is ready.
	t1 := time.Now()
	n1.start()
	t.Logf("node-1 restarted to ready: %v", time.Since(t1).Round(time.Millisecond))
	waitClusterNodes(t, " after node-1's restart", n1, n2, n3)
	// Its old calls' records stay as the reaper closed them.
	if m := procRecords(t, pool, onN1.CallID); m["alice"].live || m["alice"].reason != int64(engine.ReasonEndByServer) {
		t.Errorf("node-1's old call after its restart: %+v; want ended by the server", m)
	}
	// A user logging in to it calls there.
	gina := procClient(t, n1.url, "gina")
	henry := procClient(t, n1.url, "henry")
	last := connect1v1(t, gina, henry)
	waitProcRecords(t, pool, last.CallID, "live records written by the restarted node-1", func(m map[string]procRecord) bool {
		return len(m) == 2 && m["gina"].live && m["gina"].node == "node-1" && m["henry"].live
	})
}
