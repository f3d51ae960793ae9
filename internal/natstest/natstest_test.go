package natstest_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/termcall/termcall/internal/natstest"
)

// TestStart: the server accepts a client, round-trips a request, and is
// gone after Shutdown.
func TestStart(t *testing.T) {
	t0 := time.Now()
	s := natstest.Start(t)
	t.Logf("started in %v at %s", time.Since(t0), s.URL)
	nc, err := nats.Connect(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.Subscribe("echo", func(m *nats.Msg) { _ = m.Respond(m.Data) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	m, err := nc.Request("echo", []byte("hi"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != "hi" {
		t.Fatalf("reply %q, want %q", m.Data, "hi")
	}
	s.Shutdown()
	if _, err := nats.Connect(s.URL, nats.Timeout(500*time.Millisecond)); err == nil {
		t.Fatal("connected after Shutdown")
	}
}
