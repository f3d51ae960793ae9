//go:build linux

package engine

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"golang.org/x/sys/unix"
)

// gatedNet is the transport.Net of an engine's PeerConnections: pion's
// standard one, except that the UDP sockets of a PeerConnection made while
// gated() holds are gatedConns (recvgate.go).
type gatedNet struct {
	*stdnet.Net
	gate  *recvGate
	gated func() bool
}

func newGatedNet(gate *recvGate, gated func() bool) (transport.Net, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	return &gatedNet{Net: n, gate: gate, gated: gated}, nil
}

func (n *gatedNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	v4 := network == "udp4" || network == "udp" && laddr != nil && laddr.IP.To4() != nil
	if !v4 || !n.gated() {
		return n.Net.ListenUDP(network, laddr)
	}
	return listenGated(n.gate, laddr)
}

// gatedConn is a UDP socket outside the Go runtime's poller: while its gate
// is on, ReadFrom returns what has arrived only after each tick; otherwise
// it waits for a packet in poll(2). Writes go straight out.
type gatedConn struct {
	gate   *recvGate
	laddr  *net.UDPAddr
	fdMu   sync.RWMutex // held for reading around each use of fd and the pipe
	fd     int
	kickR  int // a pipe that wakes the reader's poll
	kickW  int
	closed atomic.Bool
	done   chan struct{}
	once   sync.Once
	stall  *time.Timer // the reader's
	// lastFrom: the reader's last sender address
	lastFrom *net.UDPAddr
	empty    int // the reader's gated waits since it last read a packet
}

func listenGated(gate *recvGate, laddr *net.UDPAddr) (*gatedConn, error) {
	ip4 := net.IPv4zero.To4()
	port := 0
	if laddr != nil {
		if laddr.IP != nil {
			if ip4 = laddr.IP.To4(); ip4 == nil {
				return nil, &net.OpError{Op: "listen", Net: "udp4", Addr: laddr, Err: errors.New("not an IPv4 address")}
			}
		}
		port = laddr.Port
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, &net.OpError{Op: "listen", Net: "udp4", Addr: laddr, Err: err}
	}
	sa := &unix.SockaddrInet4{Port: port}
	copy(sa.Addr[:], ip4)
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return nil, &net.OpError{Op: "listen", Net: "udp4", Addr: laddr, Err: err}
	}
	bound, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, &net.OpError{Op: "listen", Net: "udp4", Addr: laddr, Err: err}
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		unix.Close(fd)
		return nil, &net.OpError{Op: "listen", Net: "udp4", Addr: laddr, Err: err}
	}
	c := &gatedConn{gate: gate, fd: fd, kickR: p[0], kickW: p[1], done: make(chan struct{}),
		laddr: sockaddrToUDP(bound)}
	gate.add(c)
	return c, nil
}

// fromAddr is the sender's address; the last one is reused (only the
// reader calls this, and pion keeps no reference to it).
func (c *gatedConn) fromAddr(sa syscall.Sockaddr) *net.UDPAddr {
	s, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		return &net.UDPAddr{}
	}
	if l := c.lastFrom; l != nil && l.Port == s.Port && [4]byte(l.IP.To4()) == s.Addr {
		return l
	}
	c.lastFrom = &net.UDPAddr{IP: net.IPv4(s.Addr[0], s.Addr[1], s.Addr[2], s.Addr[3]), Port: s.Port}
	return c.lastFrom
}

func sockaddrToUDP(sa unix.Sockaddr) *net.UDPAddr {
	if s, ok := sa.(*unix.SockaddrInet4); ok {
		return &net.UDPAddr{IP: net.IPv4(s.Addr[0], s.Addr[1], s.Addr[2], s.Addr[3]), Port: s.Port}
	}
	return &net.UDPAddr{}
}

// kick wakes the reader's poll (gatedSocket).
func (c *gatedConn) kick() {
	c.fdMu.RLock()
	if !c.closed.Load() {
		_, _ = unix.Write(c.kickW, []byte{0})
	}
	c.fdMu.RUnlock()
}

func (c *gatedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.ReadFromUDP(b)
	if addr == nil {
		return n, nil, err
	}
	return n, addr, err
}

