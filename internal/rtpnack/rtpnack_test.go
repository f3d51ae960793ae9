package rtpnack

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"go.uber.org/goleak"

	"github.com/termcall/termcall/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The two ways termcall runs a generator: as the engine does (asked on
// the reads; engine/nack.go) and as the SFU does (asked from a timer;
// server/sfu/nack.go).
var (
	onRead = Options{
		RetryInterval: 20 * time.Millisecond, MaxTries: 5, MaxAge: time.Second,
		MaxGap: 100, MaxMissing: 128,
	}
	onTimer = Options{
		FirstDelay: 5 * time.Millisecond, RetryInterval: 20 * time.Millisecond, MaxTries: 10,
		MaxGap: 999, MaxMissing: 128, Timer: true,
	}
)

const ssrc = 77

// rig drives one stream of a Generator with packets of chosen sequence
// numbers and records the NACKs it writes.
type rig struct {
	g    *Generator
	read interceptor.RTPReader
	next chan uint16

	mu     sync.Mutex
	nacked [][]uint16 // the sequence numbers of each NACK written
}

func newRig(t *testing.T, o Options, feedback []interceptor.RTCPFeedback) *rig {
	t.Helper()
	it, err := Factory{Options: o}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{g: it.(*Generator), next: make(chan uint16, 1)}
	t.Cleanup(func() { _ = r.g.Close() })
	r.g.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, p := range pkts {
			n, ok := p.(*rtcp.TransportLayerNack)
			if !ok || n.MediaSSRC != ssrc {
				t.Errorf("wrote %T for SSRC %v, want a NACK for %d", p, n, ssrc)
				continue
			}
			var seqs []uint16
			for _, pair := range n.Nacks {
				seqs = append(seqs, pair.PacketList()...)
			}
			r.nacked = append(r.nacked, seqs)
		}
		return 0, nil
	}))
	src := interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: <-r.next, SSRC: ssrc}, Payload: []byte{1, 2, 3}}
		n, err := p.MarshalTo(b)
		return n, a, err
	})
	r.read = r.g.BindRemoteStream(&interceptor.StreamInfo{SSRC: ssrc, RTCPFeedback: feedback}, src)
	return r
}

func (r *rig) packets(t *testing.T, seqs ...uint16) {
	t.Helper()
	buf := make([]byte, 1500)
	for _, s := range seqs {
		r.next <- s
		if _, _, err := r.read.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func (r *rig) nacks() [][]uint16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]uint16(nil), r.nacked...)
}

func (r *rig) waitNacks(t *testing.T, n int) [][]uint16 {
	t.Helper()
	var got [][]uint16
	testutil.WithTimeout(t, func() string {
		if got = r.nacks(); len(got) >= n {
			return ""
		}
		return fmt.Sprintf("%d NACKs written, want %d: %v", len(got), n, got)
	}, 5*time.Second)
	return got
}

var nackFeedback = []interceptor.RTCPFeedback{{Type: "nack"}}

// TestOnRead (the engine's generator): a gap is asked for on the packet
// that shows it, again on later packets at most every RetryInterval while
// it stays missing, and no more once it arrives, after MaxTries, or after
// a jump that is a new stream rather than a loss.
func TestOnRead(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var now time.Time
	var r *rig
	start := func() {
		r = newRig(t, onRead, nackFeedback)
		r.g.now = func() time.Time { return now }
	}
	step := func(seq uint16, ms int) []uint16 {
		before := len(r.nacks())
		now = t0.Add(time.Duration(ms) * time.Millisecond)
		r.packets(t, seq)
		var got []uint16
		for _, n := range r.nacks()[before:] {
			got = append(got, n...)
		}
		return got
	}
	start()
	for _, c := range []struct {
		seq  uint16
		ms   int
		want []uint16
	}{
		{65533, 0, nil}, // first packet
		{65534, 20, nil},
		{1, 40, []uint16{65535, 0}}, // gap across the wrap
		{2, 50, nil},                // too soon to ask again
		{3, 60, []uint16{65535, 0}}, // retry
		{0, 65, nil},                // 0 arrives (resent)
		{4, 80, []uint16{65535}},
		{5, 100, []uint16{65535}},
		{6, 120, []uint16{65535}},
		{7, 140, nil},   // five tries: given up
		{7, 160, nil},   // a duplicate
		{300, 180, nil}, // a jump: a new stream, not a loss
		{302, 200, []uint16{301}},
		{301, 210, nil},
		{303, 240, nil},
	} {
		if diff := cmp.Diff(c.want, step(c.seq, c.ms)); diff != "" {
			t.Errorf("packet %d at %d ms: NACKs (-want +got):\n%s", c.seq, c.ms, diff)
		}
	}
	// A gap older than MaxAge is forgotten.
	start()
	step(10, 0)
	if got := step(12, 20); !cmp.Equal(got, []uint16{11}) {
		t.Fatalf("NACKs %v, want [11]", got)
	}
	if got := step(13, 20+int(onRead.MaxAge/time.Millisecond)+1); got != nil {
		t.Errorf("NACKs %v for a packet lost over %v ago", got, onRead.MaxAge)
	}
}

