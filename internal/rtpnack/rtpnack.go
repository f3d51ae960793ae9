// Package rtpnack asks the sender of an RTP stream to resend the packets
// that did not arrive: a generic NACK generator (RFC 4585,
// rtcp.TransportLayerNack) as a pion interceptor. The engine
// (engine/nack.go) and the SFU (server/sfu/nack.go) each add one to their
// interceptor registry with Options of their own; it is pure Go and imports
// only pion's interceptor, rtcp and rtp packages, so the core packages may
// use it.
//
// It works only when something is missing. pion's generator wakes every
// interval on every PeerConnection, scans each stream's receive log under a
// lock and allocates per stream and tick, lost packets or not. This one
// notices a gap in the sequence numbers on the reading goroutine as the
// packet after it is read: while nothing is missing a packet costs one
// atomic load, no lock, no clock read and no allocation.
//
// A missing packet is asked for FirstDelay after its gap showed (0: on the
// read that shows it; more gives a packet that was merely reordered time
// to arrive), then again at least RetryInterval apart, MaxTries times in
// all, and forgotten once it arrives, after MaxTries, or MaxAge after the
// gap showed. What drives the asking is Options.Timer: without it, the
// stream's own reads (a device: no goroutine, no wake-up of its own; a
// stream that falls silent asks no more); with it, one timer per
// generator, armed only while something is missing, for the earliest
// moment anything is due (a server: it asks on time however the stream
// goes on). One NACK per stream carries every packet due at that moment.
//
// An advance of the sequence number by more than MaxGap, or a step back by
// more than MaxGap, is the sender renumbering (a new stream, a restart),
// not loss: what was missing is forgotten and the numbering starts over
// there. At most MaxMissing packets per stream are outstanding; the oldest
// go first.
//
// Goroutines: none of its own. Each stream's reads are one goroutine's (as
// pion reads a track); the timer's callback and the reads share one mutex
// per generator, taken only while something is missing.
package rtpnack

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
)

// Options say when and how often a generator asks.
type Options struct {
	// FirstDelay is how long after a gap shows its packets are first
	// asked for; 0 asks at once.
	FirstDelay time.Duration
	// RetryInterval is the least time between two asks for one packet.
	RetryInterval time.Duration
	// MaxTries is how many times a packet is asked for at most.
	MaxTries int
	// MaxAge forgets a packet this long after its gap showed; 0: never
	// (MaxTries still ends it).
	MaxAge time.Duration
	// MaxGap is the largest advance of the sequence number that counts as
	// loss (MaxGap-1 packets missing), and the largest step back that
	// counts as a late packet; beyond it the sender renumbered.
	MaxGap uint16
	// MaxMissing is how many packets per stream may be outstanding.
	MaxMissing int
	// Timer asks from a timer armed while something is missing instead of
	// from the stream's reads.
	Timer bool
}

// Validate reports options a generator cannot run with.
func (o Options) Validate() error {
	switch {
	case o.FirstDelay < 0, o.RetryInterval <= 0:
		return errors.New("rtpnack: FirstDelay must be >= 0 and RetryInterval > 0")
	case o.MaxTries < 1 || o.MaxTries > 255:
		return errors.New("rtpnack: MaxTries must be 1..255")
	case o.MaxAge < 0:
		return errors.New("rtpnack: MaxAge must be >= 0")
	case o.MaxGap < 1 || o.MaxGap >= 0x8000:
		return errors.New("rtpnack: MaxGap must be 1..32767")
	case o.MaxMissing < 1:
		return errors.New("rtpnack: MaxMissing must be >= 1")
	}
	return nil
}

// Factory makes one Generator per PeerConnection; add it to the
// interceptor.Registry.
type Factory struct{ Options Options }

// NewInterceptor implements interceptor.Factory.
func (f Factory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return New(f.Options)
}

// New returns a generator with a random sender SSRC.
func New(o Options) (*Generator, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &Generator{opts: o, senderSSRC: rand.Uint32(), now: time.Now}, nil
}

