package callaudio

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/audiotest"
	"github.com/termcall/termcall/engine"
)

func ringKind(a *Audio) string {
	a.ring.mu.Lock()
	defer a.ring.mu.Unlock()
	return a.ring.kind
}

// heardFor mixes n frames of whatever rings into silence.
func heardFor(a *Audio, n int) []int16 {
	var out []int16
	for i := 0; i < n; i++ {
		f := make([]int16, audio.FrameSamples)
		a.ring.mixInto(f)
		out = append(out, f...)
	}
	return out
}

// openQuiet opens audio on the null devices and stops its playout clock,
// so that the test is the only reader of what rings.
func openQuiet(t *testing.T) *Audio {
	t.Helper()
	a, err := Open(Options{Speaker: "null", Mic: "null"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	a.mu.Lock()
	a.stopPaced()
	a.mu.Unlock()
	return a
}

func TestRingtoneFollowsTheCall(t *testing.T) {
	a := openQuiet(t)
	a.Observe(engine.CallReceived{CallID: "c1"})
	if k := ringKind(a); k != "ring" {
		t.Fatalf("after CallReceived: ringing %q, want ring", k)
	}
	// 1 s of the 2 s "on" part of the cadence, measured frame by frame: the
	// stopped playout loop may still take one frame, and a phase jump
	// between two frames must not cancel the tone in a longer window.
	pcm := heardFor(a, 50)
	var tone, total float64
	for f := range slices.Chunk(pcm, audio.FrameSamples) {
		tone += audiotest.Goertzel(f, audio.SampleRate, 440) + audiotest.Goertzel(f, audio.SampleRate, 480)
		total += audiotest.Power(f)
	}
	if tone < 0.5*total {
		t.Errorf("the built-in ring is not 440+480 Hz (tone power %.0f of %.0f)", tone, total)
	}
	a.Observe(engine.CallBegin{CallID: "c1"})
	if k := ringKind(a); k != "" {
		t.Errorf("after CallBegin: still ringing %q", k)
	}

	a.Ringback(true)
	if p := audiotest.Goertzel(heardFor(a, 25), audio.SampleRate, 425); p == 0 {
		t.Error("ringback is silent")
	}
	a.Observe(engine.CallCancelled{CallID: "c2"})
	if k := ringKind(a); k != "" {
		t.Errorf("after CallCancelled: still ringing %q", k)
	}

	// Mute mode: no ringtone at all.
	a.EnableMuteMode(true)
	a.Observe(engine.CallReceived{CallID: "c3"})
	if k := ringKind(a); k != "" {
		t.Errorf("in mute mode: ringing %q", k)
	}
}

func TestSetCallingBell(t *testing.T) {
	a := openQuiet(t)
	wav := filepath.Join(t.TempDir(), "bell.wav")
	sink, err := audio.Create(wav)
	if err != nil {
		t.Fatal(err)
	}
	tone := audiotest.Tone(1000, 0.3, audio.FrameSamples*25, audio.SampleRate)
	for i := 0; i+audio.FrameSamples <= len(tone); i += audio.FrameSamples {
		if err := sink.WriteFrame(tone[i : i+audio.FrameSamples]); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.SetCallingBell(filepath.Join(t.TempDir(), "missing.wav")); err == nil {
		t.Error("a missing ringtone file was accepted")
	}
	if err := a.SetCallingBell(wav); err != nil {
		t.Fatal(err)
	}
	a.Ring(true)
	if f := audiotest.ToneFreq(heardFor(a, 20), audio.SampleRate); f < 990 || f > 1010 {
		t.Errorf("custom ringtone plays %.0f Hz, want 1000", f)
	}
	a.Ring(false)
	if err := a.SetCallingBell(""); err != nil {
		t.Fatal(err)
	}
	a.Ring(true)
	pcm := heardFor(a, 25)
	if p := audiotest.Goertzel(pcm, audio.SampleRate, 440); p < 0.2*audiotest.Power(pcm) {
		t.Error("an empty path did not restore the built-in ring")
	}
}

func TestNoRingWithoutDevice(t *testing.T) {
	a, err := Open(Options{NoAudioDevice: true})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.Observe(engine.CallReceived{CallID: "c1"})
	if k := ringKind(a); k != "" {
		t.Errorf("without a sound device: ringing %q", k)
	}
}
