package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/server/store"
)

func testConfig(dir string) server.Config {
	return server.Config{SDKAppID: 1400000001, Secret: "s", DataDir: dir, NoMedia: true, Logger: slog.New(slog.DiscardHandler)}
}

// TestDataDirLock: a second server on the same data directory fails in New,
// naming this process; the directory is free again after Close.
func TestDataDirLock(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s1, err := server.New(ctx, testConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	_, err = server.New(ctx, testConfig(dir))
	var le *store.LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() {
		t.Fatalf("second New on the same directory = %v; want a *store.LockedError with pid %d", err, os.Getpid())
	}
	if err := s1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s2, err := server.New(ctx, testConfig(dir))
	if err != nil {
		t.Fatalf("New after Close = %v", err)
	}
	s2.Close(ctx)
}

// TestNewRefusesEmptyDatabase: a 0-byte termcall.db is an error, not a new
// database, and does not leave the directory locked.
func TestNewRefusesEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "termcall.db"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := server.New(ctx, testConfig(dir)); !errors.Is(err, store.ErrNotTermcall) {
		t.Fatalf("New with an empty termcall.db = %v; want ErrNotTermcall", err)
	}
	if l, err := store.LockDir(dir); err != nil {
		t.Errorf("the failed New left the directory locked: %v", err)
	} else {
		_ = l.Release()
	}
}

type readyBody struct {
	Status  string `json:"status"`
	Failing []struct {
		Check string `json:"check"`
	} `json:"failing"`
}

func getReady(t *testing.T, h http.Handler, url string) (int, readyBody) {
	t.Helper()
	var code int
	var body []byte
	if h != nil {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		code, body = rec.Code, rec.Body.Bytes()
	} else {
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		code = resp.StatusCode
		body, _ = io.ReadAll(resp.Body)
	}
	var b readyBody
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("/readyz body %q: %v", body, err)
	}
	return code, b
}

// TestReadyz: ready on a running server (with its media port bound); not
// ready once it is closing, with the failing checks listed.
func TestReadyz(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t.TempDir())
	cfg.NoMedia, cfg.MediaIP = false, "127.0.0.1"
	s, err := server.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln) //nolint:errcheck
	code, b := getReady(t, nil, "http://"+ln.Addr().String())
	if code != 200 || b.Status != "ready" || len(b.Failing) != 0 {
		t.Errorf("/readyz = %d %+v; want 200 ready", code, b)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	code, b = getReady(t, s.Handler(), "")
	var checks []string
	for _, f := range b.Failing {
		checks = append(checks, f.Check)
	}
	if code != 503 || b.Status != "not ready" || !cmp.Equal(checks, []string{"server", "store"}) {
		t.Errorf("/readyz after Close = %d %+v; want 503 with the server and store checks failing", code, b)
	}
}