// TestOnReadFirstDelay: with a FirstDelay, a read asks for a gap once it
// is that old, not on the read that shows it.
func TestOnReadFirstDelay(t *testing.T) {
	o := onRead
	o.FirstDelay = 5 * time.Millisecond
	r := newRig(t, o, nackFeedback)
	now := time.Unix(1000, 0)
	r.g.now = func() time.Time { return now }
	r.packets(t, 1, 3)
	now = now.Add(4 * time.Millisecond)
	r.packets(t, 4)
	if got := r.nacks(); len(got) != 0 {
		t.Fatalf("NACKs before FirstDelay: %v", got)
	}
	now = now.Add(time.Millisecond)
	r.packets(t, 5)
	if diff := cmp.Diff([][]uint16{{2}}, r.nacks()); diff != "" {
		t.Fatalf("NACKs at FirstDelay (-want +got):\n%s", diff)
	}
}

// TestTimerGapAskedUntilRecovered (the SFU's generator): a gap is asked
// for, again while it stays open, and no longer once its packets arrived;
// a sequence without gaps (wrapping at 65535) asks for nothing.
func TestTimerGapAskedUntilRecovered(t *testing.T) {
	r := newRig(t, onTimer, nackFeedback)
	r.packets(t, 65533, 65534, 65535, 0, 1, 2)
	time.Sleep(3 * onTimer.RetryInterval)
	if got := r.nacks(); len(got) != 0 {
		t.Fatalf("NACKs without loss: %v", got)
	}

	r.packets(t, 5, 6) // 3 and 4 missing
	first := r.waitNacks(t, 1)
	if diff := cmp.Diff([]uint16{3, 4}, first[0]); diff != "" {
		t.Fatalf("first NACK (-want +got):\n%s", diff)
	}
	r.packets(t, 3) // the retransmission of 3
	// Asked again for 4 alone (a NACK of 3 and 4 may have been on its
	// way while 3 arrived).
	testutil.WithTimeout(t, func() string {
		got := r.nacks()
		if last := got[len(got)-1]; len(last) == 1 && last[0] == 4 {
			return ""
		}
		return fmt.Sprintf("no NACK of 4 alone after 3 arrived: %v", got)
	}, 5*time.Second)
	r.packets(t, 4)
	time.Sleep(2 * onTimer.RetryInterval) // a NACK in flight may still land
	settled := len(r.nacks())
	time.Sleep(4 * onTimer.RetryInterval)
	if got := r.nacks(); len(got) != settled {
		t.Fatalf("NACKs after every packet arrived: %v", got[settled:])
	}
}

// TestTimerGivesUp: a packet that never comes is asked for MaxTries
// times, then no more; a jump of more than MaxGap numbers (a restart),
// forwards or back, asks for nothing.
func TestTimerGivesUp(t *testing.T) {
	r := newRig(t, onTimer, nackFeedback)
	r.packets(t, 10, 12)
	r.waitNacks(t, onTimer.MaxTries)
	time.Sleep(4 * onTimer.RetryInterval)
	got := r.nacks()
	want := make([][]uint16, onTimer.MaxTries)
	for i := range want {
		want[i] = []uint16{11}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("NACKs for a packet that never came (-want +got):\n%s", diff)
	}

	jump := 12 + onTimer.MaxGap + 1
	r.packets(t, jump, jump+1)
	time.Sleep(4 * onTimer.RetryInterval)
	if n := len(r.nacks()); n != onTimer.MaxTries {
		t.Fatalf("a jump of %d numbers was asked for: %v", onTimer.MaxGap+1, r.nacks()[onTimer.MaxTries:])
	}
	// Back by more than MaxGap: the numbering starts over there, so the
	// next gap is counted from it.
	back := jump - onTimer.MaxGap - 1
	r.packets(t, back, back+2)
	if diff := cmp.Diff([]uint16{back + 1}, r.waitNacks(t, onTimer.MaxTries+1)[onTimer.MaxTries]); diff != "" {
		t.Fatalf("NACK after a restart lower (-want +got):\n%s", diff)
	}
}

