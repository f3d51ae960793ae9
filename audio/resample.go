package audio

import "math"

// Resampler design: a windowed-sinc interpolator. The kernel is a sinc
// with 16 zero crossings on each side, Kaiser-windowed (beta 8.6, about
// 80 dB stopband), tabulated at 512 points per zero crossing with linear
// interpolation between them. The cutoff is 0.95 x the lower of the two
// Nyquist frequencies, so downsampling is alias-free and 44.1 -> 48 kHz
// keeps the band up to 20.9 kHz. Any rate ratio works (no rational
// factorization needed).
const (
	rsZeroCrossings = 16
	rsTableRes      = 512
	rsBeta          = 8.6
	rsCutoff        = 0.95
)

var rsTable = func() []float64 {
	n := rsZeroCrossings * rsTableRes
	t := make([]float64, n+2)
	i0b := besselI0(rsBeta)
	for i := 0; i <= n; i++ {
		u := float64(i) / rsTableRes // in zero crossings
		s := 1.0
		if u > 0 {
			s = math.Sin(math.Pi*u) / (math.Pi * u)
		}
		r := u / rsZeroCrossings
		w := besselI0(rsBeta*math.Sqrt(max(0, 1-r*r))) / i0b
		t[i] = s * w
	}
	return t
}()

func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < sum*1e-12 {
			break
		}
	}
	return sum
}

func rsKernel(u float64) float64 { // u in zero crossings, any sign
	u = math.Abs(u) * rsTableRes
	i := int(u)
	if i >= rsZeroCrossings*rsTableRes {
		return 0
	}
	f := u - float64(i)
	return rsTable[i]*(1-f) + rsTable[i+1]*f
}

// Resample converts in from inRate to outRate Hz (see the design note
// above). The output has round(len(in)*outRate/inRate) samples.
func Resample(in []float32, inRate, outRate int) []float32 {
	if inRate == outRate || len(in) == 0 {
		return append([]float32(nil), in...)
	}
	nOut := int((int64(len(in))*int64(outRate) + int64(inRate)/2) / int64(inRate))
	out := make([]float32, nOut)
	fc := rsCutoff * math.Min(1, float64(outRate)/float64(inRate)) // of the input Nyquist
	half := int(math.Ceil(rsZeroCrossings / fc))
	step := float64(inRate) / float64(outRate)
	for n := range out {
		t := float64(n) * step
		c := int(math.Floor(t))
		var sum float64
		lo, hi := max(0, c-half+1), min(len(in)-1, c+half)
		for k := lo; k <= hi; k++ {
			sum += float64(in[k]) * rsKernel((t-float64(k))*fc)
		}
		out[n] = float32(sum * fc)
	}
	return out
}
