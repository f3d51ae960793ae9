package video

import (
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// ClockRate is the RTP clock rate of VP8 (90 kHz).
const ClockRate = 90000

// Sending: the engine may either hand whole frames from Encoder.Encode
// to a webrtc.TrackLocalStaticSample (media.Sample{Data: frame,
// Duration: time.Second / fps}), which packetizes VP8 with pion's
// VP8Payloader (picture IDs on) itself, or packetize here with
// NewPacketizer and write the packets to a TrackLocalStaticRTP.

// NewPacketizer returns pion's RTP packetizer for VP8 (VP8Payloader
// with 15-bit picture IDs, random initial sequence number and
// timestamp, 90 kHz clock). Call Packetize(frame, ClockRate/fps) once per
// encoded frame; mtu is the RTP packet size limit (1200 is safe).
func NewPacketizer(mtu uint16, payloadType uint8, ssrc uint32) rtp.Packetizer {
	return rtp.NewPacketizer(mtu, payloadType, ssrc, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), ClockRate)
}

// AssembledFrame is one whole VP8 frame rebuilt from RTP packets.
type AssembledFrame struct {
	Data      []byte // the VP8 frame, for Decoder.Decode
	Timestamp uint32 // RTP timestamp
	Keyframe  bool
	// FirstSeq and LastSeq are the frame's first and last RTP sequence
	// numbers.
	FirstSeq, LastSeq uint16
}

// AssemblerStats counts what a FrameAssembler did.
type AssemblerStats struct {
	Packets        uint64 // packets pushed
	Frames         uint64 // frames emitted
	Late           uint64 // packets older than what was already emitted (or duplicates)
	Lost           uint64 // sequence numbers given up on
	Dropped        uint64 // frames dropped while waiting for a keyframe, or incomplete
	KeyframeAsks   uint64 // times Push reported needKeyframe
	BufferOverflow uint64 // times the buffer was full and flushed
}

// FrameAssembler turns a stream of VP8 RTP packets (one SSRC) into whole
// frames in order. It reorders within a window; when a sequence number
// stays missing, it drops the broken frame and every following frame up
// to the next keyframe, and reports that a keyframe is needed (send a
// PLI). It also waits for a keyframe at the start, so a receiver joining
// mid-stream asks for one at once. Not safe for concurrent use.
type FrameAssembler struct {
	// MaxReorder is how many packets may arrive after a missing one
	// before it is declared lost (default 64, about 1 s of 600 kbps
	// video; NACK retransmissions usually fill the gap well before).
	MaxReorder int
	// MaxFramesBehind is how many complete frames may wait behind a
	// missing packet before it is declared lost (default 3: 200 ms at
	// 15 fps, long enough for a NACK round trip on a good path).
	MaxFramesBehind int
	// KeyframeRetry repeats the keyframe request after this many
	// dropped frames while still waiting (default 15, about 1 s).
	KeyframeRetry int

	buf      map[int64]*rtp.Packet // by extended sequence number
	started  bool
	next     int64 // extended sequence number of the next packet to consume
	highest  int64 // highest extended sequence number seen
	primed   bool  // something was consumed: next is final
	waitKey  bool
	asked    bool // a keyframe was requested since waitKey was set
	dropsAsk int
	stats    AssemblerStats
}

// NewFrameAssembler returns an assembler with the default windows.
func NewFrameAssembler() *FrameAssembler {
	return &FrameAssembler{buf: make(map[int64]*rtp.Packet), waitKey: true}
}

// Stats returns the counters.
func (a *FrameAssembler) Stats() AssemblerStats { return a.stats }

// WaitingForKeyframe reports whether frames are being dropped until a
// keyframe arrives.
func (a *FrameAssembler) WaitingForKeyframe() bool { return a.waitKey }

// RequestKeyframe makes the assembler drop frames until the next
// keyframe (e.g. after the decoder reported ErrNeedKeyframe). The caller
// sends the PLI itself; Push repeats the request every KeyframeRetry
// dropped frames.
func (a *FrameAssembler) RequestKeyframe() {
	a.waitKey = true
	a.asked = true
	a.dropsAsk = 0
}

func (a *FrameAssembler) defaults() {
	if a.buf == nil {
		a.buf = make(map[int64]*rtp.Packet)
		a.waitKey = true
	}
	if a.MaxReorder <= 0 {
		a.MaxReorder = 64
	}
	if a.MaxFramesBehind <= 0 {
		a.MaxFramesBehind = 3
	}
	if a.KeyframeRetry <= 0 {
		a.KeyframeRetry = 15
	}
}

// unwrap extends a 16-bit sequence number around the highest seen.
func (a *FrameAssembler) unwrap(seq uint16) int64 {
	return a.highest + int64(int16(seq-uint16(a.highest)))
}

