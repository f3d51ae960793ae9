package sfu

import (
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/termcall/termcall/internal/testutil"
)

func directKernel(t *testing.T) bool {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	return kernelAtLeast(unix.ByteSliceToString(u.Release[:]), 6, 13)
}

func directStatsOf(t *testing.T, s *SFU) directStats {
	t.Helper()
	m, ok := s.mux.(*directMux)
	if !ok && !directKernel(t) {
		t.Skip("direct sockets need Linux 6.13")
	}
	if !ok {
		t.Fatalf("the SFU's mux is a %T, not direct", s.mux)
	}
	return m.stats()
}

// Once media flows, each device's packets come in through a socket of its
// own (one per device), and forwarding works as through the mux.
func TestDirectSockets(t *testing.T) {
	for _, ip := range []string{"127.0.0.1", ""} {
		t.Run("listen="+ip, func(t *testing.T) {
			s := newTestSFU(t, func(c *Config) { c.ListenIP = ip })
			api := clientAPI(t)
			a := newClient(t, s, api, "call1", "alice", "devA")
			b := newClient(t, s, api, "call1", "bob", "devB")
			s.SetConnected("call1", "devA", true)
			s.SetConnected("call1", "devB", true)
			testutil.Until(t, "audio both ways", flowTimeout, func() bool { return a.count("bob") >= 50 && b.count("alice") >= 50 })
			st := directStatsOf(t, s)
			if st.opened != 2 || st.failed != 0 {
				t.Errorf("direct sockets: %d opened, %d failed; want 2 opened, one per device", st.opened, st.failed)
			}
			// Most of the ~100 RTP packets (and the DTLS after the first
			// flight, the RTCP, the STUN keepalives) came directly.
			if in := s.Stats().PacketsIn; st.packets < in/2 {
				t.Errorf("%d packets read directly, %d RTP packets in", st.packets, in)
			}
			if sst := s.Stats(); sst.DirectSockets != 2 || sst.PacketsDirect < sst.PacketsIn/2 {
				t.Errorf("Stats: %d direct sockets, %d packets direct, %d in", sst.DirectSockets, sst.PacketsDirect, sst.PacketsIn)
			}
			a.close()
			b.close()
			testutil.Until(t, "peers gone", flowTimeout, func() bool { return s.Stats().Peers == 0 })
		})
	}
}

// Past the cap on open direct sockets, devices stay on the mux.
func TestDirectSocketsCap(t *testing.T) {
	s := newTestSFU(t, nil)
	directStatsOf(t, s) // skips on an older kernel
	s.mux.(*directMux).maxOpen = 1
	api := clientAPI(t)
	a := newClient(t, s, api, "call1", "alice", "devA")
	b := newClient(t, s, api, "call1", "bob", "devB")
	s.SetConnected("call1", "devA", true)
	s.SetConnected("call1", "devB", true)
	testutil.Until(t, "audio both ways", flowTimeout, func() bool { return a.count("bob") >= 50 && b.count("alice") >= 50 })
	if st := directStatsOf(t, s); st.opened != 1 || st.failed != 0 {
		t.Errorf("direct sockets: %d opened, %d failed; want 1 (the cap), none failed", st.opened, st.failed)
	}
	a.close()
	b.close()
	testutil.Until(t, "peers gone", flowTimeout, func() bool { return s.Stats().Peers == 0 })
	// The PeerConnections close after the peers are removed.
	testutil.Until(t, "direct sockets closed", flowTimeout, func() bool { return s.mux.(*directMux).open.Load() == 0 })
}

// No direct socket while the process holds half of its descriptors.
func TestDirectSocketsFDs(t *testing.T) {
	s := newTestSFU(t, nil)
	directStatsOf(t, s)          // skips on an older kernel
	s.mux.(*directMux).maxFD = 3 // any new descriptor is past it
	api := clientAPI(t)
	a := newClient(t, s, api, "call1", "alice", "devA")
	b := newClient(t, s, api, "call1", "bob", "devB")
	s.SetConnected("call1", "devA", true)
	s.SetConnected("call1", "devB", true)
	testutil.Until(t, "audio both ways", flowTimeout, func() bool { return a.count("bob") >= 20 && b.count("alice") >= 20 })
	if st := directStatsOf(t, s); st.opened != 0 || st.packets != 0 {
		t.Errorf("direct sockets: %+v, want none", st)
	}
}

// The media port's SO_REUSEPORT does not let a second server share it.
func TestDirectPortInUse(t *testing.T) {
	s := newTestSFU(t, nil)
	port := s.Addr().(*net.UDPAddr).Port
	_, err := New(Config{ListenIP: "127.0.0.1", UDPPort: port, Logger: testLogger()})
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("second SFU on port %d: %v, want EADDRINUSE", port, err)
	}
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err == nil {
		c.Close()
		t.Fatalf("a plain socket bound the SFU's port %d", port)
	}
}

// stunRequest is a minimal STUN binding request with a USERNAME, as pion's
// mux needs to find the connection of a new address by its ufrag.
func stunRequest(ufrag string) []byte {
	user := []byte(ufrag + ":device")
	pad := (4 - len(user)%4) % 4
	b := []byte{0, 1, 0, byte(4 + len(user) + pad), 0x21, 0x12, 0xa4, 0x42}
	b = append(b, "0123456789ab"...) // transaction ID
	b = append(b, 0, 6, 0, byte(len(user)))
	b = append(b, user...)
	return append(b, make([]byte, pad)...)
}

