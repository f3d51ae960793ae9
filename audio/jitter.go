package audio

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// FrameKind tells how JitterBuffer.Pull produced a frame.
type FrameKind uint8

const (
	// FrameSilence: nothing to play (buffering before playout starts, or
	// idle after a long gap); pcm is zeroed.
	FrameSilence FrameKind = iota
	// FrameNormal: the expected packet was there and was decoded.
	FrameNormal
	// FrameFEC: the expected packet was missing and was rebuilt from the
	// in-band FEC data of the next packet.
	FrameFEC
	// FrameConcealed: the expected packet and the next were missing (or
	// nothing had arrived in time): packet loss concealment.
	FrameConcealed
)

func (k FrameKind) String() string {
	switch k {
	case FrameSilence:
		return "silence"
	case FrameNormal:
		return "normal"
	case FrameFEC:
		return "fec"
	case FrameConcealed:
		return "concealed"
	}
	return "unknown"
}

// FrameDecoder is what the jitter buffer needs from a decoder; *Decoder
// implements it. If it also has a Reset() error method, that is called
// when a new stream starts (SSRC change or timestamp jump).
type FrameDecoder interface {
	Decode(pkt []byte, pcm []int16) (int, error)
	DecodeFEC(nextPkt []byte, pcm []int16) error
	DecodePLC(pcm []int16) error
}

// JitterStats are a jitter buffer's counters and delay figures.
type JitterStats struct {
	Received   uint64 // packets pushed (including late and duplicate ones)
	Normal     uint64 // frames played from their own packet
	FEC        uint64 // frames recovered from the next packet's FEC data
	Concealed  uint64 // frames made up by PLC (loss or underrun)
	Late       uint64 // packets that arrived after their frame was played
	Dropped    uint64 // packets discarded: duplicates, out of window, delay reduction
	Duplicates uint64 // of Dropped: duplicates
	Shrunk     uint64 // of Dropped: frames skipped to reduce the delay
	Resets     uint64 // stream restarts (SSRC change, timestamp/sequence jump)

	Jitter      time.Duration // spread of the packets' transit delay (95th percentile - minimum)
	TargetDelay time.Duration // delay the buffer aims at
	Delay       time.Duration // currently buffered audio
}

// JitterConfig tunes a JitterBuffer; zero fields take the defaults.
type JitterConfig struct {
	StartDelay time.Duration    // initial target (default 40 ms)
	MinDelay   time.Duration    // lower bound of the target (default 20 ms)
	MaxDelay   time.Duration    // upper bound of the target (default 200 ms)
	Now        func() time.Time // arrival clock for Push (default time.Now)
}

const (
	jbSlots       = 128        // ring of frames (2.56 s)
	jbJumpFrames  = 100        // a sequence jump beyond this (either way) restarts the stream
	jbTSJump      = SampleRate // a timestamp off by more than 1 s from the sequence restarts it
	jbHistory     = 128        // transit delays kept for the jitter estimate (about 2.5 s)
	jbWindowPulls = 25         // delay-reduction decision window (0.5 s)
	jbMaxConceal  = 10         // frames of PLC on underrun before going idle (200 ms)
	jbHeadroomMs  = 10         // added to 20 ms + jitter to get the target
)

type jbSlot struct {
	valid   bool
	seq     uint16
	ts      uint32
	payload []byte
}

// JitterBuffer is an adaptive jitter buffer for one remote user's Opus
// RTP stream (20 ms packets: sequence numbers and timestamps are
// expected to advance by 1 and 960 per packet). The network side calls Push for each
// packet; the playout side calls Pull once per 20 ms. It reorders
// packets, drops duplicates and late ones, recovers single losses with
// Opus in-band FEC from the next packet and conceals the rest with PLC.
//
// Delay adaptation: each packet's transit delay (arrival time minus RTP
// timestamp) is kept for the last 128 packets; the jitter is the spread
// between their 95th percentile and their minimum, and the target delay
// is 20 ms + jitter + 10 ms, clamped to [MinDelay, MaxDelay]. It grows
// at once (an underrun plays PLC without advancing, which adds a frame
// of delay) and shrinks slowly: when the buffer level stayed above the
// target for a whole 0.5 s window, one frame is skipped.
//
// Methods are safe for concurrent use.
type JitterBuffer struct {
	mu  sync.Mutex
	dec FrameDecoder
	cfg JitterConfig

	started  bool // a stream is known: ssrc, nextSeq, nextTS valid
	playing  bool // playout running (else buffering)
	ssrc     uint32
	nextSeq  uint16
	nextTS   uint32
	highest  uint16
	buffered int // valid slots
	slots    [jbSlots]jbSlot
	underrun int // consecutive underrun frames

	// transit delay history (ms)
	refTime  time.Time
	refTS    uint32
	hist     [jbHistory]float64
	histN    int
	histI    int
	scratch  [jbHistory]float64
	sinceEst int
	minD     float64
	jitterMs float64
	targetMs float64

	// delay reduction
	winPulls   int
	winMin     int
	shrinkNext bool

	stats   JitterStats
	discard [FrameSamples * 6]int16
}

