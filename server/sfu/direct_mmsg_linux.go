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
// call (a starved reader finds several packets queued). A read always
// tries before it waits: Go's poller forgets a readiness it recorded
// before the read began (RawConn.Read resets it), so a read that waited
// first could sleep on a packet already queued until the next one came —
// tried, and TestDirectConnMoves caught it.
type mmsgReader struct {
	rc    syscall.RawConn
	hdrs  [directBatch]mmsghdr
	iovs  [directBatch]syscall.Iovec
	names [directBatch]syscall.RawSockaddrInet4
	bufs  [directBatch][]byte // bufs[0] is the caller's

	n, next int // messages of the last batch; the next one to hand out
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
	for {
		n, _, e := syscall.RawSyscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), directBatch, unix.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			r.n, r.rerr = int(n), 0
			return r.n > 0
		case syscall.EAGAIN:
			return false // wait until readable
		case syscall.EINTR:
			continue
		default:
			r.n, r.rerr = 0, e
			return true
		}
	}
}