// connRig is one directConn on a real mux, its reader, and devices (UDP
// sockets) sending to it.
type connRig struct {
	t    *testing.T
	addr net.Addr
	dm   *directMux
	d    *directConn
	got  chan string // "from payload", per packet read
}

func newConnRig(t *testing.T) *connRig {
	t.Helper()
	if !directKernel(t) {
		t.Skip("direct sockets need Linux 6.13")
	}
	mux, addr, err := listenMux(net.IPv4(127, 0, 0, 1), 0, true, newPionLoggerFactory(testLogger()).NewLogger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mux.Close() })
	r := &connRig{t: t, addr: addr, dm: mux.(*directMux), got: make(chan string, 64)}
	pc, err := r.dm.GetConn("ufragX", addr)
	if err != nil {
		t.Fatal(err)
	}
	r.d = pc.(*directConn)
	go r.read()
	return r
}

func (r *connRig) read() {
	buf := make([]byte, 1500)
	for {
		n, from, err := r.d.ReadFromAddrPort(buf)
		if err != nil {
			close(r.got)
			return
		}
		r.got <- from.String() + " " + string(buf[:n])
	}
}

// device is a socket sending to the mux's port.
func (r *connRig) device() *net.UDPConn {
	c, err := net.DialUDP("udp4", nil, r.addr.(*net.UDPAddr))
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip sends p from c and expects the reader to get it next.
func (r *connRig) roundTrip(c *net.UDPConn, p string) {
	r.t.Helper()
	r.send(c, p)
	r.expect(c, p)
}

func (r *connRig) send(c *net.UDPConn, p string) {
	r.t.Helper()
	if _, err := c.Write([]byte(p)); err != nil {
		r.t.Fatal(err)
	}
}

func (r *connRig) expect(c *net.UDPConn, p string) {
	r.t.Helper()
	want := c.LocalAddr().String() + " " + p
	select {
	case g := <-r.got:
		if g != want {
			r.t.Fatalf("read %q, want %q", g, want)
		}
	case <-time.After(flowTimeout):
		r.t.Fatalf("nothing read, want %q", want)
	}
}

// reply writes to c through the connection (so the mux learns c's address).
func (r *connRig) reply(c *net.UDPConn) {
	r.t.Helper()
	if _, err := r.d.WriteTo([]byte("reply"), c.LocalAddr()); err != nil {
		r.t.Fatal(err)
	}
}

// directConn delivers, to its one reader, what comes through the mux (STUN
// from any address, media before the direct socket is there) and what
// comes directly, and moves its direct socket to a device's new address.
func TestDirectConnMoves(t *testing.T) {
	r := newConnRig(t)
	a, b := r.device(), r.device()
	req := string(stunRequest("ufragX"))

	r.roundTrip(a, req) // through the mux, by ufrag
	r.reply(a)
	r.roundTrip(a, "\x80media1") // through the mux; opens the direct socket
	testutil.Until(t, "direct socket", flowTimeout, func() bool { return r.dm.stats().opened == 1 })
	for i := range 5 {
		r.roundTrip(a, "\x80"+strconv.Itoa(i))
	}
	// A burst: read in batches (recvmmsg), in order, none lost.
	for i := range 10 {
		r.send(a, "\x80b"+strconv.Itoa(i))
	}
	for i := range 10 {
		r.expect(a, "\x80b"+strconv.Itoa(i))
	}
	if st := r.dm.stats(); st.packets != 15 {
		t.Errorf("%d packets read directly, want 15", st.packets)
	}

	r.roundTrip(b, req) // another address: through the mux, while the reader waits on a's socket
	r.reply(b)
	r.roundTrip(b, "\x80moved") // media from b: the direct socket moves there
	testutil.Until(t, "second direct socket", flowTimeout, func() bool { return r.dm.stats().opened == 2 })
	r.roundTrip(b, "\x80b1")
	r.roundTrip(a, "\x80a-late") // a's socket is closed: back through the mux
	if st := r.dm.stats(); st.packets != 16 || st.failed != 0 {
		t.Errorf("stats %+v, want 16 packets read directly, no failure", st)
	}

	if err := r.d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-r.got; ok {
		t.Error("read after Close")
	}
}

// Config.NoDirectSockets keeps every packet on the mux.
func TestNoDirectSockets(t *testing.T) {
	s := newTestSFU(t, func(c *Config) { c.NoDirectSockets = true })
	if _, ok := s.mux.(*directMux); ok {
		t.Fatal("direct sockets with NoDirectSockets")
	}
	api := clientAPI(t)
	a := newClient(t, s, api, "call1", "alice", "devA")
	b := newClient(t, s, api, "call1", "bob", "devB")
	s.SetConnected("call1", "devA", true)
	s.SetConnected("call1", "devB", true)
	testutil.Until(t, "audio both ways", flowTimeout, func() bool { return a.count("bob") >= 10 && b.count("alice") >= 10 })
}

func TestKernelAtLeast(t *testing.T) {
	for _, c := range []struct {
		release string
		want    bool
	}{
		{"6.18.44-fc-v857", true},
		{"6.13.0", true},
		{"6.12.9-amd64", false},
		{"5.15.0-91-generic", false},
		{"7.0", true},
		{"junk", false},
	} {
		if got := kernelAtLeast(c.release, 6, 13); got != c.want {
			t.Errorf("kernelAtLeast(%q, 6, 13) = %v, want %v", c.release, got, c.want)
		}
	}
}