// NewJitterBuffer returns a jitter buffer decoding with dec.
func NewJitterBuffer(dec FrameDecoder, cfg JitterConfig) *JitterBuffer {
	if cfg.StartDelay <= 0 {
		cfg.StartDelay = 40 * time.Millisecond
	}
	if cfg.MinDelay <= 0 {
		cfg.MinDelay = 20 * time.Millisecond
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 200 * time.Millisecond
	}
	if cfg.MaxDelay < cfg.MinDelay {
		cfg.MaxDelay = cfg.MinDelay
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	jb := &JitterBuffer{dec: dec, cfg: cfg}
	jb.resetLocked()
	return jb
}

func (jb *JitterBuffer) resetLocked() {
	for i := range jb.slots {
		jb.slots[i].valid = false
	}
	jb.started, jb.playing = false, false
	jb.buffered, jb.underrun = 0, 0
	jb.histN, jb.histI, jb.sinceEst = 0, 0, 0
	jb.jitterMs = 0
	jb.targetMs = clampF(ms(jb.cfg.StartDelay), ms(jb.cfg.MinDelay), ms(jb.cfg.MaxDelay))
	jb.winPulls, jb.winMin, jb.shrinkNext = 0, math.MaxInt, false
}

// Reset forgets the current stream (buffered packets and delay history);
// counters are kept.
func (jb *JitterBuffer) Reset() {
	jb.mu.Lock()
	defer jb.mu.Unlock()
	jb.resetLocked()
}

// Stats returns a snapshot of the counters.
func (jb *JitterBuffer) Stats() JitterStats {
	jb.mu.Lock()
	defer jb.mu.Unlock()
	s := jb.stats
	s.Jitter = fromMs(jb.jitterMs)
	s.TargetDelay = fromMs(jb.targetMs)
	s.Delay = time.Duration(jb.levelLocked()) * FrameDuration * time.Millisecond
	return s
}

// Push adds a received packet, stamped with the configured clock.
func (jb *JitterBuffer) Push(pkt *rtp.Packet) {
	jb.PushAt(pkt, jb.cfg.Now())
}

// PushAt adds a packet that arrived at the given time. The payload is
// copied; pkt can be reused after the call.
func (jb *JitterBuffer) PushAt(pkt *rtp.Packet, arrival time.Time) {
	jb.mu.Lock()
	defer jb.mu.Unlock()
	jb.stats.Received++
	h := &pkt.Header
	if len(pkt.Payload) == 0 {
		jb.stats.Dropped++
		return
	}
	if jb.started && !jb.acceptLocked(h, arrival) {
		return
	}
	jb.startLocked(h, arrival)
	if !jb.storeLocked(h, pkt.Payload) {
		return
	}
	jb.noteTransit(h.Timestamp, arrival)
}

// acceptLocked places a packet of a started stream: a packet of another
// stream (SSRC) or far off the expected sequence number or timestamp
// restarts the buffer; an earlier one moves the start back while still
// buffering, and is otherwise late (false: it is not stored).
func (jb *JitterBuffer) acceptLocked(h *rtp.Header, arrival time.Time) bool {
	diff := int(int16(h.SequenceNumber - jb.nextSeq))
	expTS := jb.nextTS + uint32(diff*FrameSamples)
	tsOff := int64(int32(h.Timestamp - expTS))
	switch {
	case h.SSRC != jb.ssrc, diff >= jbJumpFrames, diff <= -jbJumpFrames,
		tsOff > jbTSJump, tsOff < -jbTSJump:
		jb.stats.Resets++
		jb.resetLocked()
		if r, ok := jb.dec.(interface{ Reset() error }); ok {
			_ = r.Reset()
		}
	case diff < 0:
		if !jb.playing && jb.buffered > 0 && diff > -jbSlots/2 {
			// still buffering: an earlier packet moves the start back
			jb.nextSeq, jb.nextTS = h.SequenceNumber, h.Timestamp
			return true
		}
		jb.stats.Late++
		jb.noteTransit(h.Timestamp, arrival)
		return false
	}
	return true
}

// startLocked starts the stream at its first packet, or resumes it at a
// packet after a gap that left the buffer idle.
func (jb *JitterBuffer) startLocked(h *rtp.Header, arrival time.Time) {
	if !jb.started {
		jb.started = true
		jb.ssrc = h.SSRC
		jb.nextSeq, jb.nextTS = h.SequenceNumber, h.Timestamp
		jb.highest = h.SequenceNumber
		jb.refTime, jb.refTS = arrival, h.Timestamp
	}
	if !jb.playing && jb.buffered == 0 && int16(h.SequenceNumber-jb.nextSeq) > 0 {
		// idle after a gap: the stream resumes here
		jb.nextSeq, jb.nextTS = h.SequenceNumber, h.Timestamp
	}
}

// storeLocked copies the payload into the packet's slot; false when the
// slot is taken (a duplicate).
func (jb *JitterBuffer) storeLocked(h *rtp.Header, payload []byte) bool {
	s := &jb.slots[h.SequenceNumber%jbSlots]
	if s.valid {
		if s.seq == h.SequenceNumber {
			jb.stats.Dropped++
			jb.stats.Duplicates++
		} else {
			jb.stats.Dropped++ // cannot happen within the jump window
		}
		return false
	}
	s.valid, s.seq, s.ts = true, h.SequenceNumber, h.Timestamp
	if s.payload == nil {
		s.payload = make([]byte, 0, MaxPacketSize)
	}
	s.payload = append(s.payload[:0], payload...)
	jb.buffered++
	if jb.buffered == 1 || int16(h.SequenceNumber-jb.highest) > 0 {
		jb.highest = h.SequenceNumber
	}
	return true
}

// noteTransit records a packet's transit delay and updates the target.
func (jb *JitterBuffer) noteTransit(ts uint32, arrival time.Time) {
	d := ms(arrival.Sub(jb.refTime)) - float64(int32(ts-jb.refTS))*1000/SampleRate
	jb.hist[jb.histI] = d
	jb.histI = (jb.histI + 1) % jbHistory
	if jb.histN < jbHistory {
		jb.histN++
	}
	jb.sinceEst++
	if jb.histN < 16 {
		return // keep the start delay until there is some history
	}
	if jb.sinceEst >= 8 || d-jb.minD > jb.jitterMs || d < jb.minD {
		jb.sinceEst = 0
		sc := jb.scratch[:jb.histN]
		copy(sc, jb.hist[:jb.histN])
		slices.Sort(sc)
		jb.minD = sc[0]
		jb.jitterMs = sc[(len(sc)-1)*95/100] - sc[0]
		jb.targetMs = clampF(FrameDuration+jb.jitterMs+jbHeadroomMs, ms(jb.cfg.MinDelay), ms(jb.cfg.MaxDelay))
	}
}

// levelLocked is the number of frames from nextSeq to the newest packet.
func (jb *JitterBuffer) levelLocked() int {
	if !jb.started || jb.buffered == 0 {
		return 0
	}
	d := int(int16(jb.highest - jb.nextSeq))
	if d < 0 {
		return 0
	}
	return d + 1
}

func (jb *JitterBuffer) targetFrames() int {
	return max(1, int(math.Ceil(jb.targetMs/FrameDuration-1e-9)))
}

func (jb *JitterBuffer) slot(seq uint16) *jbSlot {
	s := &jb.slots[seq%jbSlots]
	if s.valid && s.seq == seq {
		return s
	}
	return nil
}

func (jb *JitterBuffer) take(s *jbSlot) {
	s.valid = false
	jb.buffered--
}

func (jb *JitterBuffer) advance() {
	jb.nextSeq++
	jb.nextTS += FrameSamples
}

// Pull produces the next 20 ms frame into pcm (FrameSamples long) and
// tells how it was made.
func (jb *JitterBuffer) Pull(pcm []int16) FrameKind {
	jb.mu.Lock()
	defer jb.mu.Unlock()
	level := jb.levelLocked()
	if !jb.playing {
		if !jb.startPlayingLocked(level) {
			clear(pcm)
			return FrameSilence
		}
		level = jb.levelLocked()
	}
	jb.watchLevelLocked(level)
	cur := jb.shrinkLocked(jb.slot(jb.nextSeq))
	switch {
	case cur != nil:
		return jb.decodeLocked(cur, pcm)
	case level >= 2:
		return jb.lostLocked(pcm)
	default:
		return jb.underrunLocked(pcm)
	}
}

// startPlayingLocked starts playing once the buffer holds the target
// delay, at the oldest packet present.
func (jb *JitterBuffer) startPlayingLocked(level int) bool {
	if !jb.started || jb.buffered == 0 || level < jb.targetFrames() {
		return false
	}
	jb.playing = true
	jb.underrun = 0
	// start at the oldest packet present
	for jb.slot(jb.nextSeq) == nil {
		jb.advance()
	}
	return true
}

// watchLevelLocked is the delay reduction: it watches the minimum level
// over a window, and asks for a frame to be dropped when it stayed above
// the target.
func (jb *JitterBuffer) watchLevelLocked(level int) {
	jb.winMin = min(jb.winMin, level)
	jb.winPulls++
	if jb.winPulls >= jbWindowPulls {
		if jb.winMin > jb.targetFrames() {
			jb.shrinkNext = true
		}
		jb.winPulls, jb.winMin = 0, math.MaxInt
	}
}

// shrinkLocked drops cur when a shrink is due and the next packet is
// here, and returns the slot to play.
func (jb *JitterBuffer) shrinkLocked(cur *jbSlot) *jbSlot {
	if cur == nil || !jb.shrinkNext {
		return cur
	}
	nxt := jb.slot(jb.nextSeq + 1)
	if nxt == nil {
		return cur
	}
	// decode and discard one frame (keeps the decoder state smooth)
	_, _ = jb.dec.Decode(cur.payload, jb.discard[:])
	jb.take(cur)
	jb.advance()
	jb.stats.Dropped++
	jb.stats.Shrunk++
	jb.shrinkNext = false
	return nxt
}

// decodeLocked plays the packet in cur.
func (jb *JitterBuffer) decodeLocked(cur *jbSlot, pcm []int16) FrameKind {
	jb.underrun = 0
	n, err := jb.dec.Decode(cur.payload, pcm)
	jb.take(cur)
	jb.advance()
	if err != nil {
		jb.plc(pcm)
		jb.stats.Concealed++
		return FrameConcealed
	}
	clear(pcm[min(n, len(pcm)):])
	jb.stats.Normal++
	return FrameNormal
}

// lostLocked covers a packet lost (or too late) while something newer is
// here: from the next packet's FEC, or by concealment.
func (jb *JitterBuffer) lostLocked(pcm []int16) FrameKind {
	jb.underrun = 0
	nxt := jb.slot(jb.nextSeq + 1)
	jb.advance()
	if nxt != nil {
		if err := jb.dec.DecodeFEC(nxt.payload, pcm); err == nil {
			jb.stats.FEC++
			return FrameFEC
		}
	}
	jb.plc(pcm)
	jb.stats.Concealed++
	return FrameConcealed
}

// underrunLocked: nothing to play yet; conceal without advancing so the
// delay grows by one frame, and after jbMaxConceal frames go idle until
// the stream comes back.
func (jb *JitterBuffer) underrunLocked(pcm []int16) FrameKind {
	if jb.underrun < jbMaxConceal {
		jb.underrun++
		jb.plc(pcm)
		jb.stats.Concealed++
		return FrameConcealed
	}
	jb.playing = false // idle until the stream comes back
	clear(pcm)
	return FrameSilence
}

func (jb *JitterBuffer) plc(pcm []int16) {
	if err := jb.dec.DecodePLC(pcm); err != nil {
		clear(pcm)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fromMs(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

func clampF(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }
