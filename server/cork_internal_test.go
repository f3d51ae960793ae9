package server

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recConn records each write that reaches the network.
type recConn struct {
	net.Conn
	mu     sync.Mutex
	writes []string
}

func (r *recConn) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

func (r *recConn) SetWriteDeadline(time.Time) error { return nil }

// TestCorkConn: what is written while corked reaches the network in one
// write, in order, with a concurrent writer's bytes where they came;
// uncorked writes go straight through.
func TestCorkConn(t *testing.T) {
	rc := &recConn{}
	c := &corkConn{Conn: rc}
	if _, err := c.Write([]byte("a")); err != nil {
		t.Fatal(err)
	}
	c.cork()
	_, _ = c.Write([]byte("b"))
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = c.Write([]byte("ping")) }()
	wg.Wait()
	_, _ = c.Write([]byte("c"))
	if len(rc.writes) != 1 {
		t.Fatalf("writes while corked reached the network: %q", rc.writes)
	}
	if err := c.uncork(time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.uncork(time.Second); err != nil { // nothing left: no write
		t.Fatal(err)
	}
	_, _ = c.Write([]byte("d"))
	if diff := cmp.Diff([]string{"a", "bpingc", "d"}, rc.writes); diff != "" {
		t.Errorf("network writes (-want +got):\n%s", diff)
	}
	var nilCork *corkConn // a conn built without one
	nilCork.cork()
	if err := nilCork.uncork(time.Second); err != nil {
		t.Fatal(err)
	}
}
