package selftest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/audiotest"
)

func TestNullDevicesAreNoSoundCard(t *testing.T) {
	if _, err := Run(Options{Mic: "null"}); !errors.Is(err, ErrNoSoundCard) {
		t.Errorf("Run with the null microphone: %v", err)
	}
}

func TestChirpFindsItself(t *testing.T) {
	c := Chirp(300, 4000, 500*time.Millisecond, 0.5)
	if len(c) != audio.SampleRate/2 {
		t.Fatalf("%d samples", len(c))
	}
	sig := append(make([]int16, 1234), c...)
	if lag, peak := audiotest.XCorrDelay(c, sig, audio.SampleRate/2); lag != 1234 || peak < 0.99 {
		t.Errorf("lag %d peak %.3f", lag, peak)
	}
}

// TestRunPulse runs the self test on a real audio server: PulseAudio
// with a null sink, whose monitor is the microphone, so the microphone
// hears exactly what is played. A quiet tone plays in the background all
// along (the "room"; it also keeps the fresh null sink from rendering in
// 2 s blocks). The microphone must show a level, the tone must play, and
// the chirp must be found in the microphone, a little later.
func TestRunPulse(t *testing.T) {
	audiotest.StartPulse(t)
	room := audio.NewTone(1000, 0.05)
	bg, err := audio.OpenPlayback("", func(pcm []int16) { _ = room.ReadFrame(pcm) })
	if err != nil {
		t.Fatal(err)
	}
	defer bg.Close()
	if bg.Backend() != "pulseaudio" {
		t.Fatalf("playback backend %q, want pulseaudio", bg.Backend())
	}
	time.Sleep(2500 * time.Millisecond) // the null sink notices the stream
	var lines []string
	r, err := Run(Options{MicTime: time.Second, Say: func(s string) { lines = append(lines, s) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	if !r.MicOK || !r.SpeakerOK || !r.AllPassed {
		t.Errorf("mic ok %v (peak %d), speaker ok %v, all %v; want all true\n%s", r.MicOK, r.MicPeak, r.SpeakerOK, r.AllPassed, strings.Join(lines, "\n"))
	}
	if r.Mic == "null" || r.Speaker == "null" {
		t.Errorf("devices %q / %q, want the pulse server's", r.Mic, r.Speaker)
	}
	if !r.EchoFound || r.EchoDelayMs < 0 || r.EchoDelayMs > 400 {
		t.Errorf("echo found %v at %.1f ms (correlation %.3f); want found, 0..400 ms", r.EchoFound, r.EchoDelayMs, r.EchoPeak)
	}
}
