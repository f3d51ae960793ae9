package engine

import (
	"sync"
	"time"
)

// Reading the network on the send clock. A device that plays nothing it
// receives (no AudioSink: a bot playing a file, `call --play
// --no-audio-device`) and sends no video has no use for a received packet
// before its next 20 ms frame goes out. Its media sockets are then read in
// one go right after each frame is sent, instead of waking the process for
// every packet that arrives: a call costs one wake-up per 20 ms instead
// of two or three, each of which also wakes the Go runtime's monitor
// thread (docs/performance.md, "Client CPU"). While no frame is being sent
// (ICE and DTLS coming up, a muted or ended source, no call) the sockets
// are read as packets arrive, so connecting and media at answer are not
// delayed. What is read late is late by under 20 ms: RTCP (the uplink's
// round-trip time reads up to that much high), the server's NACKs for
// what this device sent, ICE consent checks.
//
// The sockets are the engine's own (gatedconn_linux.go), outside the Go
// runtime's poller; elsewhere than on Linux the engine uses pion's.

// recvGate is the send clock the gated sockets of one engine follow.
type recvGate struct {
	mu    sync.Mutex
	on    bool          // a sender ticks: read on its clock
	tick  chan struct{} // closed at the next tick or switch
	conns map[gatedSocket]struct{}
	stall time.Duration // 0: gateStall (tests set it)
}

// gateStall: a gated read waits at most this long for the next tick (a
// sender stuck in its source does not hold back what arrives for longer).
const gateStall = 100 * time.Millisecond

// gatedSocket is a socket following the gate; kick wakes its reader
// waiting for a packet, so that it sees a switch to gated reading.
type gatedSocket interface{ kick() }

// wait returns whether reads follow the clock, a channel closed at the
// next tick or switch, and how long to wait for it at most.
func (g *recvGate) wait() (bool, <-chan struct{}, time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tick == nil {
		g.tick = make(chan struct{})
	}
	stall := g.stall
	if stall <= 0 {
		stall = gateStall
	}
	return g.on, g.tick, stall
}

func (g *recvGate) releaseLocked() {
	if g.tick != nil {
		close(g.tick)
		g.tick = nil
	}
}

// Tick releases the readers after a frame was sent, and turns gated
// reading on if it was off.
func (g *recvGate) Tick() {
	g.mu.Lock()
	if !g.on {
		g.on = true
		for s := range g.conns {
			s.kick()
		}
	}
	g.releaseLocked()
	g.mu.Unlock()
}

// Stop returns to reading packets as they arrive (no frame is being
// sent).
func (g *recvGate) Stop() {
	g.mu.Lock()
	if g.on {
		g.on = false
		g.releaseLocked()
	}
	g.mu.Unlock()
}

func (g *recvGate) add(s gatedSocket) {
	g.mu.Lock()
	if g.conns == nil {
		g.conns = make(map[gatedSocket]struct{})
	}
	g.conns[s] = struct{}{}
	g.mu.Unlock()
}

func (g *recvGate) remove(s gatedSocket) {
	g.mu.Lock()
	delete(g.conns, s)
	g.mu.Unlock()
}
