package sfu

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// nackRig drives one nackGenerator stream with packets of chosen sequence
// numbers and records the NACKs it writes.
type nackRig struct {
	g    *nackGenerator
	read interceptor.RTPReader
	next chan uint16

	mu     sync.Mutex
	nacked [][]uint16 // the sequence numbers of each NACK written
}

func newNackRig(t *testing.T, feedback []interceptor.RTCPFeedback) *nackRig {
	t.Helper()
	it, err := nackFactory{}.NewInterceptor("")
	if err != nil {
		t.Fatal(err)
	}
	r := &nackRig{g: it.(*nackGenerator), next: make(chan uint16, 1)}
	t.Cleanup(func() { _ = r.g.Close() })
	r.g.BindRTCPWriter(interceptor.RTCPWriterFunc(func(pkts []rtcp.Packet, _ interceptor.Attributes) (int, error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, p := range pkts {
			n, ok := p.(*rtcp.TransportLayerNack)
			if !ok || n.MediaSSRC != 77 {
				t.Errorf("wrote %T for SSRC %v, want a NACK for 77", p, n)
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
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: <-r.next, SSRC: 77}, Payload: []byte{1, 2, 3}}
		n, err := p.MarshalTo(b)
		return n, a, err
	})
	r.read = r.g.BindRemoteStream(&interceptor.StreamInfo{SSRC: 77, RTCPFeedback: feedback}, src)
	return r
}

func (r *nackRig) packets(t *testing.T, seqs ...uint16) {
	t.Helper()
	buf := make([]byte, 1500)
	for _, s := range seqs {
		r.next <- s
		if _, _, err := r.read.Read(buf, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func (r *nackRig) nacks() [][]uint16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]uint16(nil), r.nacked...)
}

func (r *nackRig) waitNacks(t *testing.T, n int) [][]uint16 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if got := r.nacks(); len(got) >= n {
			return got
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("%d NACKs written in 5 s, want %d: %v", len(r.nacks()), n, r.nacks())
	return nil
}

var nackFeedback = []interceptor.RTCPFeedback{{Type: "nack"}}

// TestNackGapAskedUntilRecovered: a gap is asked for, again while it stays
// open, and no longer once its packets arrived; a sequence without gaps
// (wrapping at 65535) asks for nothing.
func TestNackGapAskedUntilRecovered(t *testing.T) {
	r := newNackRig(t, nackFeedback)
	r.packets(t, 65533, 65534, 65535, 0, 1, 2)
	time.Sleep(3 * nackInterval)
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
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := r.nacks()
		if last := got[len(got)-1]; len(last) == 1 && last[0] == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no NACK of 4 alone after 3 arrived: %v", got)
		}
		time.Sleep(2 * time.Millisecond)
	}
	r.packets(t, 4)
	time.Sleep(2 * nackInterval) // a NACK in flight may still land
	settled := len(r.nacks())
	time.Sleep(4 * nackInterval)
	if got := r.nacks(); len(got) != settled {
		t.Fatalf("NACKs after every packet arrived: %v", got[settled:])
	}
}

// TestNackGivesUp: a packet that never comes is asked for nackMaxTries
// times, then no more; a jump of nackMaxGap numbers (a restart) asks for
// nothing.
func TestNackGivesUp(t *testing.T) {
	r := newNackRig(t, nackFeedback)
	r.packets(t, 10, 12)
	r.waitNacks(t, nackMaxTries)
	time.Sleep(4 * nackInterval)
	got := r.nacks()
	want := make([][]uint16, nackMaxTries)
	for i := range want {
		want[i] = []uint16{11}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("NACKs for a packet that never came (-want +got):\n%s", diff)
	}

	r.packets(t, 12+nackMaxGap, 13+nackMaxGap)
	time.Sleep(4 * nackInterval)
	if n := len(r.nacks()); n != nackMaxTries {
		t.Fatalf("a jump of %d numbers was asked for: %v", nackMaxGap, r.nacks()[nackMaxTries:])
	}
}

// TestNackNotNegotiated: a stream whose codec has no NACK feedback passes
// through untouched and never asks.
func TestNackNotNegotiated(t *testing.T) {
	r := newNackRig(t, []interceptor.RTCPFeedback{{Type: "nack", Parameter: "pli"}})
	r.packets(t, 1, 5, 9)
	time.Sleep(4 * nackInterval)
	if got := r.nacks(); len(got) != 0 {
		t.Fatalf("NACKs on a stream without NACK feedback: %v", got)
	}
}
