package engine

import (
	"time"

	"github.com/pion/rtp"
)

const (
	volumeInterval  = 300 * time.Millisecond
	qualityInterval = 2 * time.Second
)

// levelToDBov maps a loudness 0..100 to the RFC 6464 audio level, which is
// -dBov 0..127 with 127 for digital silence: level L in 1..100 travels as
// -(100-L) dBov (so level = 100 + dBov, 100 is full scale and 40 is
// -60 dBov), and 0 as 127.
func levelToDBov(level int) uint8 {
	switch {
	case level <= 0:
		return 127
	case level >= 100:
		return 0
	}
	return uint8(100 - level)
}

// dBovToLevel is levelToDBov's inverse; anything at or below -100 dBov is 0.
func dBovToLevel(v uint8) int {
	if v >= 100 {
		return 0
	}
	return 100 - int(v)
}

// Network quality thresholds. Each measure gets the best grade whose
// bound it is under; the quality is the worst of the measures' grades, and
// Down beyond the last row (or when ICE is disconnected or failed).
//
//	grade      loss      jitter     round trip
//	Excellent  < 1 %     < 20 ms    < 100 ms
//	Good       < 3 %     < 40 ms    < 200 ms
//	Poor       < 8 %     < 80 ms    < 350 ms
//	Bad        < 15 %    < 150 ms   < 600 ms
//	Vbad       < 30 %    < 300 ms   < 1000 ms
//	Down       beyond
//
// Nothing measured in the interval (no receiver report about the uplink, no
// packet from a muted user) is Unknown.
var qualitySteps = []struct {
	q                 NetworkQuality
	loss, jitter, rtt float64
}{
	{NetworkQualityExcellent, 1, 20, 100},
	{NetworkQualityGood, 3, 40, 200},
	{NetworkQualityPoor, 8, 80, 350},
	{NetworkQualityBad, 15, 150, 600},
	{NetworkQualityVbad, 30, 300, 1000},
}

// qualityOf grades a loss percentage, a jitter and a round-trip time in
// milliseconds; a negative rttMs means unknown and is not graded.
func qualityOf(lossPct, jitterMs, rttMs float64) NetworkQuality {
	grade := func(v float64, bound func(i int) float64) NetworkQuality {
		for i, s := range qualitySteps {
			if v < bound(i) {
				return s.q
			}
		}
		return NetworkQualityDown
	}
	q := grade(lossPct, func(i int) float64 { return qualitySteps[i].loss })
	q = max(q, grade(jitterMs, func(i int) float64 { return qualitySteps[i].jitter }))
	if rttMs >= 0 {
		q = max(q, grade(rttMs, func(i int) float64 { return qualitySteps[i].rtt }))
	}
	return q
}

// ntpMiddle is the middle 32 bits of the NTP time of t (RFC 3550's LSR
// and DLSR unit: 1/65536 s).
func ntpMiddle(t time.Time) uint32 {
	const ntpEpochOffset = 2208988800 // 1900 to 1970, in seconds
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return uint32((secs<<32 | frac) >> 16)
}

// rttFromReport computes the round-trip time in milliseconds from a
// reception report's LSR and DLSR received at now; -1 if unknown.
func rttFromReport(lsr, dlsr uint32, now time.Time) float64 {
	if lsr == 0 {
		return -1
	}
	rtt := ntpMiddle(now) - lsr - dlsr
	if int32(rtt) < 0 {
		return -1
	}
	return float64(rtt) * 1000 / 65536
}

// uplinkStats is the last receiver report the server sent about this
// device's audio.
type uplinkStats struct {
	at                     time.Time
	lossPct, jitterMs, rtt float64
}

// inboundStats measures one received track: its loudness from the
// audio-level extension, and loss and jitter as RFC 3550 A.3 and A.8 do.
type inboundStats struct {
	clock  float64 // RTP ticks per second
	level  int     // the loudest level since the last volume report
	epoch  time.Time
	primed bool

	baseSeq, maxSeq uint16
	cycles          uint64
	received        uint64
	transit         float64
	jitter          float64 // in RTP ticks

	priorExpected, priorReceived uint64
}

func newInboundStats(clock uint32) *inboundStats {
	if clock == 0 {
		clock = opusClockRate
	}
	return &inboundStats{clock: float64(clock), epoch: time.Now()}
}

// packet accounts one packet arrived at now; level is -1 without the
// audio-level extension.
func (s *inboundStats) packet(h *rtp.Header, now time.Time, level int) {
	s.level = max(s.level, level)
	seq := h.SequenceNumber
	if !s.primed {
		s.primed = true
		s.baseSeq, s.maxSeq = seq, seq
		s.priorExpected = 0
	} else if d := seq - s.maxSeq; d != 0 && d < 0x8000 {
		if seq < s.maxSeq {
			s.cycles += 1 << 16
		}
		s.maxSeq = seq
	}
	s.received++
	arrival := now.Sub(s.epoch).Seconds() * s.clock
	transit := arrival - float64(h.Timestamp)
	if s.received > 1 {
		d := transit - s.transit
		if d < 0 {
			d = -d
		}
		s.jitter += (d - s.jitter) / 16
	}
	s.transit = transit
}

// takeLevel returns the loudest level since the last call and resets it.
func (s *inboundStats) takeLevel() int {
	l := s.level
	s.level = 0
	return l
}

// takeQuality grades the interval since the last call.
func (s *inboundStats) takeQuality() NetworkQuality {
	if !s.primed {
		return NetworkQualityUnknown
	}
	expected := s.cycles + uint64(s.maxSeq) - uint64(s.baseSeq) + 1
	expInterval := expected - s.priorExpected
	recvInterval := s.received - s.priorReceived
	s.priorExpected, s.priorReceived = expected, s.received
	if recvInterval == 0 || expInterval == 0 {
		return NetworkQualityUnknown
	}
	lost := 0.0
	if expInterval > recvInterval {
		lost = float64(expInterval-recvInterval) * 100 / float64(expInterval)
	}
	return qualityOf(lost, s.jitter*1000/s.clock, -1)
}
