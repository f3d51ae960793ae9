package sfu

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// The SFU's NACK generator: it asks a device to resend the RTP packets
// that did not arrive, as pion's nack.GeneratorInterceptor does, but it
// works only when something is missing. pion's generator wakes every
// interval (20 ms here) on every PeerConnection, scans each stream's
// receive log under a lock and allocates a map per stream and tick,
// whether anything was lost or not: at 200 calls that is 20,000 wake-ups a
// second for nothing. This one notices a gap in the sequence numbers as
// the packet after it is read, on the reading goroutine (no lock while
// nothing is missing: one atomic load), and only then arms a timer.
//
// When a gap opens, its packets are asked for nackFirstDelay later (a
// packet merely reordered has arrived by then), then again every
// nackInterval until they arrive, nackMaxTries times at most: a packet
// older than ~200 ms is past any jitter buffer, and a video decoder that
// lost it gets a keyframe through PLI. A jump of nackMaxGap packets or
// more is a restart of the numbering, not loss. At most nackMaxMissing
// packets per stream are outstanding; the oldest go first.
const (
	nackFirstDelay = 5 * time.Millisecond
	nackInterval   = 20 * time.Millisecond
	nackMaxTries   = 10
	nackMaxGap     = 1000
	nackMaxMissing = 128
)

type nackFactory struct{}

func (nackFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &nackGenerator{senderSSRC: rand.Uint32()}, nil
}

type nackGenerator struct {
	interceptor.NoOp
	senderSSRC uint32

	mu      sync.Mutex
	writer  interceptor.RTCPWriter
	streams []*nackStream
	timer   *time.Timer
	armed   bool
	closed  bool

	sent atomic.Uint64 // NACK packets written (tests)
}

type nackStream struct {
	ssrc uint32

	// The reading goroutine's.
	started bool
	highest uint16

	waiting atomic.Int32 // len(missing), read without the lock
	missing []missingPacket
}

type missingPacket struct {
	seq   uint16
	tries uint8
}

func supportsNack(info *interceptor.StreamInfo) bool {
	for _, fb := range info.RTCPFeedback {
		if fb.Type == "nack" && fb.Parameter == "" {
			return true
		}
	}
	return false
}

func (g *nackGenerator) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	g.mu.Lock()
	g.writer = w
	g.mu.Unlock()
	return w
}

func (g *nackGenerator) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	if !supportsNack(info) {
		return r
	}
	st := &nackStream{ssrc: info.SSRC}
	g.mu.Lock()
	g.streams = append(g.streams, st)
	g.mu.Unlock()
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := r.Read(b, a)
		if err != nil {
			return n, a, err
		}
		if a == nil {
			a = interceptor.Attributes{}
		}
		h, herr := a.GetRTPHeader(b[:n])
		if herr == nil {
			g.received(st, h.SequenceNumber)
		}
		return n, a, nil
	})
}

func (g *nackGenerator) UnbindRemoteStream(info *interceptor.StreamInfo) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, st := range g.streams {
		if st.ssrc == info.SSRC {
			g.streams = append(g.streams[:i], g.streams[i+1:]...)
			return
		}
	}
}

func (g *nackGenerator) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	if g.timer != nil {
		g.timer.Stop()
	}
	return nil
}

// received notes a packet's sequence number (the reading goroutine).
func (g *nackGenerator) received(st *nackStream, seq uint16) {
	if !st.started {
		st.started, st.highest = true, seq
		return
	}
	d := seq - st.highest // modulo 2^16
	switch {
	case d == 0:
		return // a duplicate of the highest
	case d == 1:
		st.highest = seq
	case d < 0x8000: // ahead: a gap of d-1
		st.highest = seq
		g.mu.Lock()
		if d >= nackMaxGap {
			st.missing = st.missing[:0]
		} else {
			for s := seq - d + 1; s != seq; s++ {
				if len(st.missing) == nackMaxMissing {
					copy(st.missing, st.missing[1:])
					st.missing = st.missing[:nackMaxMissing-1]
				}
				st.missing = append(st.missing, missingPacket{seq: s})
			}
			g.armLocked(nackFirstDelay)
		}
		st.waiting.Store(int32(len(st.missing)))
		g.mu.Unlock()
		return
	}
	// Behind the highest: reordered, or a retransmission.
	if st.waiting.Load() == 0 {
		return
	}
	g.mu.Lock()
	for i, m := range st.missing {
		if m.seq == seq {
			st.missing = append(st.missing[:i], st.missing[i+1:]...)
			break
		}
	}
	st.waiting.Store(int32(len(st.missing)))
	g.mu.Unlock()
}

func (g *nackGenerator) armLocked(d time.Duration) {
	if g.armed || g.closed {
		return
	}
	g.armed = true
	if g.timer == nil {
		g.timer = time.AfterFunc(d, g.fire)
	} else {
		g.timer.Reset(d)
	}
}

// fire sends one NACK per stream with packets still missing.
func (g *nackGenerator) fire() {
	g.mu.Lock()
	g.armed = false
	if g.closed || g.writer == nil {
		g.mu.Unlock()
		return
	}
	var pkts []rtcp.Packet
	seqs := make([]uint16, 0, nackMaxMissing)
	more := false
	for _, st := range g.streams {
		if len(st.missing) == 0 {
			continue
		}
		seqs = seqs[:0]
		keep := st.missing[:0]
		for _, m := range st.missing {
			seqs = append(seqs, m.seq)
			if m.tries++; m.tries < nackMaxTries {
				keep = append(keep, m)
			}
		}
		st.missing = keep
		st.waiting.Store(int32(len(keep)))
		more = more || len(keep) > 0
		pkts = append(pkts, &rtcp.TransportLayerNack{
			SenderSSRC: g.senderSSRC,
			MediaSSRC:  st.ssrc,
			Nacks:      rtcp.NackPairsFromSequenceNumbers(seqs),
		})
	}
	if more {
		g.armLocked(nackInterval)
	}
	w := g.writer
	g.mu.Unlock()
	if len(pkts) > 0 {
		if _, err := w.Write(pkts, nil); err == nil {
			g.sent.Add(uint64(len(pkts)))
		}
	}
}
