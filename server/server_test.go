package server_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/termcall/termcall/internal/pgtest"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server"
)

// TestMain fails the package's tests on leaked goroutines, after stopping
// the PostgreSQL the cluster tests share (pgtest.Main).
func TestMain(m *testing.M) { pgtest.Main(m) }

func TestNewRejectsBadConfig(t *testing.T) {
	ctx := context.Background()
	discard := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		name string
		cfg  server.Config
	}{
		{"no sdkappid", server.Config{Secret: "s", DataDir: t.TempDir(), Logger: discard}},
		{"no secret", server.Config{SDKAppID: 1, DataDir: t.TempDir(), Logger: discard}},
		{"no data dir", server.Config{SDKAppID: 1, Secret: "s", Logger: discard}},
	} {
		if s, err := server.New(ctx, tc.cfg); err == nil {
			s.Close(ctx)
			t.Errorf("%s: New succeeded, want an error", tc.name)
		}
	}
	_, err := server.New(ctx, server.Config{Secret: "s", DataDir: t.TempDir(), Logger: discard})
	if protocol.CodeOf(err) != protocol.CodeInvalidSDKAppID {
		t.Errorf("no sdkappid: got %v, want code %d", err, protocol.CodeInvalidSDKAppID)
	}
}

// TestCloseTwice: Close is idempotent and a closed server's store is closed.
func TestCloseTwice(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := server.New(ctx, server.Config{SDKAppID: 1, Secret: "s", DataDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
