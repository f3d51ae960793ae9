//go:build linux

package engine

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/termcall/termcall/internal/testutil"
)

// gatedPair returns a gated socket on 127.0.0.1 and a plain one sending
// to it.
func gatedPair(t *testing.T, g *recvGate) (*gatedConn, *net.UDPConn) {
	t.Helper()
	c, err := listenGated(g, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	peer, err := net.DialUDP("udp4", nil, c.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	return c, peer
}

type readResult struct {
	data string
	from *net.UDPAddr
	at   time.Time
	err  error
}

func reader(c *gatedConn) <-chan readResult {
	out := make(chan readResult, 16)
	go func() {
		defer close(out)
		buf := make([]byte, 1500)
		for {
			n, from, err := c.ReadFromUDP(buf)
			out <- readResult{string(buf[:n]), from, time.Now(), err}
			if err != nil {
				return
			}
		}
	}()
	return out
}

func next(t *testing.T, ch <-chan readResult) readResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no read in 10 s")
	}
	return readResult{}
}

// peerWrite sends each of msgs from peer as a datagram.
func peerWrite(t *testing.T, peer *net.UDPConn, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		if _, err := peer.Write([]byte(m)); err != nil {
			t.Fatal(err)
		}
	}
}

// expectRead takes the next read and fails, naming what, unless it read
// want without error.
func expectRead(t *testing.T, reads <-chan readResult, want, what string) readResult {
	t.Helper()
	r := next(t, reads)
	if r.err != nil || r.data != want {
		t.Fatalf("%s: %+v, want %q", what, r, want)
	}
	return r
}

// TestGatedConnReads: with the gate off a packet is read as it arrives;
// once a sender ticks, what arrives waits for the next tick (or, with no
// tick, gateStall); after Stop, reads are immediate again; Close ends a
// waiting read with net.ErrClosed, and writes reach the peer.
func TestGatedConnReads(t *testing.T) {
	g := recvGate{stall: time.Hour}
	c, peer := gatedPair(t, &g)
	reads := reader(c)

	peerWrite(t, peer, "a")
	if r := expectRead(t, reads, "a", "immediate read"); r.from.Port != peer.LocalAddr().(*net.UDPAddr).Port {
		t.Fatalf("immediate read: %+v", r)
	}

	g.Tick() // a sender's clock: reads wait for it
	time.Sleep(20 * time.Millisecond)
	peerWrite(t, peer, "b", "c")
	time.Sleep(30 * time.Millisecond)
	select {
	case r := <-reads:
		t.Fatalf("read %+v before the tick", r)
	default:
	}
	ticked := time.Now()
	g.Tick()
	for _, want := range []string{"b", "c"} {
		if r := expectRead(t, reads, want, "after the tick"); r.at.Before(ticked) {
			t.Fatalf("after the tick: %+v, want %q", r, want)
		}
	}

	// No tick: a read waits at most the stall time.
	g.mu.Lock()
	g.stall = 50 * time.Millisecond
	g.mu.Unlock()
	g.Tick() // the reader's wait, started with an hour to go, ends
	peerWrite(t, peer, "d")
	expectRead(t, reads, "d", "stalled sender")

	g.Stop()
	time.Sleep(10 * time.Millisecond)
	peerWrite(t, peer, "e")
	expectRead(t, reads, "e", "after Stop")

	if _, err := c.WriteTo([]byte("to peer"), peer.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := peer.Read(buf); err != nil || string(buf[:n]) != "to peer" {
		t.Fatalf("peer read %q, %v", buf[:n], err)
	}

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if r := next(t, reads); !errors.Is(r.err, net.ErrClosed) {
		t.Fatalf("read after Close: %+v, want net.ErrClosed", r)
	}
	if _, err := c.WriteTo([]byte("x"), peer.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("write after Close: %v, want net.ErrClosed", err)
	}
	if len(g.conns) != 0 {
		t.Errorf("the gate still holds %d sockets", len(g.conns))
	}
}

// TestGatedConnCloseWhileGated: Close ends a read waiting for a tick.
func TestGatedConnCloseWhileGated(t *testing.T) {
	var g recvGate
	c, _ := gatedPair(t, &g)
	g.Tick()
	reads := reader(c)
	time.Sleep(10 * time.Millisecond)
	c.Close()
	if r := next(t, reads); !errors.Is(r.err, net.ErrClosed) {
		t.Fatalf("read after Close: %+v, want net.ErrClosed", r)
	}
}

// TestGatedConnIdleSocket: a socket that has been empty for many ticks
// (read only at every gateSlowEvery-th tick) still gets what arrives,
// and reads at every tick again afterwards.
func TestGatedConnIdleSocket(t *testing.T) {
	g := recvGate{stall: time.Hour}
	c, peer := gatedPair(t, &g)
	reads := reader(c)
	g.Tick()
	for i := 0; i < 3*gateIdleTicks; i++ {
		time.Sleep(time.Millisecond)
		g.Tick()
	}
	for _, want := range []string{"late", "later"} {
		peerWrite(t, peer, want)
		testutil.WithTimeout(t, func() string {
			select {
			case r := <-reads:
				if r.err != nil || r.data != want {
					t.Fatalf("read %+v, want %q", r, want)
				}
				return ""
			default:
			}
			g.Tick()
			return fmt.Sprintf("%q not read after ticks", want)
		}, 10*time.Second)
	}
}
