package natstest_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/termcall/termcall/internal/natstest"
	"github.com/termcall/termcall/internal/testutil"
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
	defer func() { _ = sub.Unsubscribe() }()
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

// TestRestart: after Restart a client reconnects to the same URL and the
// JetStream store is kept.
func TestRestart(t *testing.T) {
	s := natstest.Start(t)
	nc, err := nats.Connect(s.URL, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(&nats.KeyValueConfig{Bucket: "b"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	s.Restart(t)
	start := time.Now()
	testutil.Until(t, "a reconnect after Restart", 10*time.Second, nc.IsConnected)
	var e nats.KeyValueEntry
	testutil.Poll(10*time.Second-time.Since(start), func() bool {
		e, err = kv.Get("k")
		return err == nil
	})
	if err != nil || string(e.Value()) != "v" {
		t.Fatalf("Get after Restart = %v, %v; want v", e, err)
	}
}
