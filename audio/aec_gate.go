package audio

import "math"

// echoGate is a residual echo suppressor that tells echo from the near
// end by its likeness to the far end, not by its level: after the
// adaptive filter (WebRTC's or speexdsp's), the last gateWin of output is
// correlated with the reference at every lag up to gateMaxLag (both
// decimated to 4 kHz and whitened). Whatever of the echo the filter left
// (it has not adapted yet, or the echo path moved: the sound server
// under- or overran and the echo's lag changed) is a delayed copy of the
// far end and correlates with it; a near end's voice does not. While the
// far end talks and the best normalized correlation is above gateCorr,
// the block is attenuated by gateGain; otherwise it passes untouched. So
// the echo left is that of a converged filter or far below it from the
// first block on, whatever the alignment, and double talk stays full
// duplex: over a near end that is louder than the residual the
// correlation falls (it is the residual's share of the output).
//
// Cost: about 150,000 multiply-adds per 10 ms block (0.3 ms per second of
// call on this machine's cores; see BenchmarkEchoCanceller).
type echoGate struct {
	ref      []float32 // decimated, whitened reference: the last gateMaxLag+gateWin
	out      []float32 // decimated, whitened output: the last gateWin
	prevRef  float32   // whitening filters' state
	prevOut  float32
	hist     [startupHist]float64 // far-end block powers (the last 200 ms)
	n        int
	gain     float64
	farLevel float64 // SetFarLevel
	off      bool
	corr     float64 // the last block's best correlation (tests)
	lag      int     // its lag, in decimated samples
	gated    int     // blocks attenuated (tests)
}

const (
	gateDecim  = 12                   // 48 kHz -> 4 kHz
	gateWin    = 80 * 4               // 80 ms at 4 kHz
	gateMaxLag = 120 * 4              // 120 ms at 4 kHz
	gateCorr   = 0.45                 // above: echo
	gateGain   = 0.01                 // -40 dB
	gateWhiten = 0.9                  // y[n] = x[n] - 0.9 x[n-1]
	gateFloor  = 32768 * 32768 * 1e-7 // -70 dBFS: below, the output is silence anyway
)

func newEchoGate() echoGate {
	return echoGate{ref: make([]float32, gateMaxLag+gateWin), out: make([]float32, gateWin), gain: 1}
}

func (g *echoGate) reset() {
	off, fl := g.off, g.farLevel
	*g = newEchoGate()
	g.off, g.farLevel = off, fl
}

// push decimates pcm (by averaging gateDecim samples), whitens it and
// appends it to buf, dropping as many of its oldest samples.
func push(buf []float32, prev *float32, pcm []int16) {
	m := len(pcm) / gateDecim
	copy(buf, buf[m:])
	dst := buf[len(buf)-m:]
	for i := range dst {
		var s int32
		for _, v := range pcm[i*gateDecim : (i+1)*gateDecim] {
			s += int32(v)
		}
		x := float32(s) / gateDecim
		dst[i] = x - gateWhiten**prev
		*prev = x
	}
}

func (g *echoGate) process(far, out []int16) {
	if g.ref == nil {
		g.reset()
	}
	g.hist[g.n%startupHist] = meanSquare(far)
	g.n++
	push(g.ref, &g.prevRef, far)
	push(g.out, &g.prevOut, out)
	if g.off {
		return
	}
	ref := g.farLevel
	for _, p := range g.hist {
		ref = max(ref, p)
	}
	gain := 1.0
	g.corr, g.lag = 0, 0
	if ref > farActive && meanSquare(out) > gateFloor {
		g.corr, g.lag = bestCorr(g.out, g.ref)
		if g.corr > gateCorr {
			gain = gateGain
			g.gated++
		}
	}
	// down at once (no echo leaks at a block's start), up over the block
	// (no click)
	g0 := min(g.gain, gain)
	for i := range out {
		k := g0 + (gain-g0)*float64(i+1)/float64(len(out))
		out[i] = int16(math.Round(float64(out[i]) * k))
	}
	g.gain = gain
}

// bestCorr is the largest |normalized correlation| of o (the newest
// samples) with the same span of r (its newest samples last) delayed by
// 0..len(r)-len(o) samples, and that delay.
func bestCorr(o, r []float32) (float64, int) {
	var eo float64
	for _, v := range o {
		eo += float64(v) * float64(v)
	}
	if eo == 0 {
		return 0, 0
	}
	n := len(o)
	maxLag := len(r) - n
	// the energy of r[end-n-lag : end-lag], slid from lag 0 up
	end := len(r)
	var er float64
	for _, v := range r[end-n:] {
		er += float64(v) * float64(v)
	}
	best, bestLag := 0.0, 0
	for lag := 0; lag <= maxLag; lag++ {
		if lag > 0 { // the window moves one sample older
			a, b := float64(r[end-lag]), float64(r[end-n-lag])
			er += b*b - a*a
		}
		if er <= 0 {
			continue
		}
		seg := r[end-n-lag : end-lag]
		var d float32
		for i, v := range o {
			d += v * seg[i]
		}
		c := math.Abs(float64(d)) / math.Sqrt(eo*er)
		if c > best {
			best, bestLag = c, lag
		}
	}
	return best, bestLag
}
