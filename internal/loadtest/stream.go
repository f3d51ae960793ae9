package loadtest

import (
	"math"
	"sync"
	"time"
)

// stream counts one inbound track: packets, sequence gaps, RFC 3550
// interarrival jitter, and a histogram of the gaps between arrivals.
// The reading goroutine adds; marks and snapshots come from elsewhere,
// hence the (uncontended) mutex.
type stream struct {
	video bool
	clock float64 // RTP clock rate

	mu       sync.Mutex
	started  bool
	received uint64
	highest  uint64 // extended highest sequence number
	lastArr  time.Time
	lastTS   uint32
	jitter   float64 // in RTP ticks
	gaps     [gapBuckets]uint32
	maxGap   time.Duration
	markRecv uint64
	markHigh uint64
	marked   bool
}

// gapBuckets: the interarrival histogram has 1 ms buckets up to 1 s.
const gapBuckets = 1000

// add records a packet; it reports whether it was the stream's first.
func (s *stream) add(seq uint16, ts uint32, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	first := !s.started
	if first {
		s.started = true
		s.highest = 0x10000 + uint64(seq) // room below for reordered packets
		s.received = 1
		if s.marked {
			s.markHigh = s.highest - 1
		}
		s.lastArr, s.lastTS = now, ts
		return true
	}
	s.received++
	// Extend the sequence number: the value nearest the highest so far.
	ext := s.highest&^0xffff | uint64(seq)
	switch d := int64(ext) - int64(s.highest); {
	case d < -0x8000:
		ext += 0x10000
	case d > 0x8000 && ext >= 0x10000:
		ext -= 0x10000
	}
	if ext > s.highest {
		s.highest = ext
	}
	gap := now.Sub(s.lastArr)
	if ts != s.lastTS || !s.video { // one gap per frame for video
		arrTicks := gap.Seconds() * s.clock
		d := arrTicks - float64(int32(ts-s.lastTS))
		s.jitter += (math.Abs(d) - s.jitter) / 16
		b := int(gap / time.Millisecond)
		if b >= gapBuckets {
			b = gapBuckets - 1
		}
		s.gaps[b]++
		s.maxGap = max(s.maxGap, gap)
		s.lastArr, s.lastTS = now, ts
	}
	return false
}

// mark starts the measurement window: counts and the gap histogram restart.
func (s *stream) mark() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.marked = true
	s.markRecv, s.markHigh = s.received, s.highest
	s.gaps = [gapBuckets]uint32{}
	s.maxGap = 0
}

// streamStats is a stream's figures over the window.
type streamStats struct {
	Received, Expected uint64
	JitterMs           float64
	MaxGap             time.Duration
	Gaps               [gapBuckets]uint32
}

func (s *stream) stats() streamStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := streamStats{JitterMs: s.jitter / s.clock * 1000, MaxGap: s.maxGap, Gaps: s.gaps}
	if !s.started {
		return st
	}
	if s.marked {
		st.Received = s.received - s.markRecv
		st.Expected = s.highest - s.markHigh
	} else {
		st.Received = s.received
		st.Expected = s.received
	}
	return st
}
