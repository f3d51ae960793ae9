package cmd_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/termcall/termcall/internal/testutil"
)

// registerBobHook registers hook+"/bob" as bob's webhook with the push
// commands, after a refused ftp:// one, and lists it.
func registerBobHook(t *testing.T, srv, hook string) {
	t.Helper()
	if r := run(t, srv, "push", "register", "ftp://x", "--user", "bob"); r.code != 2 || !strings.Contains(r.stderr, "3015") {
		t.Errorf("register ftp://x: exit %d, %s", r.code, r.stderr)
	}
	r := run(t, srv, "push", "register", hook+"/bob", "--user", "bob", "--json")
	if r.code != 0 {
		t.Fatalf("push register: exit %d: %s", r.code, r.stderr)
	}
	var ep map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &ep); err != nil || ep["url"] != hook+"/bob" || ep["kind"] != "webhook" {
		t.Errorf("push register printed %q", r.stdout)
	}
	if r := run(t, srv, "push", "list", "--user", "bob"); r.code != 0 || !strings.Contains(r.stdout, "webhook") {
		t.Errorf("push list: exit %d: %q %s", r.code, r.stdout, r.stderr)
	}
}

// TestPushCLI: serve with push keys from the config file, bob registers an
// endpoint with termcall push, alice calls the offline bob: the signed push
// arrives and the call ends by its timeout (exit 5).
func TestPushCLI(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
	}))
	defer rc.Close()
	cfg := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(cfg, []byte("serve:\n  push_secret: cli-key\n  push_allow_private: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, "--config", cfg)

	registerBobHook(t, srv, rc.URL)
	r := run(t, srv, "call", "bob", "--user", "alice", "--timeout", "2s", "--json")
	if r.code != 5 {
		t.Fatalf("call to offline bob: exit %d, want 5\n%s%s", r.code, r.stdout, r.stderr)
	}
	testutil.Poll(10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("the receiver got %d pushes, want 1", len(got))
	}
	if sig := got[0].Header.Get("X-Termcall-Signature"); !strings.HasPrefix(sig, "sha256=") {
		t.Errorf("push not signed: %v", got[0].Header)
	}
	var p map[string]any
	if err := json.Unmarshal(bodies[0], &p); err != nil {
		t.Fatal(err)
	}
	if p["userId"] != "bob" || p["callerId"] != "alice" {
		t.Errorf("push payload %s", bodies[0])
	}
}
