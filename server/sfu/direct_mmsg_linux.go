//go:build linux && (amd64 || arm64)

package sfu

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsgReader reads a direct socket with recvmmsg(2), raw (see
// rawsock_linux.go): into the caller's buffer first, and whatever else is
// queued into its own, handed out by the next reads without a system
// call. A read that found the queue empty (fewer messages than it asked
// for) lets the next one wait for the socket to become readable before
// it tries: one device sends 50 packets a second, so its socket is empty
// almost every time, and a plain read would make a system call only to
// learn that (EAGAIN) before every packet. Safe with Go's edge-triggered
// poller: a packet that arrives after the queue was found empty marks the
// socket readable.
type mmsgReader struct {
	rc    syscall.RawConn
	hdrs  [directBatch]mmsghdr
	iovs  [directBatch]syscall.Iovec
	names [directBatch]syscall.RawSockaddrInet4
	bufs  [directBatch][]byte // bufs[0] is the caller's

	n, next int  // messages of the last batch; the next one to hand out
	drained bool // the last batch emptied the queue
	wait    bool // this read waits before its first try
	rerr    syscall.Errno
	recv    func(fd uintptr) bool
}

const directBatch = 4

func newMmsgReader(c *net.UDPConn) *mmsgReader {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	r := &mmsgReader{rc: rc}
	for i := range r.hdrs {
		if i > 0 {
			r.bufs[i] = make([]byte, readBufferSize)
		}
		r.hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		r.hdrs[i].hdr.Iov = &r.iovs[i]
		r.hdrs[i].hdr.Iovlen = 1
	}
	r.recv = r.doRecv
	return r
}

func (r *mmsgReader) read(p []byte) (int, netip.AddrPort, error) {
	if r.next < r.n {
		i := r.next
		r.next++
		return copy(p, r.bufs[i][:r.hdrs[i].n]), r.from(i), nil
	}
	r.n, r.next = 0, 0
	r.bufs[0] = p
	for i := range r.hdrs {
		r.hdrs[i].hdr.Namelen = uint32(unsafe.Sizeof(r.names[i]))
		b := r.bufs[i]
		r.iovs[i].Base = unsafe.SliceData(b)
		r.iovs[i].SetLen(len(b))
	}
	r.wait = r.drained
	err := r.rc.Read(r.recv)
	r.bufs[0] = nil
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	if r.rerr != 0 {
		return 0, netip.AddrPort{}, &net.OpError{Op: "read", Net: "udp", Err: r.rerr}
	}
	r.next = 1
	return int(r.hdrs[0].n), r.from(0), nil
}

func (r *mmsgReader) from(i int) netip.AddrPort {
	sa := &r.names[i]
	if sa.Family != unix.AF_INET {
		return netip.AddrPort{}
	}
	pb := (*[2]byte)(unsafe.Pointer(&sa.Port))
	return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(pb[0])<<8|uint16(pb[1]))
}

func (r *mmsgReader) doRecv(fd uintptr) bool {
	if r.wait {
		r.wait = false
		return false // wait until readable
	}
	for {
		n, _, e := syscall.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), directBatch, unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			r.n, r.rerr = int(n), 0
			r.drained = r.n < directBatch
			return r.n > 0
		case syscall.EAGAIN:
			r.drained = true
			return false
		case syscall.EINTR:
			continue
		default:
			r.n, r.rerr, r.drained = 0, e, false
			return true
		}
	}
}