// TestTimerReorderNotAsked: a packet that arrives within FirstDelay of
// its gap showing (reordered) is never asked for.
func TestTimerReorderNotAsked(t *testing.T) {
	o := onTimer
	o.FirstDelay = time.Second // longer than the test takes to reorder
	r := newRig(t, o, nackFeedback)
	r.packets(t, 1, 3, 2, 4)
	if n := r.g.streams[0].waiting.Load(); n != 0 {
		t.Fatalf("%d packets still missing after the reordered one came", n)
	}
	r.g.mu.Lock()
	armed := !r.g.armedAt.IsZero()
	r.g.mu.Unlock()
	if armed {
		r.g.fire() // as the timer would: nothing is missing
	}
	if got := r.nacks(); len(got) != 0 {
		t.Fatalf("NACKs for a reordered packet: %v", got)
	}
}

// TestNotNegotiated: a stream whose codec has no NACK feedback passes
// through untouched and never asks.
func TestNotNegotiated(t *testing.T) {
	for _, o := range []Options{onRead, onTimer} {
		r := newRig(t, o, []interceptor.RTCPFeedback{{Type: "nack", Parameter: "pli"}})
		r.packets(t, 1, 5, 9)
		time.Sleep(4 * o.RetryInterval)
		if got := r.nacks(); len(got) != 0 {
			t.Fatalf("timer %v: NACKs on a stream without NACK feedback: %v", o.Timer, got)
		}
	}
}

// TestMaxMissing: at most MaxMissing packets are outstanding; the oldest
// go first.
func TestMaxMissing(t *testing.T) {
	o := onRead
	o.MaxMissing = 3
	r := newRig(t, o, nackFeedback)
	r.packets(t, 1, 7)
	if diff := cmp.Diff([][]uint16{{4, 5, 6}}, r.nacks()); diff != "" {
		t.Fatalf("NACKs with MaxMissing 3 (-want +got):\n%s", diff)
	}
}

// TestNoLossNoAlloc: a packet read while nothing is missing allocates
// nothing and asks for nothing.
func TestNoLossNoAlloc(t *testing.T) {
	for _, o := range []Options{onRead, onTimer} {
		g, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		st := &stream{ssrc: ssrc}
		var seq uint16
		if allocs := testing.AllocsPerRun(1000, func() { seq++; g.received(st, seq) }); allocs != 0 {
			t.Errorf("timer %v: %v allocations per packet", o.Timer, allocs)
		}
		if n := st.waiting.Load(); n != 0 {
			t.Errorf("timer %v: %d missing without loss", o.Timer, n)
		}
		_ = g.Close()
	}
}

// TestValidate: options a generator cannot run with are refused.
func TestValidate(t *testing.T) {
	for name, mod := range map[string]func(*Options){
		"RetryInterval": func(o *Options) { o.RetryInterval = 0 },
		"FirstDelay":    func(o *Options) { o.FirstDelay = -1 },
		"MaxTries":      func(o *Options) { o.MaxTries = 0 },
		"MaxAge":        func(o *Options) { o.MaxAge = -1 },
		"MaxGap":        func(o *Options) { o.MaxGap = 0x8000 },
		"MaxMissing":    func(o *Options) { o.MaxMissing = 0 },
	} {
		o := onRead
		mod(&o)
		if _, err := (Factory{Options: o}).NewInterceptor(""); err == nil {
			t.Errorf("%s: no error for %+v", name, o)
		}
	}
	for _, o := range []Options{onRead, onTimer} {
		if err := o.Validate(); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

// BenchmarkReadNoLoss: the per-packet cost of the generator on a stream
// without loss, the RTP header already parsed into the packet's
// attributes by the chain (server/sfu/interceptors.go).
func BenchmarkReadNoLoss(b *testing.B) {
	for _, o := range []Options{onRead, onTimer} {
		b.Run(fmt.Sprintf("timer=%v", o.Timer), func(b *testing.B) {
			g, err := New(o)
			if err != nil {
				b.Fatal(err)
			}
			defer func() { _ = g.Close() }()
			pkt, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SSRC: ssrc}, Payload: make([]byte, 100)}).Marshal()
			src := interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
				return copy(b, pkt), a, nil
			})
			read := g.BindRemoteStream(&interceptor.StreamInfo{SSRC: ssrc, RTCPFeedback: nackFeedback}, src)
			buf := make([]byte, 1500)
			attrs := interceptor.Attributes{}
			h, _ := attrs.GetRTPHeader(pkt) // parsed once, as the SFU's chain does (server/sfu/interceptors.go)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				h.SequenceNumber = uint16(i)
				if _, _, err := read.Read(buf, attrs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
