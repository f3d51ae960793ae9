// Package audiotest holds signal helpers for tests of termcall's audio path:
// tone and speech-like generators, a Goertzel filter, an FFT-based dominant
// frequency estimator and a cross-correlation delay finder (for
// mouth-to-ear latency). It is pure Go (no cgo) and does not import package
// audio, so tests of cgo-free packages can use it too.
package audiotest

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
)

// Tone returns n samples of a sine at freq Hz with amplitude amp (0..1 of
// full scale) at the given sample rate.
func Tone(freq, amp float64, n, rate int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = clamp(amp * 32767 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return out
}

// Speech returns n samples of a deterministic speech-like signal at the
// given rate: voiced "syllables" (a wandering pitch of 90-250 Hz with
// decaying harmonics shaped by two formants) at about 4 syllables per
// second, separated by short pauses and with fricative-like noise bursts.
// Different seeds give uncorrelated talkers. Peak level is about -6 dBFS.
func Speech(seed uint64, n, rate int) []int16 {
	t := &talker{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), fr: float64(rate)}
	out := make([]int16, n)
	t.pitch0 = 100 + 80*t.r.Float64()
	for i := 0; i < n; {
		i = t.syllable(out, i)
	}
	return out
}

// talker is Speech's state: the random source, the rate, the talker's
// base pitch, the voice's phase and the noise filter's state.
type talker struct {
	r      *rand.Rand
	fr     float64
	pitch0 float64
	phase  float64
	lp     float64 // one-pole lowpass state for the noise bursts
}

// syllable writes one syllable from out[i] (cut at the end of out) and
// returns where it ends: a voiced part of 120-260 ms, an optional noise
// burst of 40-90 ms, a pause of 30-150 ms.
func (t *talker) syllable(out []int16, i int) int {
	r, fr := t.r, t.fr
	voiced := int((0.12 + 0.14*r.Float64()) * fr)
	noise := 0
	if r.Float64() < 0.4 {
		noise = int((0.04 + 0.05*r.Float64()) * fr)
	}
	pause := int((0.03 + 0.12*r.Float64()) * fr)
	var v voice
	v.f1 = 300 + 500*r.Float64()  // first formant
	v.f2 = 900 + 1500*r.Float64() // second formant
	v.p0 = t.pitch0 * (0.8 + 0.5*r.Float64())
	v.p1 = v.p0 * (0.85 + 0.3*r.Float64())
	v.amp = 0.25 + 0.25*r.Float64()
	i = t.voice(out, i, voiced, v)
	i = t.fricative(out, i, noise)
	for k := 0; k < pause && i < len(out); k, i = k+1, i+1 {
		out[i] = 0
	}
	return i
}

// voice is a syllable's voiced part: its formants, its pitch gliding from
// p0 to p1, its amplitude.
type voice struct{ f1, f2, p0, p1, amp float64 }

// voice writes n voiced samples from out[i] under a sine envelope.
func (t *talker) voice(out []int16, i, n int, v voice) int {
	for k := 0; k < n && i < len(out); k, i = k+1, i+1 {
		x := float64(k) / float64(n)
		env := math.Sin(math.Pi * x) // syllable envelope
		f0 := v.p0 + (v.p1-v.p0)*x
		t.phase += 2 * math.Pi * f0 / t.fr
		if t.phase > 2*math.Pi*1000 {
			t.phase -= 2 * math.Pi * 1000
		}
		out[i] = clamp(v.amp * env * t.harmonics(f0, v) * 0.25 * 32767)
	}
	return i
}

// harmonics is the voice at the current phase: up to 20 harmonics of f0
// below Nyquist less 500 Hz, each decaying and lifted by the formants.
func (t *talker) harmonics(f0 float64, v voice) float64 {
	var s float64
	for h := 1; h <= 20; h++ {
		fh := f0 * float64(h)
		if fh > t.fr/2-500 {
			break
		}
		g := 1/float64(h) + 1.5*formant(fh, v.f1, 120) + 0.8*formant(fh, v.f2, 200)
		s += g * math.Sin(float64(h)*t.phase)
	}
	return s
}

// fricative writes n samples of high-passed noise from out[i] under a
// sine envelope.
func (t *talker) fricative(out []int16, i, n int) int {
	for k := 0; k < n && i < len(out); k, i = k+1, i+1 {
		x := float64(k) / float64(n)
		env := math.Sin(math.Pi * x)
		w := t.r.NormFloat64()
		hp := w - t.lp // crude high-pass: fricatives are bright
		t.lp += 0.3 * (w - t.lp)
		out[i] = clamp(0.12 * env * hp * 32767)
	}
	return i
}

func formant(f, center, bw float64) float64 {
	d := (f - center) / bw
	return 1 / (1 + d*d)
}

func clamp(v float64) int16 {
	v = math.Round(v)
	if v > 32767 {
		return 32767
	}
	if v < -32768 {
		return -32768
	}
	return int16(v)
}

