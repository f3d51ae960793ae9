package cluster_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/internal/natstest"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/server/cluster"
)

// TestDial: a node connects to a NATS with JetStream and is ready; it
// refuses an unreachable NATS with a clear error; it turns unready when
// NATS goes away.
func TestDial(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := natstest.Start(t)
	nc, err := cluster.Dial(ctx, srv.URL, "A")
	must(t, "dial", err)
	defer nc.Close()
	b, err := cluster.NewNATS(nc, cluster.NATSOptions{})
	must(t, "new", err)
	must(t, "ready", b.Ready())

	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, "listen", err)
	dead := "nats://" + l.Addr().String()
	l.Close()
	_, err = cluster.Dial(ctx, dead, "A")
	if err == nil || !strings.Contains(err.Error(), "NATS at "+dead+" is unreachable") {
		t.Fatalf("dial a dead NATS: %v", err)
	}

	srv.Shutdown()
	testutil.Until(t, "unready", 10*time.Second, func() bool { return b.Ready() != nil })
	if err := cluster.NewMemory().Ready(); err != nil {
		t.Fatalf("memory: %v", err)
	}
}

// TestRedactURL: passwords and tokens are hidden, the rest is kept.
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"nats://127.0.0.1:4222":                        "nats://127.0.0.1:4222",
		"nats://u:hunter2@h:4222,nats://tok3n@h2:4222": "nats://u:xxxxx@h:4222,nats://xxxxx@h2:4222",
	} {
		if got := cluster.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
