package sfu

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/ice/v4"
	"golang.org/x/sys/unix"
)

// Direct sockets: one hand-off fewer per inbound packet.
//
// Through pion's UDP mux every packet a device sends crosses two
// goroutines before pion's ICE agent has it: the mux's reader reads the
// shared media socket, finds the connection by the source address and
// queues a copy; the ICE candidate's read loop is woken to take it. Once
// a device sends media (DTLS or SRTP, not just STUN checks) from an
// address, the SFU opens a second socket on the same local address and
// port (SO_REUSEPORT) and connect(2)s it to that address: the kernel then
// delivers that device's packets straight into it (a connected UDP socket
// is the better match for its 4-tuple), and the candidate's read loop
// reads it itself — no mux reader, no copy, no wake-up in between.
//
// Writes still go through the mux (the shared socket and its sendmmsg
// batching: batch_linux.go), and whatever still comes through the mux for
// the connection — STUN checks from the device's other addresses, a
// packet queued before the connect, a device whose address changed — is
// still delivered, interleaved with the direct packets: directConn reads
// both, the mux side in a goroutine of its own that is idle while the
// device's packets come directly.
//
// The shared socket is bound with SO_REUSEPORT, so that the direct ones
// may bind its port, and with a reuseport BPF program that sends every
// packet no connected socket claims to the shared socket (index 0 of the
// group): a direct socket that is bound but not yet connected gets none of
// other devices' packets. Before binding, the port is probed without
// SO_REUSEPORT, so that a second server on the same port still fails with
// "address already in use" instead of joining the group.
//
// Only on Linux 6.13 and later (wrapDirect). If a direct socket cannot be
// opened (limits), the connection stays on the mux: the same packets, one
// hand-off more. Each
// direct socket is a file descriptor, next to the device's WebSocket: so
// that they cannot use up what the server's connection cap
// (serve.max_connections: the open-file limit minus 128) counts on, at
// most a quarter of the open-file limit are open at once, and none is
// opened while the process holds half of its limit (a new socket's
// descriptor, the lowest free one, is past the half); devices beyond that
// stay on the mux.

// directMux wraps the ICE mux: the connections it hands out read their
// device's packets from a direct socket once media flows.
type directMux struct {
	ice.UDPMux
	opened  atomic.Uint64 // direct sockets opened
	failed  atomic.Uint64 // direct sockets that could not be opened
	open    atomic.Int64  // direct sockets open now
	maxOpen int64
	maxFD   uintptr // a direct socket's descriptor must be below this

	mu      sync.Mutex
	conns   map[*directConn]struct{}
	retired uint64 // packets read directly by closed connections
}

func newDirectMux(m ice.UDPMux) *directMux {
	limit := uint64(1024)
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err == nil && r.Cur > 0 {
		limit = min(r.Cur, 1<<40)
	}
	return &directMux{UDPMux: m, conns: map[*directConn]struct{}{}, maxOpen: int64(limit / 4), maxFD: uintptr(limit / 2)}
}

// open4 opens a direct socket from local to remote, if the caps allow:
// one under maxOpen (a socket that replaces one takes its slot), a
// descriptor below maxFD. nil: the connection stays on the mux.
func (m *directMux) open4(local, remote netip.AddrPort, replacing bool) *net.UDPConn {
	if !replacing && !m.reserve() {
		return nil
	}
	if replacing {
		m.open.Add(1) // closeFast of the one replaced gives it back
	}
	c, err := dialDirect(local, remote)
	if err != nil {
		m.failed.Add(1)
		m.open.Add(-1)
		return nil
	}
	if fdOf(c) >= m.maxFD {
		_ = c.Close() // descriptors are running short
		m.open.Add(-1)
		return nil
	}
	m.opened.Add(1)
	return c
}