func (c *gatedConn) ReadFromUDP(b []byte) (int, *net.UDPAddr, error) {
	for {
		if c.closed.Load() {
			return 0, nil, net.ErrClosed
		}
		c.fdMu.RLock()
		if c.closed.Load() {
			c.fdMu.RUnlock()
			return 0, nil, net.ErrClosed
		}
		// syscall's Recvfrom, not x/sys/unix's: that one asks the socket's
		// protocol (one more system call) with every IPv4 address.
		n, from, err := syscall.Recvfrom(c.fd, b, syscall.MSG_DONTWAIT)
		c.fdMu.RUnlock()
		switch {
		case err == nil:
			c.empty = 0
			return n, c.fromAddr(from), nil
		case err == syscall.EINTR:
			continue
		case err != syscall.EAGAIN:
			return 0, nil, &net.OpError{Op: "read", Net: "udp4", Addr: c.laddr, Err: err}
		}
		if on, tick, stall := c.gate.wait(c.empty >= gateIdleTicks); on {
			c.empty++
			if c.stall == nil {
				c.stall = time.NewTimer(stall)
			} else {
				c.stall.Reset(stall)
			}
			select {
			case <-tick:
			case <-c.done:
			case <-c.stall.C: // a sender stuck in its source
			}
			c.stall.Stop()
			continue
		}
		if err := c.poll(); err != nil {
			return 0, nil, err
		}
	}
}

// poll waits until the socket is readable or the reader is kicked.
func (c *gatedConn) poll() error {
	c.fdMu.RLock()
	defer c.fdMu.RUnlock()
	if c.closed.Load() {
		return net.ErrClosed
	}
	fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}, {Fd: int32(c.kickR), Events: unix.POLLIN}}
	if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
		return &net.OpError{Op: "read", Net: "udp4", Addr: c.laddr, Err: err}
	}
	if fds[1].Revents != 0 {
		var buf [64]byte
		for {
			if n, err := unix.Read(c.kickR, buf[:]); n <= 0 || err != nil {
				break
			}
		}
	}
	return nil
}

func (c *gatedConn) ReadMsgUDP(b, _ []byte) (int, int, int, *net.UDPAddr, error) {
	n, addr, err := c.ReadFromUDP(b)
	return n, 0, 0, addr, err
}

func (c *gatedConn) Read(b []byte) (int, error) {
	n, _, err := c.ReadFromUDP(b)
	return n, err
}

func (c *gatedConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	u, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp4", Addr: addr, Err: errors.New("not a UDP address")}
	}
	return c.WriteToUDP(b, u)
}

func (c *gatedConn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	ip4 := addr.IP.To4()
	if ip4 == nil {
		return 0, &net.OpError{Op: "write", Net: "udp4", Addr: addr, Err: errors.New("not an IPv4 address")}
	}
	sa := &syscall.SockaddrInet4{Port: addr.Port}
	copy(sa.Addr[:], ip4)
	c.fdMu.RLock()
	defer c.fdMu.RUnlock()
	if c.closed.Load() {
		return 0, net.ErrClosed
	}
	for {
		err := syscall.Sendto(c.fd, b, 0, sa)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, &net.OpError{Op: "write", Net: "udp4", Addr: addr, Err: err}
		}
		return len(b), nil
	}
}

func (c *gatedConn) WriteMsgUDP(b, _ []byte, addr *net.UDPAddr) (int, int, error) {
	n, err := c.WriteToUDP(b, addr)
	return n, 0, err
}

func (c *gatedConn) Write([]byte) (int, error) {
	return 0, &net.OpError{Op: "write", Net: "udp4", Addr: c.laddr, Err: errors.New("not connected")}
}

func (c *gatedConn) Close() error {
	first := false
	c.once.Do(func() {
		first = true
		c.gate.remove(c)
		c.kick()
		c.closed.Store(true)
		close(c.done)
		_, _ = unix.Write(c.kickW, []byte{0}) // a reader entering poll after the kick above
		c.fdMu.Lock()
		unix.Close(c.fd)
		unix.Close(c.kickR)
		unix.Close(c.kickW)
		c.fdMu.Unlock()
	})
	if !first {
		return net.ErrClosed
	}
	return nil
}

func (c *gatedConn) CloseRead() error { return c.Close() }

func (c *gatedConn) LocalAddr() net.Addr  { return c.laddr }
func (c *gatedConn) RemoteAddr() net.Addr { return nil }

// Deadlines are not supported (pion's ICE candidates do not set them);
// Close ends a read.
func (c *gatedConn) SetDeadline(time.Time) error      { return nil }
func (c *gatedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *gatedConn) SetWriteDeadline(time.Time) error { return nil }

func (c *gatedConn) SetReadBuffer(n int) error  { return c.setsockopt(unix.SO_RCVBUF, n) }
func (c *gatedConn) SetWriteBuffer(n int) error { return c.setsockopt(unix.SO_SNDBUF, n) }

func (c *gatedConn) setsockopt(opt, v int) error {
	c.fdMu.RLock()
	defer c.fdMu.RUnlock()
	if c.closed.Load() {
		return net.ErrClosed
	}
	return unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, opt, v)
}
