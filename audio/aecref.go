package audio

import (
	"slices"
	"sync"
	"time"
)

// echoReference is the echo canceller's far-end signal, taken where it
// leaves the program: the playback device callback hands it every sample
// it gives the device (Played), and the capture side maps each captured
// frame to the samples the device had been given when it arrived
// (align, then readAt). So the reference of a microphone frame is never
// later than its echo (the echo reaches the microphone through the
// device's output buffer, the room and the input buffer: always after the
// sample was handed over), whatever the queues in between hold; the
// adaptive filter only has to model the device and room latency (tens of
// ms: 7–20 ms measured on a PulseAudio null sink).
//
// The Fill-time reference used before fed the canceller whatever frame
// was oldest in a queue: after the playback had run for a while before
// the capture started, the reference lagged the echo by up to 200 ms
// (measured on PulseAudio: the echo came 106–127 ms before its
// reference, which no causal filter can cancel).
type echoReference struct {
	mu      sync.Mutex
	buf     []int16 // ring of the last second played
	w       int64   // samples played in total
	fed     bool
	aligned bool
	offset  int64 // reference position - capture position
	resyncs int
	below   int                 // measures in a row more than slipSamples below the offset
	slips   int                 // times that reached suspectFrames (suspected slips)
	hist    [resyncFrames]int64 // the last measures of the offset
	nh      int                 // measures in hist since the last jump
	sorted  []int64             // scratch for the percentile
	jumps   []int64             // tests: the capture position and size of each jump (in pairs)
}

// resyncSamples is how far the playback may run ahead of the kept
// offset before the reference jumps to it: 30 ms. slipSamples is how far
// it may fall behind: 5 ms (the reference would be samples not played
// yet: the sound server played silence meanwhile, an underrun, and the
// echo of what follows comes that much later). Both are judged on the
// 10th percentile of the last resyncFrames measures (0.5 s: the offset
// follows the lowest measures, so that the reference has been played by
// the time it is read, whatever phase the callbacks' bursts are in), not
// on single ones:
// on a busy machine the capture and playback callbacks are late by tens
// of ms now and then, and a reference that followed those (it jumped once
// a measure had been off for 100 ms) moved the echo's lag behind it by
// 5–60 ms back and forth while the true lag stayed put (measured on
// PulseAudio: 12–39 jumps in 6 s at load average 10), and every move
// makes the adaptive filter start over.
const (
	resyncSamples = 30 * SampleRate / 1000
	slipSamples   = 5 * SampleRate / 1000
	resyncFrames  = 25 // 0.5 s of 20 ms frames
	resyncLow     = 2  // the third lowest of them: the 10th percentile
	// suspectFrames measures in a row more than slipSamples below the
	// offset (60 ms) make a suspected slip: the playback has been behind
	// for longer than its 30 ms buffer at the sound server can cover
	// (pulsePlaybackPeriod), so the server has underrun and the echo's
	// lag has changed. The jump follows later (the percentile needs its
	// 0.5 s), but the canceller starts covering at once (pathChanges).
	suspectFrames = 3
	// settleFrames: for its first measures (100 ms) the offset follows
	// the lowest (align).
	settleFrames = resyncFrames
)

// refFollowLow: the offset follows the low measures for its first 0.5 s
// (settle). On since this session (docs/audio.md, "Echo cancellation":
// it took the reference jump at 0.5 s out of nearly every run); a
// variable so that TestEchoAlignCompare can compare it.
var refFollowLow = true

func newEchoReference() *echoReference {
	return &echoReference{buf: make([]int16, SampleRate)}
}

// Played records samples handed to the playback device (from its
// callback: a copy, no allocation).
func (e *echoReference) Played(pcm []int16) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(pcm) > len(e.buf) {
		e.w += int64(len(pcm) - len(e.buf))
		pcm = pcm[len(pcm)-len(e.buf):]
	}
	i := int(e.w % int64(len(e.buf)))
	k := copy(e.buf[i:], pcm)
	copy(e.buf, pcm[k:])
	e.w += int64(len(pcm))
	e.fed = true
}

// align is called as a captured frame of n samples arrives, capEnd
// being the samples captured in total up to its end (dropped ones
// included). It returns where the frame's reference starts in the played
// stream: the samples played by now, so never later than the echo; false
// when no playback device feeds the reference.
//
// The offset between the two streams is taken once and then kept, so
// that the bursts the callbacks come in do not move the reference (every
// move makes the adaptive filter start over). It jumps only when the
// 10th percentile of the last resyncFrames measures is more than
// slipSamples behind it or resyncSamples ahead of it, to that
// percentile: an underrun at the sound
// server (it plays silence that nobody handed it, and the streams slip),
// devices whose clocks drift apart.
func (e *echoReference) align(capEnd int64, n int) (int64, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.fed {
		return 0, false
	}
	d := e.w - capEnd
	if !e.aligned {
		e.offset, e.aligned = d, true
		return capEnd + e.offset - int64(n), true
	}
	e.hist[e.nh%resyncFrames] = d
	e.nh++
	e.settle()
	if e.offset-d > slipSamples {
		if e.below++; e.below == suspectFrames {
			e.slips++
		}
	} else {
		e.below = 0
	}
	if e.nh >= resyncFrames {
		e.sorted = append(e.sorted[:0], e.hist[:]...)
		slices.Sort(e.sorted)
		if m := e.sorted[resyncLow]; e.offset-m > slipSamples || m-e.offset > resyncSamples {
			if len(e.jumps) < 200 {
				e.jumps = append(e.jumps, capEnd, m-e.offset)
			}
			e.offset, e.nh = m, 0
			e.resyncs++
		}
	}
	return capEnd + e.offset - int64(n), true
}

