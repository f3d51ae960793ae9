package server_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/termcall/termcall/server"
)

// startLimitsServer is startFzServer with a one-second keepalive and a
// configuration hook.
func startLimitsServer(tb testing.TB, mod func(*server.Config)) *fzServer {
	tb.Helper()
	cfg := server.Config{
		SDKAppID: fzAppID, Secret: fzSecret, DataDir: tb.TempDir(),
		Keepalive: time.Second, GracePeriod: 3 * time.Second, NoMedia: true,
		Logger: slog.New(slog.DiscardHandler),
	}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("server.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	served := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(served) }()
	s := &fzServer{srv: srv, addr: ln.Addr().String(), http: &http.Client{Transport: &http.Transport{}}}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			tb.Errorf("server close: %v", err)
		}
		<-served
		s.http.CloseIdleConnections()
	})
	return s
}