// Push adds one RTP packet (the packet is kept; do not reuse it) and
// returns the frames it completed, in order, and whether the sender
// should be asked for a keyframe (PLI). Rate-limit PLIs in the caller
// too (e.g. at most one per 300 ms).
func (a *FrameAssembler) Push(p *rtp.Packet) (frames []AssembledFrame, needKeyframe bool) {
	a.defaults()
	a.stats.Packets++
	if len(p.Payload) == 0 {
		// padding-only packet: it still occupies a sequence number.
		p = &rtp.Packet{Header: p.Header}
	}
	if !a.store(p) {
		return nil, false
	}
	if len(a.buf) > 4*a.MaxReorder+256 {
		// Hopeless (e.g. the sender restarted its sequence numbers):
		// start over.
		a.flush()
		return nil, true
	}
	ask := false
	for more := true; more; {
		var lost bool
		more, lost = a.advance(&frames)
		ask = lost || ask
	}
	if ask {
		a.stats.KeyframeAsks++
	}
	return frames, ask
}

// store keeps p in the buffer by its extended sequence number; it counts
// and refuses a packet older than what was consumed, or a duplicate.
func (a *FrameAssembler) store(p *rtp.Packet) bool {
	ext := a.extend(p.SequenceNumber)
	if ext < a.next || a.buf[ext] != nil {
		if a.primed || ext >= a.next || a.next-ext >= int64(a.MaxReorder) {
			a.stats.Late++
			return false
		}
		// Reordering before the first frame: move the start back.
		a.next = ext
	}
	if ext > a.highest {
		a.highest = ext
	}
	a.buf[ext] = p
	return true
}

// extend is seq's extended sequence number; the first one starts the
// numbering.
func (a *FrameAssembler) extend(seq uint16) int64 {
	if a.started {
		return a.unwrap(seq)
	}
	a.started = true
	a.highest = int64(seq) + 1<<16 // room to unwrap backwards
	a.next = a.highest
	return a.highest
}

// flush forgets every buffered packet and waits for a keyframe, asking
// for it.
func (a *FrameAssembler) flush() {
	a.stats.BufferOverflow++
	a.stats.Lost += uint64(len(a.buf))
	clear(a.buf)
	a.started = false
	a.waitKey = true
	a.asked = true
	a.dropsAsk = 0
	a.stats.KeyframeAsks++
}

// advance consumes what the packets at next allow: a frame (appended to
// frames), padding, a broken frame, or what a lost packet spoils. more
// says whether to look again; ask whether a keyframe request is due.
func (a *FrameAssembler) advance(frames *[]AssembledFrame) (more, ask bool) {
	f, status, end := a.tryFrame(a.next)
	switch status {
	case frameComplete:
		a.consume(a.next, end)
		return true, a.emit(f, frames)
	case framePadding:
		a.consume(a.next, end)
		return true, false
	case frameBroken:
		// Packets of one frame without its end (the timestamp
		// changed before a marker bit): drop them.
		a.consume(a.next, end)
		a.stats.Dropped++
		return true, a.markLoss()
	case frameNoStart:
		return a.skipHeadless()
	}
	return a.skipGap()
}

// emit appends a complete frame to frames, or drops it while waiting for
// a keyframe; it reports whether a keyframe request is due.
func (a *FrameAssembler) emit(f AssembledFrame, frames *[]AssembledFrame) bool {
	if a.waitKey && !f.Keyframe {
		a.stats.Dropped++
		a.dropsAsk++
		if !a.asked || a.dropsAsk >= a.KeyframeRetry {
			a.asked = true
			a.dropsAsk = 0
			return true
		}
		return false
	}
	a.waitKey = false
	a.asked = false
	a.dropsAsk = 0
	a.stats.Frames++
	*frames = append(*frames, f)
	return false
}

// skipHeadless handles a packet at next that continues a frame whose head
// we do not have. At the very start the head may still come (reordered):
// wait a little. Otherwise it was lost: skip to the next frame start.
func (a *FrameAssembler) skipHeadless() (more, ask bool) {
	if !a.primed && !a.shouldGiveUp(a.next, 1) {
		return false, false
	}
	s := a.nextFrameStart(a.next + 1)
	a.stats.Lost += uint64(a.countMissing(a.next, s))
	a.consume(a.next, s-1)
	a.stats.Dropped++
	if a.primed {
		ask = a.markLoss()
	}
	a.primed = true
	return true, ask
}

