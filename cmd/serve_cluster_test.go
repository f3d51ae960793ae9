package cmd_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/internal/natstest"
	"github.com/termcall/termcall/internal/testutil"
)

// TestServeNATSUnreachable: `serve --nats` exits 1 when NATS cannot be
// reached, saying so, without the password; a URL that is not nats:// is a
// usage error (2) naming cluster.nats.
func TestServeNATSUnreachable(t *testing.T) {
	t.Parallel()
	t0 := time.Now()
	r := run(t, "", "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--no-media", "--nats", "nats://u:hunter2@127.0.0.1:1")
	if r.code != 1 || !strings.Contains(r.stderr, "cluster: NATS at nats://u:xxxxx@127.0.0.1:1 is unreachable") ||
		strings.Contains(r.stderr, "hunter2") || strings.Contains(r.stderr, "--help") {
		t.Errorf("serve with NATS unreachable: exit %d, stderr:\n%s\nwant exit 1 saying NATS is unreachable, without the password", r.code, r.stderr)
	}
	if d := time.Since(t0); d > 30*time.Second {
		t.Errorf("serve took %v to give up", d)
	}
	r = run(t, "", "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--no-media", "--nats", "http://127.0.0.1:4222")
	if r.code != 2 || !strings.Contains(r.stderr, "cluster.nats") {
		t.Errorf("serve --nats http://...: exit %d, stderr:\n%s\nwant exit 2 naming cluster.nats", r.code, r.stderr)
	}
}

// TestServeNATS: `serve --nats URL --node-id ID` runs as a cluster node:
// ready, and it sees itself in the cluster.
func TestServeNATS(t *testing.T) {
	t.Parallel()
	ns := natstest.Start(t)
	p := start(t, "", true, "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--no-media", "--nats", ns.URL, "--node-id", "cmd-node")
	l := p.waitLine(t, "termcall serve listening on ")
	srv := "http://" + strings.TrimSpace(strings.TrimPrefix(l, "termcall serve listening on "))
	get := func(path string) (int, string) {
		resp, err := http.Get(srv + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Errorf("/readyz = %d %s, want 200", code, body)
	}
	testutil.WithTimeout(t, func() string {
		if _, body := get("/metrics"); !strings.Contains(body, "\ntermcall_cluster_nodes 1\n") {
			return "/metrics has no termcall_cluster_nodes 1:\n" + body
		}
		return ""
	}, 10*time.Second)
}