// Generator is an interceptor.Interceptor that writes NACKs for the remote
// streams that negotiated generic NACK feedback.
type Generator struct {
	interceptor.NoOp
	opts       Options
	senderSSRC uint32
	now        func() time.Time // tests set a clock

	mu      sync.Mutex
	writer  interceptor.RTCPWriter
	streams []*stream
	timer   *time.Timer
	armedAt time.Time // when the timer fires; zero: not armed
	closed  bool
	due     []uint16 // the timer's buffer
}

// stream is one remote stream's loss bookkeeping.
type stream struct {
	ssrc uint32

	// The reading goroutine's.
	started bool
	highest uint16
	due     []uint16 // what a read asks for (without Timer)

	waiting atomic.Int32 // len(missing), read without the lock
	missing []missingPacket
}

type missingPacket struct {
	seq         uint16
	tries       uint8
	first, last time.Time // when the gap showed, when last asked for
}

// dueAt is when m is to be asked for next.
func (m *missingPacket) dueAt(o *Options) time.Time {
	if m.tries == 0 {
		return m.first.Add(o.FirstDelay)
	}
	return m.last.Add(o.RetryInterval)
}

// BindRTCPWriter keeps the PeerConnection's RTCP writer for the NACKs.
func (g *Generator) BindRTCPWriter(w interceptor.RTCPWriter) interceptor.RTCPWriter {
	g.mu.Lock()
	g.writer = w
	g.mu.Unlock()
	return w
}

// BindRemoteStream follows the sequence numbers of a stream that
// negotiated NACK feedback; other streams pass untouched.
func (g *Generator) BindRemoteStream(info *interceptor.StreamInfo, r interceptor.RTPReader) interceptor.RTPReader {
	if !supportsNack(info) {
		return r
	}
	st := &stream{ssrc: info.SSRC}
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
		// A packet whose header does not parse is passed on as it is:
		// it carries no sequence number to follow.
		if h, herr := a.GetRTPHeader(b[:n]); herr == nil {
			g.received(st, h.SequenceNumber)
		}
		return n, a, nil
	})
}

// UnbindRemoteStream forgets the stream.
func (g *Generator) UnbindRemoteStream(info *interceptor.StreamInfo) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, st := range g.streams {
		if st.ssrc == info.SSRC {
			g.streams = append(g.streams[:i], g.streams[i+1:]...)
			return
		}
	}
}

// Close stops the timer; nothing is asked for after it.
func (g *Generator) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	if g.timer != nil {
		g.timer.Stop()
	}
	return nil
}

func supportsNack(info *interceptor.StreamInfo) bool {
	for _, fb := range info.RTCPFeedback {
		if fb.Type == "nack" && fb.Parameter == "" {
			return true
		}
	}
	return false
}

// step is what a sequence number means against the highest seen.
type step int

const (
	stepNext     step = iota // the one after the highest
	stepGap                  // ahead, with packets missing before it
	stepBehind               // a duplicate, reordered or resent packet
	stepRenumber             // too far either way: the sender renumbered
)

func (g *Generator) classify(d uint16) step {
	switch {
	case d == 1:
		return stepNext
	case d > 1 && d <= g.opts.MaxGap:
		return stepGap
	case -d <= g.opts.MaxGap: // d == 0 included
		return stepBehind
	}
	return stepRenumber
}

// received notes a packet's sequence number (the reading goroutine).
func (g *Generator) received(st *stream, seq uint16) {
	if !st.started {
		st.started, st.highest = true, seq
		return
	}
	prev := st.highest
	s := g.classify(seq - prev)
	if s != stepBehind {
		st.highest = seq
	}
	if s != stepGap && (st.waiting.Load() == 0 || s == stepNext && g.opts.Timer) {
		return // nothing new missing, nothing found, nothing to ask: the common case
	}
	g.mu.Lock()
	now := g.now()
	g.noteLocked(st, s, prev, seq, now)
	if g.opts.Timer || len(st.missing) == 0 {
		g.mu.Unlock()
		return
	}
	st.due, _ = g.collectLocked(st, now, st.due[:0])
	w := g.writer
	g.mu.Unlock()
	if len(st.due) > 0 && w != nil {
		_, _ = w.Write([]rtcp.Packet{g.nack(st.ssrc, st.due)}, interceptor.Attributes{})
	}
}

