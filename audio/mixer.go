package audio

import "math"

// Mixer sums the decoded frames of several remote users with saturation.
// The zero value is ready to use; it keeps a scratch accumulator so that
// Mix does not allocate once warmed up. A Mixer is not safe for
// concurrent use.
type Mixer struct {
	acc []int32
}

// Mix writes the saturated sum of srcs into dst. Sources shorter than
// dst contribute silence past their end; with no sources dst is zeroed.
func (m *Mixer) Mix(dst []int16, srcs [][]int16) {
	if cap(m.acc) < len(dst) {
		m.acc = make([]int32, len(dst))
	}
	acc := m.acc[:len(dst)]
	clear(acc)
	for _, s := range srcs {
		s = s[:min(len(s), len(acc))]
		for i, v := range s {
			acc[i] += int32(v)
		}
	}
	for i, v := range acc {
		dst[i] = sat16(v)
	}
}

// MixAdd adds src into dst in place with saturation (one source at a
// time; for several sources Mixer.Mix clips once, which is better).
func MixAdd(dst, src []int16) {
	for i := range dst[:min(len(dst), len(src))] {
		dst[i] = sat16(int32(dst[i]) + int32(src[i]))
	}
}

// Gain scales pcm in place by g with saturation.
func Gain(pcm []int16, g float64) {
	for i, v := range pcm {
		pcm[i] = sat16f(float64(v) * g)
	}
}

func sat16(v int32) int16 {
	if v > math.MaxInt16 {
		return math.MaxInt16
	}
	if v < math.MinInt16 {
		return math.MinInt16
	}
	return int16(v)
}

func sat16f(v float64) int16 {
	v = math.Round(v)
	if v > math.MaxInt16 {
		return math.MaxInt16
	}
	if v < math.MinInt16 {
		return math.MinInt16
	}
	return int16(v)
}

// DBFS returns the RMS level of pcm in dB relative to full scale
// (32768; a full-scale square wave is 0 dBFS, a full-scale sine -3 dBFS).
// Digital silence returns -inf.
func DBFS(pcm []int16) float64 {
	if len(pcm) == 0 {
		return math.Inf(-1)
	}
	var s float64
	for _, v := range pcm {
		f := float64(v)
		s += f * f
	}
	if s == 0 {
		return math.Inf(-1)
	}
	return 10 * math.Log10(s/float64(len(pcm))/(32768.0*32768.0))
}

// Level returns the loudness of pcm as 0..100, the RMS level mapped
// linearly from -60 dBFS (0) to 0 dBFS (100). This is the scale of the
// engine's UserVoiceVolumeChanged event.
func Level(pcm []int16) int {
	db := DBFS(pcm)
	if db <= -60 {
		return 0
	}
	if db >= 0 {
		return 100
	}
	return int(math.Round((db + 60) * 100 / 60))
}

// AudioLevelDBov returns the level of pcm for the RTP client-to-mixer
// audio level header extension (RFC 6464): 0..127, meaning 0 to -127
// dBov (dB relative to the overload point, the same as dBFS here).
// Silence is 127.
func AudioLevelDBov(pcm []int16) uint8 {
	db := DBFS(pcm)
	if db <= -127 {
		return 127
	}
	if db >= 0 {
		return 0
	}
	return uint8(math.Round(-db))
}
