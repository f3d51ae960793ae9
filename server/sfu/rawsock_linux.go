//go:build linux && (amd64 || arm64)

package sfu

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// Raw socket calls for the media socket. sendmmsg(2) and recvfrom(2) on
// a non-blocking UDP socket never wait: they are CPU work in the kernel
// (on loopback, sendmmsg even delivers into the receiving socket), and
// when there is nothing to read or no room to send they return EAGAIN,
// and the netpoller waits (syscall.RawConn). Made through Go's ordinary
// system-call path, each hands its P to the scheduler for the length of
// the call; the runtime's monitor thread (sysmon) retakes a P that stays
// in a system call for more than 20 µs and starts another thread to run
// it, which a loaded SFU's sends do all the time: at 100 calls sysmon's
// wake-ups and the thread hand-offs were ~7% and ~11% of the server's CPU
// (perf). Made as raw system calls, the goroutine keeps its P: no
// hand-off, and sysmon backs off to its idle rate.

type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
}

// rawSock holds what the raw calls need, allocated once per socket.
type rawSock struct {
	rc syscall.RawConn

	// sendmmsg (the flusher only).
	hdrs   [batchMax]mmsghdr
	iovs   [batchMax]syscall.Iovec
	names  [batchMax]syscall.RawSockaddrInet4
	sendN  int // messages in hdrs
	sendOK int // messages the kernel took
	send   func(fd uintptr) bool

	// recvfrom (one reader at a time: batchConn.rmu).
	rbuf  []byte
	rname syscall.RawSockaddrInet4
	rlen  uint32
	rn    int
	rerr  syscall.Errno
	recv  func(fd uintptr) bool
}

func newRawSock(c *net.UDPConn) *rawSock {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawSock{rc: rc}
	for i := range r.hdrs {
		r.hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		r.hdrs[i].hdr.Namelen = uint32(unsafe.Sizeof(r.names[i]))
		r.hdrs[i].hdr.Iov = &r.iovs[i]
		r.hdrs[i].hdr.Iovlen = 1
	}
	// Method values made once: a closure per call would be an allocation
	// per packet.
	r.send = r.doSend
	r.recv = r.doRecv
	return r
}

// writeBatch sends ms (IPv4 destinations, one buffer each); a message the
// kernel refuses is skipped, as in the x/net path.
func (r *rawSock) writeBatch(ms []ipv4.Message) error {
	for i := range ms {
		ua := ms[i].Addr.(*net.UDPAddr)
		sa := &r.names[i]
		sa.Family = unix.AF_INET
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		p[0], p[1] = byte(ua.Port>>8), byte(ua.Port)
		copy(sa.Addr[:], ua.IP.To4())
		b := ms[i].Buffers[0]
		r.iovs[i].Base = unsafe.SliceData(b)
		r.iovs[i].SetLen(len(b))
	}
	r.sendN, r.sendOK = len(ms), 0
	return r.rc.Write(r.send)
}

func (r *rawSock) doSend(fd uintptr) bool {
	for r.sendOK < r.sendN {
		n, _, e := syscall.RawSyscall6(unix.SYS_SENDMMSG, fd,
			uintptr(unsafe.Pointer(&r.hdrs[r.sendOK])), uintptr(r.sendN-r.sendOK), unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			r.sendOK += int(n)
		case syscall.EAGAIN:
			return false // wait until the socket is writable
		case syscall.EINTR:
		default:
			r.sendOK++ // skip the message the kernel refused
		}
	}
	return true
}

// readFrom reads one datagram into p.
func (r *rawSock) readFrom(p []byte) (int, netip.AddrPort, error) {
	r.rbuf = p
	if err := r.rc.Read(r.recv); err != nil {
		r.rbuf = nil
		return 0, netip.AddrPort{}, err
	}
	r.rbuf = nil
	if r.rerr != 0 {
		return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Err: r.rerr}
	}
	var ap netip.AddrPort
	if r.rname.Family == unix.AF_INET {
		pb := (*[2]byte)(unsafe.Pointer(&r.rname.Port))
		ap = netip.AddrPortFrom(netip.AddrFrom4(r.rname.Addr), uint16(pb[0])<<8|uint16(pb[1]))
	}
	return r.rn, ap, nil
}

func (r *rawSock) doRecv(fd uintptr) bool {
	for {
		r.rlen = uint32(unsafe.Sizeof(r.rname))
		var base unsafe.Pointer
		if len(r.rbuf) > 0 {
			base = unsafe.Pointer(unsafe.SliceData(r.rbuf))
		}
		n, _, e := syscall.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(base), uintptr(len(r.rbuf)), unix.MSG_DONTWAIT,
			uintptr(unsafe.Pointer(&r.rname)), uintptr(unsafe.Pointer(&r.rlen)))
		switch e {
		case 0:
			r.rn, r.rerr = int(n), 0
			return true
		case syscall.EAGAIN:
			return false // wait until there is something to read
		case syscall.EINTR:
			continue
		default:
			r.rn, r.rerr = 0, e
			return true
		}
	}
}
