package e2e

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/vnet"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/testutil"
	"github.com/termcall/termcall/server"
)

// The network tests run their media on a pion vnet: a virtual LAN in the
// test process, with the loss and the bandwidth the test sets, exact and
// independent of how busy the machine is (no UDP relay on 127.0.0.x, no
// OS socket between the engines and the SFU). Signaling still goes over a
// real WebSocket on 127.0.0.1: vnet has no TCP, and the signaling path is
// not what these tests measure.

const (
	lanCIDR     = "10.0.0.0/24"
	lanServerIP = "10.0.0.1"
)

// lan is a vnet router with the server's SFU at lanServerIP and every
// engine that logs in with onLAN at an address of its own. A filter on the
// router sees every packet between them: it counts the RTP (not STUN,
// DTLS or RTCP) in each direction and drops the share setLoss asks for.
// Each flow (a source address and SSRC) draws from its own generator,
// seeded alike, so which of a flow's packets are lost depends only on
// their place in it (retransmissions included), not on timing or on how
// the flows interleave: a run loses the same share however busy the
// machine is.
type lan struct {
	t      *testing.T
	router *vnet.Router
	server *vnet.Net

	mu    sync.Mutex
	hosts int                    // engines on the lan
	flows map[flowKey]*rand.Rand // each flow's loss draws
	loss  [2]float64             // by direction
	rtp   [2]int                 // RTP packets seen, by direction
	lost  [2]int                 // of which dropped

	// The uplink packets' fate, for a shaped uplink (newShapedLAN): the
	// filter sees a packet offered to the shaper's queue, the SFU's socket
	// sees it when it got through.
	start     time.Time
	offers    []lanOffer
	pending   map[rtpKey][]int // offers not yet through, by packet
	delivered int              // index in offers of the latest that got through; -1: none
}

// Directions of travel.
const (
	towardsClients = 0
	towardsSFU     = 1
)

type lanOffer struct {
	at     time.Duration // since start
	bytes  int
	passed bool
	queued time.Duration // how long it took to get through (the shaper's queue)
}

type flowKey struct {
	src  string
	ssrc uint32
}

type rtpKey struct {
	src       string
	ssrc      uint32
	seq       uint16
	byteCount int
}

func newLAN(t *testing.T) *lan {
	t.Helper()
	return newShapedLAN(t, nil)
}

// newShapedLAN makes a lan whose traffic into the SFU passes shape (a
// vnet token bucket: its rate, burst and queue), so that a client's
// uplink meets a bottleneck.
func newShapedLAN(t *testing.T, shape *vnet.TBFQueue) *lan {
	t.Helper()
	r, err := testutil.NewVNetRouter(&vnet.RouterConfig{CIDR: lanCIDR, LoggerFactory: logging.NewDefaultLoggerFactory()})
	if err != nil {
		t.Fatalf("vnet router: %v", err)
	}
	srv, err := testutil.NewVNetNet(&vnet.NetConfig{StaticIPs: []string{lanServerIP}})
	if err != nil {
		t.Fatalf("vnet net: %v", err)
	}
	l := &lan{t: t, router: r, server: srv, flows: map[flowKey]*rand.Rand{}, start: time.Now(), pending: map[rtpKey][]int{}, delivered: -1}
	var nic vnet.NIC = srv
	if shape != nil {
		q, err := vnet.NewQueue(srv, shape)
		if err != nil {
			t.Fatalf("vnet queue: %v", err)
		}
		t.Cleanup(func() { _ = q.Close() })
		nic = q
	}
	if err := r.AddNet(nic); err != nil {
		t.Fatalf("vnet: add the server: %v", err)
	}
	r.AddChunkFilter(l.filter)
	if err := r.Start(); err != nil {
		t.Fatalf("vnet start: %v", err)
	}
	// Cleanups run last-in first-out: the router stops after the server
	// and the engines registered later are gone.
	t.Cleanup(func() { _ = r.Stop() })
	return l
}

// media puts the server's SFU on the lan (an envOpt).
func (l *lan) media(c *server.Config) {
	c.MediaNet, c.MediaIP = &countingNet{Net: l.server, l: l}, lanServerIP
}