// Goertzel returns the mean-square power of the component of pcm at freq
// Hz: for pcm = A*sin(2*pi*freq*t) it returns about A*A/2 (in squared
// sample units), the same scale as the mean of pcm[i]^2.
func Goertzel(pcm []int16, rate int, freq float64) float64 {
	n := len(pcm)
	if n == 0 {
		return 0
	}
	w := 2 * math.Pi * freq / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range pcm {
		s0 := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	re := s1 - s2*math.Cos(w)
	im := s2 * math.Sin(w)
	return 2 * (re*re + im*im) / (float64(n) * float64(n))
}

// Power returns the mean square of pcm.
func Power(pcm []int16) float64 {
	if len(pcm) == 0 {
		return 0
	}
	var s float64
	for _, x := range pcm {
		s += float64(x) * float64(x)
	}
	return s / float64(len(pcm))
}

// DB returns 10*log10(p), with a floor of -200 for p <= 0.
func DB(p float64) float64 {
	if p <= 0 {
		return -200
	}
	return 10 * math.Log10(p)
}

// ToneFreq returns the dominant frequency of pcm in Hz: the peak of a
// Hann-windowed FFT (up to the first 65536 samples, zero-padded to at
// least 16384 points) refined by Gaussian interpolation. Accuracy is well
// under 1 Hz for a clean tone of 0.1 s or more.
func ToneFreq(pcm []int16, rate int) float64 {
	n := len(pcm)
	if n > 65536 {
		n = 65536
	}
	if n < 2 {
		return 0
	}
	size := 16384
	for size < n {
		size *= 2
	}
	buf := make([]complex128, size)
	for i := 0; i < n; i++ {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		buf[i] = complex(float64(pcm[i])*w, 0)
	}
	FFT(buf, false)
	best, bestMag := 1, -1.0
	mags := make([]float64, size/2)
	for k := 1; k < size/2; k++ {
		mags[k] = cmplx.Abs(buf[k])
		if mags[k] > bestMag {
			best, bestMag = k, mags[k]
		}
	}
	return (float64(best) + gaussianPeak(mags, best)) * float64(rate) / float64(size)
}

// gaussianPeak is the offset, in bins, of the true peak from bin best of
// the magnitudes: the vertex of the parabola through the logs of best and
// its neighbours (0 at the edges or next to a zero).
func gaussianPeak(mags []float64, best int) float64 {
	if best <= 1 || best >= len(mags)-1 || mags[best-1] <= 0 || mags[best+1] <= 0 {
		return 0
	}
	a, b, c := math.Log(mags[best-1]), math.Log(mags[best]), math.Log(mags[best+1])
	if d := a - 2*b + c; d != 0 {
		return 0.5 * (a - c) / d
	}
	return 0
}

// XCorrDelay finds the delay of sig relative to ref: the lag in
// [-maxLag, maxLag] maximizing the cross-correlation sum(ref[n]*sig[n+lag]),
// so a positive lag means sig lags ref (sig[n] ~ ref[n-lag]). peak is that
// correlation normalized by the energies of the overlapping parts (1 for an
// exact delayed copy, near 0 for unrelated signals).
func XCorrDelay(ref, sig []int16, maxLag int) (lag int, peak float64) {
	if len(ref) == 0 || len(sig) == 0 {
		return 0, 0
	}
	xc := crossCorrelate(ref, sig)
	size := len(xc)
	// prefix energies for the overlap normalization
	er := prefixEnergy(ref)
	es := prefixEnergy(sig)
	best := math.Inf(-1)
	bestPeak := 0.0
	for l := -maxLag; l <= maxLag; l++ {
		idx := l
		if idx < 0 {
			idx += size
		}
		if idx < 0 || idx >= size {
			continue
		}
		c := real(xc[idx])
		e1, e2 := overlapEnergies(er, es, l)
		if e1 <= 0 || e2 <= 0 {
			continue
		}
		if c > best {
			best = c
			lag = l
			bestPeak = c / math.Sqrt(e1*e2)
		}
	}
	return lag, bestPeak
}

// crossCorrelate returns the circular cross-correlation of ref and sig
// zero-padded to a power of two (no wrap-around within their lengths):
// element l (l+size for a negative l) is sum(ref[n]*sig[n+l]).
func crossCorrelate(ref, sig []int16) []complex128 {
	size := 1
	for size < len(ref)+len(sig) {
		size *= 2
	}
	a := make([]complex128, size)
	b := make([]complex128, size)
	for i, x := range ref {
		a[i] = complex(float64(x), 0)
	}
	for i, x := range sig {
		b[i] = complex(float64(x), 0)
	}
	FFT(a, false)
	FFT(b, false)
	for i := range a {
		a[i] = cmplx.Conj(a[i]) * b[i]
	}
	FFT(a, true)
	return a
}

// overlapEnergies are the energies of the parts of ref and sig that
// overlap at lag l, from their prefix energies: ref[n], sig[n+l] for n in
// [max(0,-l), min(len(ref), len(sig)-l)); 0, 0 without overlap.
func overlapEnergies(er, es []float64, l int) (e1, e2 float64) {
	lo := max(0, -l)
	hi := min(len(er)-1, len(es)-1-l)
	if hi <= lo {
		return 0, 0
	}
	return er[hi] - er[lo], es[hi+l] - es[lo+l]
}

func prefixEnergy(x []int16) []float64 {
	p := make([]float64, len(x)+1)
	for i, v := range x {
		p[i+1] = p[i] + float64(v)*float64(v)
	}
	return p
}

// FFT computes an in-place radix-2 FFT of x (len a power of two); inverse
// selects the inverse transform, scaled by 1/len(x).
func FFT(x []complex128, inverse bool) {
	n := len(x)
	if n&(n-1) != 0 {
		panic("audiotest: FFT size not a power of two")
	}
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			x[i], x[j] = x[j], x[i]
		}
	}
	sign := -1.0
	if inverse {
		sign = 1
	}
	for size := 2; size <= n; size <<= 1 {
		ang := sign * 2 * math.Pi / float64(size)
		wn := complex(math.Cos(ang), math.Sin(ang))
		for start := 0; start < n; start += size {
			w := complex(1, 0)
			half := size / 2
			for k := 0; k < half; k++ {
				u := x[start+k]
				v := x[start+k+half] * w
				x[start+k] = u + v
				x[start+k+half] = u - v
				w *= wn
			}
		}
	}
	if inverse {
		s := complex(1/float64(n), 0)
		for i := range x {
			x[i] *= s
		}
	}
}