// noteLocked updates st's missing packets for seq, which came after prev
// as s says.
func (g *Generator) noteLocked(st *stream, s step, prev, seq uint16, now time.Time) {
	switch s {
	case stepGap:
		st.addMissing(prev, seq, now, g.opts.MaxMissing)
		if g.opts.Timer {
			g.armLocked(now, now.Add(g.opts.FirstDelay))
		}
	case stepBehind:
		st.removeMissing(seq)
	case stepRenumber:
		st.missing = st.missing[:0]
	}
	st.waiting.Store(int32(len(st.missing)))
}

// addMissing notes the packets between prev and seq as missing, dropping
// the oldest beyond limit.
func (st *stream) addMissing(prev, seq uint16, now time.Time, limit int) {
	for q := prev + 1; q != seq; q++ {
		if len(st.missing) == limit {
			copy(st.missing, st.missing[1:])
			st.missing = st.missing[:limit-1]
		}
		st.missing = append(st.missing, missingPacket{seq: q, first: now})
	}
}

func (st *stream) removeMissing(seq uint16) {
	for i := range st.missing {
		if st.missing[i].seq == seq {
			st.missing = append(st.missing[:i], st.missing[i+1:]...)
			return
		}
	}
}

// collectLocked appends to out the packets of st due at now, counts the
// try, drops what is too old or asked for enough, and returns when the
// next of what is kept is due (zero if nothing is).
func (g *Generator) collectLocked(st *stream, now time.Time, out []uint16) ([]uint16, time.Time) {
	o := &g.opts
	var next time.Time
	kept := st.missing[:0]
	for _, m := range st.missing {
		if o.MaxAge > 0 && now.Sub(m.first) > o.MaxAge {
			continue
		}
		if !m.dueAt(o).After(now) {
			m.tries++
			m.last = now
			out = append(out, m.seq)
			if int(m.tries) >= o.MaxTries {
				continue
			}
		}
		next = earliest(next, m.dueAt(o))
		kept = append(kept, m)
	}
	st.missing = kept
	st.waiting.Store(int32(len(kept)))
	return out, next
}

func (g *Generator) nack(ssrc uint32, seqs []uint16) *rtcp.TransportLayerNack {
	return &rtcp.TransportLayerNack{
		SenderSSRC: g.senderSSRC, MediaSSRC: ssrc, Nacks: rtcp.NackPairsFromSequenceNumbers(seqs),
	}
}

// armLocked makes the timer fire at the latest at "at".
func (g *Generator) armLocked(now, at time.Time) {
	if g.closed || !g.armedAt.IsZero() && !at.Before(g.armedAt) {
		return
	}
	g.armedAt = at
	d := at.Sub(now)
	if g.timer == nil {
		g.timer = time.AfterFunc(d, g.fire)
	} else {
		g.timer.Reset(d)
	}
}

// fire sends one NACK per stream with packets due and arms the timer for
// the next of what is still missing.
func (g *Generator) fire() {
	g.mu.Lock()
	g.armedAt = time.Time{}
	if g.closed || g.writer == nil {
		g.mu.Unlock()
		return
	}
	now := g.now()
	var pkts []rtcp.Packet
	var next time.Time
	for _, st := range g.streams {
		if len(st.missing) == 0 {
			continue
		}
		var at time.Time
		g.due, at = g.collectLocked(st, now, g.due[:0])
		if len(g.due) > 0 {
			pkts = append(pkts, g.nack(st.ssrc, g.due))
		}
		next = earliest(next, at)
	}
	if !next.IsZero() {
		g.armLocked(now, next)
	}
	w := g.writer
	g.mu.Unlock()
	if len(pkts) > 0 {
		_, _ = w.Write(pkts, interceptor.Attributes{})
	}
}

// earliest is the earlier of a and b, a zero time being none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}
