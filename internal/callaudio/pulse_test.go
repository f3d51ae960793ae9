package callaudio

import (
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/audiotest"
	"github.com/termcall/termcall/audio/webrtcap"
	"github.com/termcall/termcall/engine"
)

// TestPlaybackFeedsEchoReference: on a real audio server (PulseAudio,
// null sink) the speaker that Open opens, and the one a route switch
// opens, hand what they play to the echo canceller's reference.
func TestPlaybackFeedsEchoReference(t *testing.T) {
	audiotest.StartPulse(t)
	a, err := Open(Options{AEC: true, Earpiece: "Null Output"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	grows := func(what string) {
		t.Helper()
		start := a.Downlink().PlayedSamples()
		deadline := time.Now().Add(10 * time.Second) // a fresh null sink may take 2 s to start
		for a.Downlink().PlayedSamples() < start+audio.SampleRate/2 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the playback device handed the echo reference %d samples in 10 s",
					what, a.Downlink().PlayedSamples()-start)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	a.mu.Lock()
	spk := a.spk
	a.mu.Unlock()
	if spk == nil || spk.Backend() != "pulseaudio" {
		t.Fatalf("speaker %v, want one on the pulse server", spk)
	}
	grows("the speaker")
	if err := a.SelectPlayback(engine.AudioPlaybackEarpiece); err != nil {
		t.Fatal(err)
	}
	a.mu.Lock()
	ear := a.spk
	a.mu.Unlock()
	if ear == spk || ear == nil {
		t.Fatal("the earpiece route opened no new device")
	}
	grows("the earpiece")
}

// TestEchoCancellerChoice: Options.EchoCanceller (config
// audio.echo_canceller) picks the microphone's canceller, "" the default;
// an unknown name fails Open.
func TestEchoCancellerChoice(t *testing.T) {
	audiotest.StartPulse(t)
	for _, name := range []string{"", audio.EchoSpeex, audio.EchoWebRTC, audio.EchoAEC3} {
		if name == audio.EchoWebRTC && !webrtcap.Available {
			continue // a build without WebRTC's module
		}
		a, err := Open(Options{AEC: true, EchoCanceller: name})
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		up, ok := a.Source().(*audio.Uplink)
		if !ok {
			a.Close()
			t.Fatalf("%q: the source is a %T, not a capture uplink", name, a.Source())
		}
		want := name
		if want == "" {
			want = audio.DefaultEchoCanceller
		}
		if got := up.EchoCanceller(); got != want {
			t.Errorf("%q: the uplink runs %q, want %q", name, got, want)
		}
		a.Close()
	}
	if a, err := Open(Options{AEC: true, EchoCanceller: "rnnoise"}); err == nil {
		a.Close()
		t.Error("an unknown echo canceller was accepted")
	} else if !strings.Contains(err.Error(), "unknown echo canceller") {
		t.Errorf("unknown echo canceller: %v", err)
	}
}
