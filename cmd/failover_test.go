package cmd_test

import (
	"net"
	"strings"
	"testing"
)

// deadServer is the URL of a port nothing listens on.
func deadServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

// TestServerList: --server and TERMCALL_SERVER take a comma list; the
// client logs in to the first server that answers. With none answering the
// exit code is 8 (server unreachable) and the message names each.
func TestServerList(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	dead := deadServer(t)
	startBot(t, dead+","+srv, "listbot", "--mode", "answer") // TERMCALL_SERVER with a list
	r := run(t, "", "call", "listbot", "--json", "--user", "lister", "--duration", "1s", "--server", dead+", "+srv)
	if r.code != 0 {
		t.Fatalf("call with --server %s,%s: exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", dead, srv, r.code, r.stdout, r.stderr)
	}
	if s := summary(t, jsonLines(t, r.stdout)); s["result"] != "connected" {
		t.Errorf("summary %v, want connected", s)
	}

	dead2 := deadServer(t)
	r = run(t, dead+","+dead2, "call", "listbot", "--user", "lister")
	if r.code != 8 {
		t.Fatalf("call with no server up: exit code %d, want 8\nstderr:\n%s", r.code, r.stderr)
	}
	for _, d := range []string{dead, dead2} {
		if !strings.Contains(r.stderr, strings.TrimPrefix(d, "http://")) {
			t.Errorf("stderr does not name %s:\n%s", d, r.stderr)
		}
	}
}
