package audio

import "math"

// residualSuppressor follows WebRTC's canceller (aec_webrtc.go) and takes
// what is left of the echo down by another resGain, full duplex. It
// learns how loud the residual echo is relative to the far end (r: the
// output's power over the loudest far-end block of the last 200 ms, in
// blocks judged echo), and a block no louder than r plus resMargin while
// the far end talks is taken for echo and attenuated; a louder block is
// the near end talking (its level relative to the far end is that of the
// two voices, far above a residual 30–40 dB down) and passes untouched.
// So the near end is cut only while it is more than about 20 dB quieter
// than the far end, where the echo would mask it anyway.
//
// When the echo path changes and the residual grows (the filter
// re-adapts), blocks above the threshold raise r by resRise each, so
// within a second or two the suppressor follows; a near end talking over
// the far end raises it too, which only makes the suppressor gentler
// until the near end stops.
type residualSuppressor struct {
	hist     [startupHist]float64 // far-end block powers
	n        int
	r        float64 // residual echo / far end, power ratio
	gain     float64 // last block's gain
	farLevel float64 // SetFarLevel
	off      bool
	echo     int // blocks attenuated (tests)
}

const (
	resInit   = 1e-3  // -30 dB: WebRTC's canceller in its first 200 ms
	resMin    = 1e-6  // -60 dB
	resMax    = 0.1   // -10 dB
	resMargin = 10    // 10 dB above the residual is still echo
	resGain   = 0.1   // -20 dB
	resLearn  = 0.1   // weight of an echo block's ratio (in dB) in r
	resRise   = 1.026 // +0.11 dB per block above the threshold (about 11 dB/s)
)

func (s *residualSuppressor) reset() {
	*s = residualSuppressor{off: s.off}
}

func (s *residualSuppressor) process(far, out []int16) {
	s.hist[s.n%startupHist] = meanSquare(far)
	s.n++
	if s.n == 1 {
		s.gain, s.r = 1, resInit
	}
	if s.off {
		return
	}
	ref := s.farLevel
	for _, p := range s.hist {
		ref = max(ref, p)
	}
	g := 1.0
	if ref > farActive {
		ratio := meanSquare(out) / ref
		if ratio <= s.r*resMargin {
			g = resGain
			s.echo++
			lr := (1-resLearn)*math.Log(s.r) + resLearn*math.Log(max(ratio, resMin))
			s.r = math.Exp(lr)
		} else {
			s.r *= resRise
		}
		s.r = min(max(s.r, resMin), resMax)
	}
	// down at once (no echo leaks at a block's start), up over the block
	// (no click)
	g0 := min(s.gain, g)
	for i := range out {
		k := g0 + (g-g0)*float64(i+1)/float64(len(out))
		out[i] = int16(math.Round(float64(out[i]) * k))
	}
	s.gain = g
}
