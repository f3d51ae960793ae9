package audiotest

import (
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fullScale is the power of a full-scale square wave: dBFS = DB(p) - DB(fullScale).
const fullScale = 32768.0 * 32768.0

// DBFS returns the power p (a mean square, as Power) in dB of full scale.
func DBFS(p float64) float64 { return DB(p) - DB(fullScale) }

// run runs a command-line tool, skipping the test when it is missing.
func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed (scripts/setup.sh TEST_PACKAGES has it): %v", name, err)
	}
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func readRaw(t testing.TB, path string) []int16 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]int16, len(b)/2)
	for i := range pcm {
		pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return pcm
}

// SpokenPhrases returns real speech: the phrases spoken by espeak-ng,
// resampled by sox to 48 kHz mono, with gap seconds of silence before,
// between and after them. The test is skipped when espeak-ng or sox is
// missing.
func SpokenPhrases(t testing.TB, gap float64, phrases ...string) []int16 {
	t.Helper()
	return SpokenPhrasesVoice(t, "en", gap, phrases...)
}

// SpokenPhrasesVoice is SpokenPhrases in espeak-ng's voice (e.g. "en",
// "en+f3").
func SpokenPhrasesVoice(t testing.TB, voice string, gap float64, phrases ...string) []int16 {
	t.Helper()
	dir := t.TempDir()
	silence := func() []int16 { return make([]int16, int(gap*48000)) }
	clean := silence()
	for _, p := range phrases {
		wav := filepath.Join(dir, "p.wav")
		raw := filepath.Join(dir, "p.raw")
		run(t, "espeak-ng", "-v", voice, "-s", "150", "-w", wav, p)
		run(t, "sox", wav, "-r", "48000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", raw)
		clean = append(clean, readRaw(t, raw)...)
		clean = append(clean, silence()...)
	}
	return clean
}

// SoxNoise returns n samples of noise made by sox (synth: kind is
// pinknoise, whitenoise or brownnoise) at 48 kHz, scaled so that its
// power is snr dB below ref (a mean square).
func SoxNoise(t testing.TB, kind string, n int, ref, snr float64) []int16 {
	t.Helper()
	nraw := filepath.Join(t.TempDir(), "noise.raw")
	run(t, "sox", "-R", "-n", "-r", "48000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", nraw,
		"synth", strconv.FormatFloat(float64(n)/48000+1, 'f', 3, 64), kind, "vol", "0.5")
	noise := readRaw(t, nraw)
	if len(noise) < n {
		t.Fatalf("sox made %d noise samples, want %d", len(noise), n)
	}
	noise = noise[:n]
	g := math.Sqrt(ref / Power(noise) / math.Pow(10, snr/10))
	for i := range noise {
		noise[i] = clamp(float64(noise[i]) * g)
	}
	return noise
}

// Mix returns a+b, saturated.
func Mix(a, b []int16) []int16 {
	out := make([]int16, min(len(a), len(b)))
	for i := range out {
		out[i] = clamp(float64(a[i]) + float64(b[i]))
	}
	return out
}

// ActivePower is the mean power of the frames of pcm (frame samples
// each) louder than -50 dBFS: the level of speech while it talks.
func ActivePower(pcm []int16, frame int) float64 {
	var s float64
	n := 0
	for i := 0; i+frame <= len(pcm); i += frame {
		if p := Power(pcm[i : i+frame]); DBFS(p) > -50 {
			s += p
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return s / float64(n)
}

// Pauses returns the start indices of the frames of clean (frame samples
// each) that are at least margin frames away from any frame louder than
// -70 dBFS: the speech pauses.
func Pauses(clean []int16, frame, margin int) []int {
	n := len(clean) / frame
	speech := make([]bool, n)
	for i := range n {
		speech[i] = DBFS(Power(clean[i*frame:(i+1)*frame])) > -70
	}
	var out []int
	for i := range n {
		ok := true
		for j := max(0, i-margin); j <= min(n-1, i+margin); j++ {
			ok = ok && !speech[j]
		}
		if ok {
			out = append(out, i*frame)
		}
	}
	return out
}

// FramesPower is the mean power of pcm's frames (frame samples each)
// starting at starts.
func FramesPower(pcm []int16, frame int, starts []int) float64 {
	var s float64
	for _, k := range starts {
		s += Power(pcm[k : k+frame])
	}
	if len(starts) == 0 {
		return 0
	}
	return s / float64(len(starts))
}

// FramesBandPower is like FramesPower but counts only the frequencies up
// to maxHz (Hann-windowed FFT of each frame, zero-padded to a power of
// two, at 48 kHz): the noise a listener gets through a codec that cuts
// above maxHz (Opus's full band ends at 20 kHz).
func FramesBandPower(pcm []int16, frame int, starts []int, maxHz float64) float64 {
	size := 1
	for size < frame {
		size *= 2
	}
	buf := make([]complex128, size)
	top := int(maxHz * float64(size) / 48000)
	var s float64
	for _, k := range starts {
		clear(buf)
		for i := range frame {
			w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(frame-1))
			buf[i] = complex(float64(pcm[k+i])*w, 0)
		}
		FFT(buf, false)
		for b := 0; b <= top && b <= size/2; b++ {
			m := real(buf[b])*real(buf[b]) + imag(buf[b])*imag(buf[b])
			if b > 0 && b < size/2 {
				m *= 2
			}
			s += m
		}
	}
	if len(starts) == 0 {
		return 0
	}
	// Parseval with the Hann window's mean square (3/8)
	return s / float64(size) / (0.375 * float64(frame)) / float64(len(starts))
}