// reserve takes a slot for a new direct socket, if one is free.
func (m *directMux) reserve() bool {
	for {
		n := m.open.Load()
		if n >= m.maxOpen {
			return false
		}
		if m.open.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// closeFast closes a direct socket that was open.
func (m *directMux) closeFast(f *fastSock) {
	_ = f.conn.Close()
	m.open.Add(-1)
}

// directStats are the direct sockets' counters.
type directStats struct {
	opened, failed uint64 // sockets
	packets        uint64 // packets read from them
}

func (m *directMux) stats() directStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := directStats{opened: m.opened.Load(), failed: m.failed.Load(), packets: m.retired}
	for d := range m.conns {
		st.packets += d.direct.Load()
	}
	return st
}

// addrPortConn is what pion's mux connections offer (and its candidates
// use when a connection has it).
type addrPortConn interface {
	net.PacketConn
	ReadFromAddrPort([]byte) (int, netip.AddrPort, error)
	WriteToAddrPort([]byte, netip.AddrPort) (int, error)
}

func (m *directMux) GetConn(ufrag string, addr net.Addr) (net.PacketConn, error) {
	c, err := m.UDPMux.GetConn(ufrag, addr)
	if err != nil {
		return nil, err
	}
	ua, ok := addr.(*net.UDPAddr)
	ac, ok2 := c.(addrPortConn)
	if !ok || !ok2 || ua.IP.To4() == nil || ua.IP.IsUnspecified() {
		return c, nil
	}
	local := netip.AddrPortFrom(netip.AddrFrom4([4]byte(ua.IP.To4())), uint16(ua.Port))
	d := newDirectConn(m, ac, local)
	m.mu.Lock()
	m.conns[d] = struct{}{}
	m.mu.Unlock()
	return d, nil
}

// directConn is one ICE connection: the mux's (slow) and, once media
// flows, a direct socket (fast). One reader (the candidate's read loop)
// at a time.
type directConn struct {
	addrPortConn // the mux's connection: writes, addresses, deadlines
	m            *directMux
	local        netip.AddrPort

	fast   atomic.Pointer[fastSock]
	closed atomic.Bool
	direct atomic.Uint64 // packets read from a direct socket

	mu     sync.Mutex
	queue  []muxPacket // read from the mux, not yet returned
	spare  [][]byte
	wake   chan struct{} // cap 1: queue got a packet while no fast socket
	taken  chan struct{} // cap 1: the reader took from the queue
	done   chan struct{} // closed by Close
	exited chan struct{} // closed when muxLoop returns
	err    error         // the mux connection's read error, once it failed
}

type muxPacket struct {
	b    []byte
	from netip.AddrPort
}

// fastSock is a connected socket and its raw reader.
type fastSock struct {
	conn   *net.UDPConn
	raw    *mmsgReader // nil: the net package reads
	remote netip.AddrPort
	errs   int // read errors in a row (the reader's)
}

const (
	directQueueMax  = 64 // packets from the mux waiting for the reader
	maxDirectErrors = 16 // read errors in a row that retire a direct socket
)

func newDirectConn(m *directMux, c addrPortConn, local netip.AddrPort) *directConn {
	d := &directConn{
		addrPortConn: c, m: m, local: local,
		wake:   make(chan struct{}, 1),
		taken:  make(chan struct{}, 1),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	go d.muxLoop()
	return d
}

// muxLoop reads what comes through the mux and hands it to the reader;
// the first media packet from an address opens a direct socket to it.
func (d *directConn) muxLoop() {
	defer close(d.exited)
	buf := make([]byte, readBufferSize)
	for {
		n, from, err := d.addrPortConn.ReadFromAddrPort(buf)
		if err != nil {
			d.mu.Lock()
			d.err = err
			d.mu.Unlock()
			d.notify()
			return
		}
		if n > 0 && buf[0] > 3 { // not STUN (RFC 7983): DTLS, SRTP, SRTCP
			d.goDirect(from)
		}
		if !d.push(buf[:n], from) {
			return
		}
		d.notify()
	}
}

// push queues a packet for the reader, waiting while the queue is full;
// false once closed.
func (d *directConn) push(p []byte, from netip.AddrPort) bool {
	for {
		d.mu.Lock()
		if len(d.queue) < directQueueMax {
			var b []byte
			if k := len(d.spare); k > 0 {
				b, d.spare = d.spare[k-1], d.spare[:k-1]
			}
			d.queue = append(d.queue, muxPacket{b: append(b[:0], p...), from: from})
			d.mu.Unlock()
			return true
		}
		d.mu.Unlock()
		select {
		case <-d.taken:
		case <-d.done:
			return false
		}
	}
}

// notify wakes the reader: through the channel when it waits for the
// mux, by a read deadline in the past when it waits on the direct socket.
func (d *directConn) notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
	if f := d.fast.Load(); f != nil {
		_ = f.conn.SetReadDeadline(time.Unix(1, 0))
	}
}

// goDirect opens a direct socket to from, unless there is one. A device
// whose media moved to another address gets a new one (the old one is
// closed: its reader moves on).
func (d *directConn) goDirect(from netip.AddrPort) {
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	old := d.fast.Load()
	if old != nil && old.remote == from || !from.Addr().Is4() || d.closed.Load() {
		return
	}
	c := d.m.open4(d.local, from, old != nil)
	if c == nil {
		return // stays on the mux
	}
	f := &fastSock{conn: c, raw: newMmsgReader(c), remote: from}
	if prev := d.fast.Swap(f); prev != nil {
		d.m.closeFast(prev)
	}
	if d.closed.Load() && d.fast.CompareAndSwap(f, nil) {
		d.m.closeFast(f)
	}
}

// ReadFromAddrPort returns the next packet: queued ones from the mux
// first, then the direct socket's.
func (d *directConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	for {
		f := d.fast.Load()
		if n, from, ok, err := d.pop(p); ok || err != nil {
			return n, from, err
		}
		if d.closed.Load() {
			return 0, netip.AddrPort{}, net.ErrClosed
		}
		if f == nil {
			select {
			case <-d.wake:
			case <-d.done:
			}
			continue
		}
		n, from, err := f.read(p)
		if err == nil {
			if from != f.remote {
				continue // not the device's (cannot happen on a connected socket)
			}
			f.errs = 0
			d.direct.Add(1)
			return n, from, nil
		}
		d.readFailed(f, err)
	}
}

// readFailed handles a direct socket's read error. A timeout is notify's
// wake-up: clear the deadline, then look at the queue (the caller loops;
// in that order: a packet queued after the look sets the deadline again).
// A closed socket was replaced or the connection closed. An ICMP error (a
// connected socket reports one, e.g. ECONNREFUSED after a send to a
// device that closed its port) is reported once, ahead of the packets
// still queued: read on. Anything else, again and again: the socket is of
// no more use, read through the mux.
func (d *directConn) readFailed(f *fastSock, err error) {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		_ = f.conn.SetReadDeadline(time.Time{})
	case errors.Is(err, net.ErrClosed):
	default:
		f.errs++
		if f.errs >= maxDirectErrors && d.fast.CompareAndSwap(f, nil) {
			d.m.closeFast(f)
		}
	}
}

