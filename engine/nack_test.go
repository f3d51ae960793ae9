package engine

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestNackStream: a gap is asked for on the packet that shows it, again
// on later packets at most every nackRetryInterval while it stays
// missing, and no more once it arrives, after nackMaxTries, or after a
// jump that is a new stream rather than a loss.
func TestNackStream(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	var s nackStream
	step := func(seq uint16, ms int) []uint16 { return s.packet(seq, at(ms), nil) }
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
	// A gap older than nackMaxAge is forgotten.
	s = nackStream{}
	step(10, 0)
	if got := step(12, 20); !cmp.Equal(got, []uint16{11}) {
		t.Fatalf("NACKs %v, want [11]", got)
	}
	if got := step(13, 20+int(nackMaxAge/time.Millisecond)+1); got != nil {
		t.Errorf("NACKs %v for a packet lost over %v ago", got, nackMaxAge)
	}
}
