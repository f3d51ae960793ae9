package selftest

import (
	"errors"
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
