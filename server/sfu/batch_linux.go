package sfu

import (
	"net"
	"net/netip"
	"sync"

	"golang.org/x/net/ipv4"
)

// batchConn is the media socket as the ICE mux sees it, with writes
// batched: WriteTo copies the packet into a queue and returns; one
// flusher goroutine sends whatever is queued with sendmmsg(2) (x/net's
// ipv4.PacketConn.WriteBatch). There is no timer: the flusher starts on
// the first queued packet and sends everything that queued up while it
// was busy, so an idle server sends at once (one packet a batch), and a
// loaded one sends many packets per system call, with no added wait.
// When the queue is full, writers wait for the flusher (as a blocking
// sendto would).
//
// Send errors are not reported to the writer (UDP offers no delivery
// anyway); a message the kernel refuses is skipped.
type batchConn struct {
	*net.UDPConn
	pc  *ipv4.PacketConn
	raw *rawSock   // raw system calls (rawsock_linux.go); nil: x/net and net
	rmu sync.Mutex // one raw read at a time

	mu      sync.Mutex
	cond    sync.Cond // queue space, or closed
	cur     []ipv4.Message
	closed  bool
	flushed uint64 // batches sent (tests)

	wake chan struct{}
	done chan struct{} // closed by Close
	exit chan struct{} // closed when the flusher returns
	out  []ipv4.Message
}

const (
	batchMax     = 64   // packets per sendmmsg
	batchBufSize = 1500 // bigger packets are sent directly
)

func newBatchConn(c *net.UDPConn) net.PacketConn {
	b := &batchConn{
		UDPConn: c,
		pc:      ipv4.NewPacketConn(c),
		raw:     newRawSock(c),
		cur:     newMessages(),
		out:     newMessages(),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		exit:    make(chan struct{}),
	}
	b.cond.L = &b.mu
	go b.flusher()
	return b
}

func newMessages() []ipv4.Message {
	ms := make([]ipv4.Message, batchMax)
	for i := range ms {
		ms[i].Buffers = [][]byte{make([]byte, 0, batchBufSize)}
		ms[i].Addr = &net.UDPAddr{IP: make(net.IP, 4)}
	}
	return ms[:0]
}

// ReadFromAddrPort and WriteToAddrPort make pion's mux use the
// allocation-free paths (it checks for this interface).
func (b *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	if b.raw != nil {
		b.rmu.Lock()
		defer b.rmu.Unlock()
		return b.raw.readFrom(p)
	}
	return b.UDPConn.ReadFromUDPAddrPort(p)
}

func (b *batchConn) WriteToAddrPort(p []byte, ap netip.AddrPort) (int, error) {
	a := ap.Addr().Unmap()
	if len(p) > batchBufSize || !a.Is4() {
		return b.UDPConn.WriteToUDPAddrPort(p, ap)
	}
	b.mu.Lock()
	for len(b.cur) == batchMax && !b.closed {
		b.cond.Wait()
	}
	if b.closed {
		b.mu.Unlock()
		return 0, net.ErrClosed
	}
	i := len(b.cur)
	b.cur = b.cur[:i+1]
	m := &b.cur[i]
	m.Buffers[0] = append(m.Buffers[0][:0], p...)
	ua := m.Addr.(*net.UDPAddr)
	ip4 := a.As4()
	copy(ua.IP, ip4[:])
	ua.Port = int(ap.Port())
	b.mu.Unlock()
	if i == 0 {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

func (b *batchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if ua, ok := addr.(*net.UDPAddr); ok {
		if ap := ua.AddrPort(); ap.IsValid() {
			return b.WriteToAddrPort(p, ap)
		}
	}
	return b.UDPConn.WriteTo(p, addr)
}

func (b *batchConn) flusher() {
	defer close(b.exit)
	for {
		select {
		case <-b.wake:
		case <-b.done:
			b.flush() // what was queued before Close
			return
		}
		for b.flush() {
		}
	}
}

// flush sends the queue; it reports whether there was anything to send.
func (b *batchConn) flush() bool {
	b.mu.Lock()
	if len(b.cur) == 0 {
		b.mu.Unlock()
		return false
	}
	b.cur, b.out = b.out[:0], b.cur
	b.flushed++
	b.cond.Broadcast()
	b.mu.Unlock()
	ms := b.out
	if b.raw != nil {
		_ = b.raw.writeBatch(ms) // an error is a closed socket
		return true
	}
	for len(ms) > 0 {
		n, err := b.pc.WriteBatch(ms, 0)
		if err != nil {
			n = max(n, 1) // skip the message the kernel refused
		}
		ms = ms[n:]
	}
	return true
}

// Close sends what is queued, stops the flusher and closes the socket.
func (b *batchConn) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return b.UDPConn.Close()
	}
	b.closed = true
	b.cond.Broadcast()
	b.mu.Unlock()
	close(b.done)
	<-b.exit
	return b.UDPConn.Close()
}
