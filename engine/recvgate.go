//go:build linux

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
	slow  chan struct{} // closed at every gateSlowEvery-th tick or switch
	ticks int
	conns map[gatedSocket]struct{}
	stall time.Duration // 0: gateStall (tests set it)
}

// gateStall: a gated read waits at most this long for the next tick (a
// sender stuck in its source does not hold back what arrives for longer).
const gateStall = 100 * time.Millisecond

// A socket that had nothing to read for gateIdleTicks ticks in a row (an
// ICE candidate that was not selected, which gets at most a connectivity
// check now and then) is read at every gateSlowEvery-th tick only, until
// it has something again: no wake-up per frame for it.
const (
	gateIdleTicks = 50
	gateSlowEvery = 10
)

// gatedSocket is a socket following the gate; kick wakes its reader
// waiting for a packet, so that it sees a switch to gated reading.
type gatedSocket interface{ kick() }

// wait returns whether reads follow the clock, a channel closed at the
// next tick (slow: at the next gateSlowEvery-th) or switch, and how long
// to wait for it at most.
func (g *recvGate) wait(slow bool) (bool, <-chan struct{}, time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	stall := g.stall
	if stall <= 0 {
		stall = gateStall
	}
	if slow {
		if g.slow == nil {
			g.slow = make(chan struct{})
		}
		return g.on, g.slow, stall * gateSlowEvery
	}
	if g.tick == nil {
		g.tick = make(chan struct{})
	}
	return g.on, g.tick, stall
}

// releaseLocked releases the readers waiting for this tick (all: also the
// slow ones).
func (g *recvGate) releaseLocked(all bool) {
	if g.tick != nil {
		close(g.tick)
		g.tick = nil
	}
	g.ticks++
	if all || g.ticks%gateSlowEvery == 0 {
		if g.slow != nil {
			close(g.slow)
			g.slow = nil
		}
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
	g.releaseLocked(false)
	g.mu.Unlock()
}

// Stop returns to reading packets as they arrive (no frame is being
// sent).
func (g *recvGate) Stop() {
	g.mu.Lock()
	if g.on {
		g.on = false
		g.releaseLocked(true)
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
