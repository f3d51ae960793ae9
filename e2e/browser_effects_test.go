package e2e

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/audiotest"
	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/server"
)

// vendorDir is where scripts/web-deps.sh puts the effects' npm files.
const vendorDir = "../web/static/sdk/vendor"

// needVendor skips a test of an effect whose files scripts/web-deps.sh did
// not fetch (the effect then reports itself unavailable; test.sh fetches
// them).
func needVendor(t *testing.T, file string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(vendorDir, file)); err != nil {
		t.Skipf("no %s: run scripts/web-deps.sh (npm) first", file)
	}
}

// writeWAV writes 16-bit mono PCM as a WAV file.
func writeWAV(t *testing.T, path string, pcm []int16, rate int) {
	t.Helper()
	b := make([]byte, 44+2*len(pcm))
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*len(pcm)))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint32(b[28:], uint32(2*rate))
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*len(pcm)))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// noisySpeech is a microphone in a noisy room: speech-like bursts (1 s of
// speech, 1 s of pause) over steady white noise at about -30 dBFS.
func noisySpeech(seconds, rate int) []int16 {
	speech := audiotest.Speech(7, seconds*rate, rate)
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]int16, len(speech))
	for i := range out {
		v := r.NormFloat64() * 1000
		if (i/rate)%2 == 0 {
			v += float64(speech[i]) * 0.8
		}
		out[i] = int16(max(-32768, min(32767, math.Round(v))))
	}
	return out
}

// noiseFloor is the 10th percentile of the RMS of 20 ms frames: the level
// of the pauses, in dBFS.
func noiseFloor(pcm []int16, rate int) float64 {
	n := rate / 50
	var rms []float64
	for i := 0; i+n <= len(pcm); i += n {
		var s float64
		for _, v := range pcm[i : i+n] {
			s += float64(v) * float64(v)
		}
		rms = append(rms, math.Sqrt(s/float64(n)))
	}
	if len(rms) == 0 {
		return math.Inf(-1)
	}
	slices.Sort(rms)
	return 20 * math.Log10(max(rms[len(rms)/10], 1e-3)/32768)
}

// TestBrowserNoiseSuppression: the page's fake microphone plays noisy
// speech; bob records what reaches him. With enableAIVoice(true) (RNNoise
// in an AudioWorklet) the noise floor of his recording drops well below
// the floor without it, measured before and after in the same call.
func TestBrowserNoiseSuppression(t *testing.T) {
	needBrowser(t)
	needVendor(t, "rnnoise/rnnoise-sync.js")
	wav := filepath.Join(t.TempDir(), "noisy.wav")
	writeWAV(t, wav, noisySpeech(10, 48000), 48000)
	e := newEnv(t, func(c *server.Config) { c.DevLogin = true })
	e.users("alice", "bob")
	b := newBrowser(t, 90*time.Second, e.url+"/blank-for-sdk-tests",
		chromedp.Flag("use-file-for-fake-audio-capture", wav))
	b.must(sdkPageJS("alice"))
	bob := e.login("bob")
	bobEar := bob.withTone(t, 440)
	b.must(`window.termcall.engine.calls({userIDList: ['bob'], type: 1})`)
	waitClient(t, bob, func(r engine.CallReceived) bool { return r.CallerID == "alice" })
	bob.must("Accept", bob.Accept(ctx(t)))
	waitCount(t, bobEar, "alice", 50, 10*time.Second)

	floor := func(what string) float64 {
		t.Helper()
		time.Sleep(1500 * time.Millisecond) // settle
		bobEar.heard()
		time.Sleep(4 * time.Second) // two speech/pause cycles
		pcm := bobEar.heard()
		f := noiseFloor(pcm, audio.SampleRate)
		t.Logf("%s: bob's recording %d samples, power %.1f dB, noise floor %.1f dBFS", what, len(pcm), audiotest.DB(audiotest.Power(pcm)), f)
		return f
	}
	off := floor("AI voice off")
	b.must(`window.termcall.engine.enableAIVoice(true)`)
	var st map[string]any
	if err := b.eval(`window.termcall.engine.getAIVoice()`, &st); err != nil || st["active"] != true {
		t.Fatalf("getAIVoice %v (%v), want active", st, err)
	}
	on := floor("AI voice on")
	b.must(`window.termcall.engine.enableAIVoice(false)`)
	offAgain := floor("AI voice off again")
	if off < -60 {
		t.Fatalf("the noisy microphone did not reach bob (floor %.1f dBFS)", off)
	}
	if on > min(off, offAgain)-10 {
		t.Errorf("noise floor: off %.1f, on %.1f, off again %.1f dBFS; want on at least 10 dB below off", off, on, offAgain)
	}
	b.must(`window.termcall.engine.hangup()`)
}