// pop takes the oldest queued packet; err is the mux's error once the
// queue is empty.
func (d *directConn) pop(p []byte) (n int, from netip.AddrPort, ok bool, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.queue) == 0 {
		return 0, netip.AddrPort{}, false, d.err
	}
	q := d.queue[0]
	copy(d.queue, d.queue[1:])
	d.queue = d.queue[:len(d.queue)-1]
	d.spare = append(d.spare, q.b)
	select {
	case d.taken <- struct{}{}:
	default:
	}
	return copy(p, q.b), q.from, true, nil // truncated if p is short, as a datagram read is
}

func (d *directConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, from, err := d.ReadFromAddrPort(p)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// Close closes the direct socket and the mux's connection, and waits for
// muxLoop.
func (d *directConn) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	close(d.done)
	if f := d.fast.Swap(nil); f != nil {
		d.m.closeFast(f)
	}
	err := d.addrPortConn.Close()
	<-d.exited
	d.m.mu.Lock()
	delete(d.m.conns, d)
	d.m.retired += d.direct.Load()
	d.m.mu.Unlock()
	return err
}

func (f *fastSock) read(p []byte) (int, netip.AddrPort, error) {
	if f.raw != nil {
		return f.raw.read(p)
	}
	n, from, err := f.conn.ReadFromUDPAddrPort(p)
	return n, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), err
}

// dialDirect opens a socket on local (the shared socket's address and
// port) connected to remote.
func dialDirect(local, remote netip.AddrPort) (*net.UDPConn, error) {
	d := net.Dialer{
		LocalAddr: net.UDPAddrFromAddrPort(local),
		Control:   reusePort,
	}
	c, err := d.Dial("udp4", remote.String())
	if err != nil {
		return nil, err
	}
	uc := c.(*net.UDPConn)
	_ = uc.SetReadBuffer(256 << 10)
	return uc, nil
}

// fdOf is c's descriptor number (0 if unknown).
func fdOf(c *net.UDPConn) uintptr {
	var fd uintptr
	if rc, err := c.SyscallConn(); err == nil {
		_ = rc.Control(func(f uintptr) { fd = f })
	}
	return fd
}

func reusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	return serr
}

// listenShared binds the shared media socket so that direct sockets can
// join its port: probe the port without SO_REUSEPORT (a port in use fails
// as before), then bind it with SO_REUSEPORT and attach a program that
// picks this socket, the group's first, for every packet no connected
// socket takes.
func listenShared(ip net.IP, port int) (*net.UDPConn, error) {
	probe, err := net.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: port})
	if err != nil {
		return nil, err
	}
	port = probe.LocalAddr().(*net.UDPAddr).Port
	_ = probe.Close()
	lc := net.ListenConfig{Control: reusePort}
	pc, err := lc.ListenPacket(context.Background(), "udp4", (&net.UDPAddr{IP: ip, Port: port}).String())
	if err != nil {
		return nil, err
	}
	c := pc.(*net.UDPConn)
	rc, err := c.SyscallConn()
	if err == nil {
		var serr error
		err = rc.Control(func(fd uintptr) {
			prog := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}
			serr = unix.SetsockoptSockFprog(int(fd), unix.SOL_SOCKET, unix.SO_ATTACH_REUSEPORT_CBPF,
				&unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]})
		})
		if err == nil {
			err = serr
		}
	}
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// wrapDirect gives the mux's connections direct sockets, on a kernel
// that finds a connected UDP socket by a hash of its 4-tuple (Linux 6.13
// and later). Before that, the kernel looks every packet's socket up by
// walking all the sockets bound to its local address and port: with a
// direct socket per device, a walk as long as the SFU has devices.
func wrapDirect(m ice.UDPMux) ice.UDPMux {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil || !kernelAtLeast(unix.ByteSliceToString(u.Release[:]), 6, 13) {
		return m
	}
	return newDirectMux(m)
}

// kernelAtLeast reports whether a kernel release ("6.18.44-...") is
// major.minor or later.
func kernelAtLeast(release string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(release, "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}
