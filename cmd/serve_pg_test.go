package cmd_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/internal/pgtest"
)

// TestServePostgres: `termcall serve --database postgres://...` keeps the
// records in PostgreSQL: a call through it shows in the history, and the
// data directory holds no SQLite file, only the lock.
func TestServePostgres(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDB(t)
	data := t.TempDir()
	p := start(t, "", true, "serve", "--listen", "127.0.0.1:0", "--data", data, "--keepalive", "1s", "--database", dsn)
	l := p.waitLine(t, "termcall serve listening on ")
	srv := "http://" + strings.TrimSpace(strings.TrimPrefix(l, "termcall serve listening on "))
	startBot(t, srv, "pgbob", "--mode", "answer")
	r := run(t, srv, "call", "pgbob", "--user", "pgalice", "--duration", "1s", "--json")
	if r.code != 0 {
		t.Fatalf("call: exit %d\n%s", r.code, r.stderr)
	}
	callID, _ := summary(t, jsonLines(t, r.stdout))["callId"].(string)
	r = run(t, srv, "history", "--user", "pgalice", "--json")
	if r.code != 0 {
		t.Fatalf("history: exit %d\n%s", r.code, r.stderr)
	}
	recs := jsonLines(t, r.stdout)
	if len(recs) != 1 || recs[0]["callId"] != callID || recs[0]["result"] != float64(3) {
		t.Fatalf("history records: %v (call %s)", recs, callID)
	}
	if _, err := os.Stat(filepath.Join(data, "termcall.db")); !os.IsNotExist(err) {
		t.Errorf("termcall.db in --data with --database: %v; want none", err)
	}
	if _, err := os.Stat(filepath.Join(data, "termcall.lock")); err != nil {
		t.Errorf("no lock file in --data: %v", err)
	}
}

// TestServeDatabaseUnreachable: serve exits 1 at once, saying it cannot
// connect, without printing the password; a URL that is not postgres://
// is a usage error (2).
func TestServeDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	url := fmt.Sprintf("postgres://termcall:hunter2@127.0.0.1:%d/termcall?sslmode=disable", port)
	t0 := time.Now()
	r := run(t, "", "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--no-media", "--database", url)
	if r.code != 1 || !strings.Contains(r.stderr, "cannot connect") || strings.Contains(r.stderr, "hunter2") || strings.Contains(r.stderr, "--help") {
		t.Errorf("serve with PostgreSQL unreachable: exit %d, stderr:\n%s\nwant exit 1 saying it cannot connect, without the password", r.code, r.stderr)
	}
	if d := time.Since(t0); d > 30*time.Second {
		t.Errorf("serve took %v to give up", d)
	}
	r = run(t, "", "serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(), "--no-media", "--database", "mysql://u:hunter2@db/x")
	if r.code != 2 || !strings.Contains(r.stderr, "store.database") || strings.Contains(r.stderr, "hunter2") {
		t.Errorf("serve --database mysql://...: exit %d, stderr:\n%s\nwant exit 2 naming store.database", r.code, r.stderr)
	}
}