// settle lets the offset follow the low measures for the first
// settleFrames (0.5 s, with refFollowLow): while fewer than resyncFrames
// measures have been taken since the first, the offset moves down to the
// third lowest of them whenever that is below it. The first measure is
// as likely as not taken at the top of the callbacks' sawtooth: with the
// 30 ms playback period on PulseAudio and 20 ms captured frames the
// measures cycle 710, 720, 730 ms (a quiet machine), and one taken at 730
// made the reference jump -20 ms at 0.5 s in every run, sending the
// filter back to adapting and the start-up suppression back on while the
// echo path held still (TestPulsePlayedTap: no slip in 4.8 s). The third
// lowest, not the lowest: a single late callback at the start moves
// nothing.
func (e *echoReference) settle() {
	if !refFollowLow || e.resyncs != 0 || e.nh >= settleFrames || e.nh <= resyncLow {
		return
	}
	e.sorted = append(e.sorted[:0], e.hist[:e.nh]...)
	slices.Sort(e.sorted)
	if m := e.sorted[resyncLow]; m < e.offset {
		e.offset = m
	}
}

// readAt fills dst with the played samples from position p on (zeros for
// what is not, or no longer, in the ring) and returns how many of them
// had not been played yet: the playback has fallen behind the kept
// offset (the sound server underran), so the echo in the microphone now
// is of samples older than the reference says.
func (e *echoReference) readAt(p int64, dst []int16) (unplayed int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	oldest := e.w - int64(len(e.buf))
	for i := range dst {
		q := p + int64(i)
		if q >= e.w {
			unplayed++
		}
		if q < 0 || q < oldest || q >= e.w {
			dst[i] = 0
			continue
		}
		dst[i] = e.buf[q%int64(len(e.buf))]
	}
	return unplayed
}

// playedSince copies into dst the samples played from position from on
// (as many as fit) and returns how many it copied and the position after
// them. A from that has left the ring (or lies ahead of what was played)
// restarts at the newest len(dst) samples.
func (e *echoReference) playedSince(from int64, dst []int16) (int, int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if from < e.w-int64(len(e.buf)) || from > e.w {
		from = max(0, e.w-int64(len(dst)))
	}
	n := int(min(int64(len(dst)), e.w-from))
	for i := range n {
		dst[i] = e.buf[(from+int64(i))%int64(len(e.buf))]
	}
	return n, from + int64(n)
}

// resyncCount is how many times the reference jumped.
func (e *echoReference) resyncCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.resyncs
}

// pathChanges is how many times the echo path is known or suspected to
// have moved against the reference: the reference jumped, or the
// playback fell behind the kept offset for suspectFrames measures.
func (e *echoReference) pathChanges() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.resyncs + e.slips
}

// farLevel remembers how loud the downlink mix was over the last
// farLevelWindow, by wall-clock time: the start-up suppressor's measure
// of "the far end is talking", which must not depend on the reference
// being aligned (Fill runs ahead of the device, so the window covers the
// echo that can be in the microphone now).
type farLevel struct {
	mu  sync.Mutex
	pow [40]float64 // 20 ms frames: 800 ms
	at  [40]time.Time
	n   int
}

// farLevelWindow is 600 ms: on a machine so busy that the sound server
// underruns, what the mix held reaches the microphone up to a few hundred
// ms after Fill (measured: the playback fell 100–260 ms behind the
// capture within 0.5 s at load average 20); 300 ms let the start of the
// echo through there.
const farLevelWindow = 600 * time.Millisecond

func (f *farLevel) add(pcm []int16, now time.Time) {
	p := meanSquare(pcm)
	f.mu.Lock()
	f.pow[f.n%len(f.pow)], f.at[f.n%len(f.at)] = p, now
	f.n++
	f.mu.Unlock()
}

// max is the loudest frame's power (mean square) within the window.
func (f *farLevel) max(now time.Time) float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	var m float64
	for i, p := range f.pow {
		if !f.at[i].IsZero() && now.Sub(f.at[i]) <= farLevelWindow {
			m = max(m, p)
		}
	}
	return m
}

// PlayedSamples is how many samples playback devices have handed the
// echo reference through Played (0: the canceller falls back to the mix
// as Fill made it).
func (d *Downlink) PlayedSamples() int64 {
	d.played.mu.Lock()
	defer d.played.mu.Unlock()
	return d.played.w
}
