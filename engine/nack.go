package engine

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// The engine's NACK generator: it asks the server to resend a lost RTP
// packet as soon as a later one shows the gap, and asks again on the
// arrival of later packets while the lost one stays missing. pion's
// generator does the same from a ticker per PeerConnection (every 20 ms
// here), which wakes the process 50 times a second whether or not
// anything is missing (docs/performance.md, "Client CPU"); this one does
// its work on the track's own read, so a call with no loss costs no
// wake-up at all.
//
// A missing packet is asked for at most nackMaxTries times, at least
// nackRetryInterval apart, and forgotten after nackMaxAge (it would come
// too late for the jitter buffer). A jump of more than nackMaxGap
// sequence numbers (a new stream, the sender's restart) is not a loss.
const (
	nackMaxTries      = 5
	nackRetryInterval = 20 * time.Millisecond
	nackMaxAge        = time.Second
	nackMaxGap        = 100
	nackMaxMissing    = 128 // per stream
)

// nackGeneratorFactory makes one nackGenerator per PeerConnection.
type nackGeneratorFactory struct{}

func (nackGeneratorFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &nackGenerator{senderSSRC: rand.Uint32()}, nil
}

// nackGenerator is an interceptor.Interceptor; it starts no goroutine.
type nackGenerator struct {
	interceptor.NoOp
	senderSSRC uint32

	mu     sync.Mutex
	writer interceptor.RTCPWriter
}

// BindRTCPWriter keeps the PeerConnection's RTCP writer for the NACKs.
func (g *nackGenerator) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	g.mu.Lock()
	g.writer = w
	g.mu.Unlock()
	return w
}

// BindRemoteStream follows the sequence numbers of a stream that
// negotiated NACK feedback.
func (g *nackGenerator) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	if !supportsNack(info) {
		return reader
	}
	st := &nackStream{}
	ssrc := info.SSRC
	var seqs []uint16 // reused: the track's reads are sequential
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attr, err := reader.Read(b, a)
		if err != nil {
			return n, attr, err
		}
		if attr == nil {
			attr = make(interceptor.Attributes)
		}
		h, err := attr.GetRTPHeader(b[:n])
		if err != nil {
			return 0, nil, err
		}
		seqs = st.packet(h.SequenceNumber, time.Now(), seqs[:0])
		if len(seqs) > 0 {
			g.send(ssrc, seqs)
		}
		return n, attr, nil
	})
}

func (g *nackGenerator) send(ssrc uint32, seqs []uint16) {
	g.mu.Lock()
	w := g.writer
	g.mu.Unlock()
	if w == nil {
		return
	}
	_, _ = w.Write([]rtcp.Packet{&rtcp.TransportLayerNack{
		SenderSSRC: g.senderSSRC, MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs),
	}}, interceptor.Attributes{})
}

func supportsNack(info *interceptor.StreamInfo) bool {
	for _, fb := range info.RTCPFeedback {
		if fb.Type == "nack" && fb.Parameter == "" {
			return true
		}
	}
	return false
}

// nackStream is one received stream's loss bookkeeping; only its track's
// read goroutine uses it.
type nackStream struct {
	started bool
	max     uint16 // the highest sequence number seen
	missing []missingPacket
}

type missingPacket struct {
	seq         uint16
	first, last time.Time // when the gap was seen, when last asked for
	tries       int
}

// packet notes the arrival of seq at now and appends to out the sequence
// numbers to ask for now.
func (s *nackStream) packet(seq uint16, now time.Time, out []uint16) []uint16 {
	if !s.started {
		s.started, s.max = true, seq
		return out
	}
	switch d := int16(seq - s.max); {
	case d > nackMaxGap:
		s.missing = s.missing[:0] // a jump, not a loss
		s.max = seq
	case d > 0:
		for q := s.max + 1; q != seq; q++ {
			if len(s.missing) == nackMaxMissing {
				copy(s.missing, s.missing[1:])
				s.missing = s.missing[:len(s.missing)-1]
			}
			s.missing = append(s.missing, missingPacket{seq: q, first: now})
		}
		s.max = seq
	case d < -nackMaxGap:
		s.missing = s.missing[:0] // the sender restarted lower
		s.max = seq
	default: // a late or resent packet
		for i := range s.missing {
			if s.missing[i].seq == seq {
				s.missing = append(s.missing[:i], s.missing[i+1:]...)
				break
			}
		}
	}
	kept := s.missing[:0]
	for _, m := range s.missing {
		if m.tries >= nackMaxTries || now.Sub(m.first) > nackMaxAge {
			continue
		}
		if m.tries == 0 || now.Sub(m.last) >= nackRetryInterval {
			m.tries++
			m.last = now
			out = append(out, m.seq)
		}
		kept = append(kept, m)
	}
	s.missing = kept
	return out
}