// onLAN gives an engine its own address on the lan (a loginOpt).
func (l *lan) onLAN(o *engine.Options, _ *client) {
	l.t.Helper()
	l.mu.Lock()
	l.hosts++
	ip := fmt.Sprintf("10.0.0.%d", 1+l.hosts) // the router would hand out lanServerIP again
	l.mu.Unlock()
	n, err := testutil.NewVNetNet(&vnet.NetConfig{StaticIPs: []string{ip}})
	if err != nil {
		l.t.Fatalf("vnet net: %v", err)
	}
	if err := l.router.AddNet(n); err != nil {
		l.t.Fatalf("vnet: add a client: %v", err)
	}
	o.Net = n
}

func (l *lan) setLoss(dir int, p float64) {
	l.mu.Lock()
	l.loss[dir] = p
	l.mu.Unlock()
}

// counts returns the RTP packets seen travelling dir and how many of them
// were dropped.
func (l *lan) counts(dir int) (rtp, lost int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rtp[dir], l.lost[dir]
}

// filter is the router's chunk filter: false drops the packet.
func (l *lan) filter(c vnet.Chunk) bool {
	b := c.UserData()
	if c.Network() != "udp" || !isRTP(b) {
		return true
	}
	dir := towardsClients
	if dst, ok := c.DestinationAddr().(*net.UDPAddr); ok && dst.IP.String() == lanServerIP {
		dir = towardsSFU
	}
	k := keyOf(c.SourceAddr().String(), b)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rtp[dir]++
	f := flowKey{k.src, k.ssrc}
	rng := l.flows[f]
	if rng == nil {
		rng = rand.New(rand.NewPCG(1, 2))
		l.flows[f] = rng
	}
	if rng.Float64() < l.loss[dir] {
		l.lost[dir]++
		return false
	}
	if dir == towardsSFU {
		l.pending[k] = append(l.pending[k], len(l.offers))
		l.offers = append(l.offers, lanOffer{at: time.Since(l.start), bytes: len(b)})
	}
	return true
}

// arrived notes an uplink RTP packet the SFU read.
func (l *lan) arrived(from net.Addr, b []byte) {
	if !isRTP(b) {
		return
	}
	k := keyOf(from.String(), b)
	l.mu.Lock()
	defer l.mu.Unlock()
	if q := l.pending[k]; len(q) > 0 {
		l.offers[q[0]].passed = true
		l.offers[q[0]].queued = time.Since(l.start) - l.offers[q[0]].at
		l.delivered = max(l.delivered, q[0])
		if len(q) == 1 {
			delete(l.pending, k)
		} else {
			l.pending[k] = q[1:]
		}
	}
}

func keyOf(src string, b []byte) rtpKey {
	return rtpKey{src: src, seq: binary.BigEndian.Uint16(b[2:4]), ssrc: binary.BigEndian.Uint32(b[8:12]), byteCount: len(b)}
}

// lanBin sums the uplink RTP offered in a window: how much got through to
// the SFU, how much was lost on the way, and the bytes that got through.
type lanBin struct {
	passed, dropped, bytes int
	maxQueued              time.Duration // the longest a packet took to get through
}

// window sums the uplink RTP offered in [from, to) (times since start).
// The way to the SFU is first in, first out, so a packet that has not got
// through while a later one has is lost; packets after the latest that got
// through are still on their way and not counted (see deliveredSince).
func (l *lan) window(from, to time.Duration) (b lanBin) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, o := range l.offers[:l.delivered+1] {
		if o.at < from || o.at >= to {
			continue
		}
		if o.passed {
			b.passed++
			b.bytes += o.bytes
			b.maxQueued = max(b.maxQueued, o.queued)
		} else {
			b.dropped++
		}
	}
	return b
}

// deliveredSince says whether an uplink RTP packet offered at or after at
// (since start) got through, so that the fate of everything before is
// known.
func (l *lan) deliveredSince(at time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.delivered >= 0 && l.offers[l.delivered].at >= at
}

// countingNet is the server's side of the lan: its sockets report what
// they read, so the lan knows which uplink packets got through.
type countingNet struct {
	*vnet.Net
	l *lan
}

func (n *countingNet) ListenUDP(network string, addr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, addr)
	if err != nil {
		return nil, err
	}
	return &countingConn{UDPConn: c, l: n.l}, nil
}

type countingConn struct {
	transport.UDPConn
	l *lan
}

func (c *countingConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := c.UDPConn.ReadFrom(b)
	if err == nil && n >= 12 {
		c.l.arrived(from, b[:n])
	}
	return n, from, err
}