// skipGap handles a frame that is incomplete: a packet is missing at or
// after next. It gives up on it when enough has arrived behind it and
// skips to the first frame start after the gap.
func (a *FrameAssembler) skipGap() (more, ask bool) {
	gap := a.firstMissing(a.next)
	if gap > a.highest || !a.shouldGiveUp(gap, a.MaxFramesBehind) {
		return false, false
	}
	s := a.nextFrameStart(gap)
	a.stats.Lost += uint64(a.countMissing(a.next, s))
	a.consume(a.next, s-1)
	a.next = s
	a.stats.Dropped++
	return true, a.markLoss()
}

// markLoss enters the waiting-for-keyframe state; it reports whether
// this is news (a keyframe request is due).
func (a *FrameAssembler) markLoss() bool {
	if a.waitKey && a.asked {
		return false
	}
	a.waitKey = true
	a.asked = true
	a.dropsAsk = 0
	return true
}

const (
	frameIncomplete = iota
	frameComplete
	frameBroken
	framePadding
	frameNoStart
)

// tryFrame looks at the packets from seq on: a complete frame (start of
// partition 0 through the marker bit, same timestamp, no gaps), an
// incomplete one, a broken one (the timestamp changes before a marker),
// padding, or a packet that does not start a frame. end is the last
// sequence number of a complete or broken frame or of padding.
func (a *FrameAssembler) tryFrame(seq int64) (f AssembledFrame, status int, end int64) {
	p := a.buf[seq]
	if p == nil {
		return f, frameIncomplete, 0
	}
	var vp codecs.VP8Packet
	if len(p.Payload) == 0 {
		return f, framePadding, seq
	}
	if _, err := vp.Unmarshal(p.Payload); err != nil || vp.S != 1 || vp.PID != 0 {
		return f, frameNoStart, 0
	}
	ts := p.Timestamp
	size := 0
	for s := seq; ; s++ {
		q := a.buf[s]
		if q == nil {
			return f, frameIncomplete, 0
		}
		if q.Timestamp != ts || len(q.Payload) == 0 {
			return f, frameBroken, s - 1
		}
		size += len(q.Payload)
		if q.Marker {
			end = s
			break
		}
	}
	data := make([]byte, 0, size)
	for s := seq; s <= end; s++ {
		var v codecs.VP8Packet
		if _, err := v.Unmarshal(a.buf[s].Payload); err != nil {
			return f, frameBroken, end
		}
		data = append(data, v.Payload...)
	}
	return AssembledFrame{
		Data:      data,
		Timestamp: ts,
		Keyframe:  len(data) > 0 && data[0]&1 == 0,
		FirstSeq:  uint16(seq),
		LastSeq:   uint16(end),
	}, frameComplete, end
}

// consume forgets packets from..to and moves next past to.
func (a *FrameAssembler) consume(from, to int64) {
	a.primed = true
	for s := from; s <= to; s++ {
		delete(a.buf, s)
	}
	if to+1 > a.next {
		a.next = to + 1
	}
}

func (a *FrameAssembler) firstMissing(seq int64) int64 {
	for a.buf[seq] != nil {
		seq++
	}
	return seq
}

func (a *FrameAssembler) countMissing(from, to int64) int {
	n := 0
	for s := from; s < to; s++ {
		if a.buf[s] == nil {
			n++
		}
	}
	return n
}

// shouldGiveUp reports whether the packet at gap is to be declared lost:
// MaxReorder packets or frames complete frames arrived after it.
func (a *FrameAssembler) shouldGiveUp(gap int64, frames int) bool {
	if a.highest-gap >= int64(a.MaxReorder) {
		return true
	}
	// Count complete frames waiting behind the gap.
	n := 0
	for s := gap + 1; s <= a.highest; s++ {
		if p := a.buf[s]; p != nil && p.Marker && a.completeEndingAt(s) {
			n++
			if n >= frames {
				return true
			}
		}
	}
	return false
}

// completeEndingAt reports whether the frame ending with the marker
// packet at end has all its packets back to its start.
func (a *FrameAssembler) completeEndingAt(end int64) bool {
	ts := a.buf[end].Timestamp
	for s := end; ; s-- {
		p := a.buf[s]
		if p == nil || p.Timestamp != ts {
			return false
		}
		if isFrameStart(p) {
			return true
		}
	}
}

// nextFrameStart returns the first sequence number >= seq holding a
// frame start, or highest+1.
func (a *FrameAssembler) nextFrameStart(seq int64) int64 {
	for s := seq; s <= a.highest; s++ {
		if p := a.buf[s]; p != nil && isFrameStart(p) {
			return s
		}
	}
	return a.highest + 1
}

func isFrameStart(p *rtp.Packet) bool {
	if len(p.Payload) == 0 {
		return false
	}
	var vp codecs.VP8Packet
	_, err := vp.Unmarshal(p.Payload)
	return err == nil && vp.S == 1 && vp.PID == 0
}
