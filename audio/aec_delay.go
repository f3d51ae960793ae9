package audio

// bulkDelay estimates how far the echo lags the reference before WebRTC's
// module sees the pair (its delay-agnostic estimator is unstable on
// PulseAudio: "poor delays" 0.6–0.96 of the time). Over the first
// delayWin of far-end speech the microphone and the reference, both
// decimated to 4 kHz and whitened as the correlation gate's (aec_gate.go),
// are cross-correlated at every lag up to gateMaxLag; a peak above
// delayCorr is the bulk delay, handed to the module as its stream delay
// (set_stream_delay_ms) with delay-agnostic mode off. It is estimated
// again after every Reset and every reference jump (restart). Used only
// with webrtcAligned, off by default: measured on PulseAudio it found
// the echo's lag (24–25 ms, correlation 0.96–1.0, where the whole run's
// cross-correlation said 25) but did not make the module converge sooner
// (docs/audio.md, "Echo cancellation").
type bulkDelay struct {
	ref, mic  []float32 // the last gateMaxLag+delayWin, the last delayWin
	prevRef   float32
	prevMic   float32
	active    int // far-active blocks since the last restart
	ms        int // the estimate, ms (-1: none yet)
	corr      float64
	done      bool // estimated (or given up) since the last restart
	estimates int  // tests: estimates made
}

const (
	delayWin    = 200 * 4 // 200 ms at 4 kHz
	delayBlocks = 20      // far-active 10 ms blocks before estimating
	delayCorr   = 0.3     // a weaker peak is no estimate
)

func newBulkDelay() bulkDelay {
	return bulkDelay{ref: make([]float32, gateMaxLag+delayWin), mic: make([]float32, delayWin), ms: -1}
}

// restart estimates again from the next far-end speech, keeping the last
// estimate until then.
func (b *bulkDelay) restart() { b.active, b.done = 0, false }

// observe takes a block of the reference and of the microphone (before
// the module) and returns the delay to tell the module, ms.
func (b *bulkDelay) observe(far, mic []int16) int {
	if b.ref == nil {
		*b = newBulkDelay()
	}
	push(b.ref, &b.prevRef, far)
	push(b.mic, &b.prevMic, mic)
	if !b.done && meanSquare(far) > farActive {
		b.active++
		if b.active >= delayBlocks && b.active*PeriodSamples/gateDecim >= delayWin {
			b.done = true
			c, lag := bestCorr(b.mic, b.ref)
			if c >= delayCorr {
				b.ms, b.corr = lag/4, c
				b.estimates++
			}
		}
	}
	return max(b.ms, 0)
}
