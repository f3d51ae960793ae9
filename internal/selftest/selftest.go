// Package selftest checks this machine's microphone, speaker and
// acoustic echo for `termcall selftest`.
package selftest

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/audio/audiotest"
)

// ErrNoSoundCard is returned when only the null devices exist.
var ErrNoSoundCard = errors.New("no sound card: only the null audio device (silence) is available")

// Options configure Run.
type Options struct {
	Mic, Speaker string
	// MicTime is how long the microphone level is shown (default 3 s).
	MicTime time.Duration
	// Say prints a progress line.
	Say func(string)
}

// Result is what Run found.
type Result struct {
	Mic          string  `json:"mic"`
	Speaker      string  `json:"speaker"`
	MicPeak      int     `json:"micPeakLevel"` // 0..100
	MicOK        bool    `json:"micOk"`
	SpeakerOK    bool    `json:"speakerOk"` // the tone played without error
	EchoFound    bool    `json:"echoFound"`
	EchoDelayMs  float64 `json:"echoDelayMs,omitempty"`
	EchoPeak     float64 `json:"echoCorrelation"`
	Underruns    uint64  `json:"playbackUnderruns"`
	Overruns     uint64  `json:"captureOverruns"`
	AllPassed    bool    `json:"ok"`
	EchoAdvisory string  `json:"echo"`
}

// HasSoundCard reports whether any real (non-null) device is listed.
func HasSoundCard() (bool, error) {
	devs, err := audio.Devices()
	if err != nil {
		return false, err
	}
	for _, d := range devs {
		if d.Backend != "null" {
			return true, nil
		}
	}
	return false, nil
}

// Run checks the microphone (its level for MicTime), the speaker (a
// 440 Hz tone for a second) and the echo path (a chirp played and looked
// for in the capture). Without a sound card it returns ErrNoSoundCard at
// once.
func Run(o Options) (Result, error) {
	if o.Say == nil {
		o.Say = func(string) {}
	}
	if o.MicTime <= 0 {
		o.MicTime = 3 * time.Second
	}
	r := Result{}
	if err := checkSoundCard(o); err != nil {
		return r, err
	}
	for _, check := range []func(Options, *Result) error{checkMic, checkSpeaker, checkEcho} {
		if err := check(o, &r); err != nil {
			return r, err
		}
	}
	r.AllPassed = r.MicOK && r.SpeakerOK
	return r, nil
}

// checkSoundCard returns ErrNoSoundCard if a null device is asked for or
// only null devices exist.
func checkSoundCard(o Options) error {
	if strings.EqualFold(o.Mic, "null") || strings.EqualFold(o.Speaker, "null") {
		return ErrNoSoundCard
	}
	ok, err := HasSoundCard()
	if err != nil {
		return err
	}
	if !ok {
		return ErrNoSoundCard
	}
	return nil
}

// checkMic (1.) shows the microphone's level every 250 ms for MicTime
// and keeps its peak.
func checkMic(o Options, r *Result) error {
	var mu sync.Mutex
	peak, cur := 0, 0
	mic, err := audio.OpenCapture(o.Mic, func(pcm []int16) {
		l := audio.Level(pcm)
		mu.Lock()
		cur = max(cur, l)
		peak = max(peak, l)
		mu.Unlock()
	})
	if err != nil {
		return fmt.Errorf("microphone: %w", err)
	}
	r.Mic = mic.Name()
	if mic.IsNull() {
		mic.Close()
		return ErrNoSoundCard
	}
	o.Say(fmt.Sprintf("microphone %q: speak now (%s)", mic.Name(), o.MicTime))
	end := time.Now().Add(o.MicTime)
	for time.Now().Before(end) {
		time.Sleep(250 * time.Millisecond)
		mu.Lock()
		l := cur
		cur = 0
		mu.Unlock()
		o.Say(fmt.Sprintf("  level %3d %s", l, strings.Repeat("#", l/4)))
	}
	_, r.Overruns = mic.Xruns()
	mic.Close()
	r.MicPeak = peak
	r.MicOK = peak > 0
	if r.MicOK {
		o.Say(fmt.Sprintf("microphone: ok (peak level %d)", peak))
	} else {
		o.Say("microphone: silent (muted, or the wrong device?)")
	}
	return nil
}

// checkSpeaker (2.) plays a 440 Hz tone for a second.
func checkSpeaker(o Options, r *Result) error {
	tone := audio.NewTone(440, 0.3)
	n := 0
	spk, err := audio.OpenPlayback(o.Speaker, func(pcm []int16) {
		if n < audio.SampleRate {
			_ = tone.ReadFrame(pcm)
		} else {
			clear(pcm)
		}
		n += len(pcm)
	})
	if err != nil {
		return fmt.Errorf("speaker: %w", err)
	}
	r.Speaker = spk.Name()
	if spk.IsNull() {
		spk.Close()
		return ErrNoSoundCard
	}
	o.Say(fmt.Sprintf("speaker %q: playing a 440 Hz tone for 1 s", spk.Name()))
	time.Sleep(1200 * time.Millisecond)
	r.Underruns, _ = spk.Xruns()
	spk.Close()
	r.SpeakerOK = true
	return nil
}

// checkEcho (3.) plays a chirp and looks for it in the capture.
func checkEcho(o Options, r *Result) error {
	o.Say("echo: playing a chirp and listening for it")
	played, captured, err := chirpLoop(o)
	if err != nil {
		return err
	}
	lag, corr := audiotest.XCorrDelay(played, captured, audio.SampleRate/2)
	r.EchoPeak = math.Round(corr*1000) / 1000
	if corr > 0.3 {
		r.EchoFound = true
		r.EchoDelayMs = math.Round(float64(lag)*1e4/audio.SampleRate) / 10
		r.EchoAdvisory = fmt.Sprintf("the microphone hears the speaker (%.0f ms later): echo cancellation is needed (it is on)", r.EchoDelayMs)
	} else {
		r.EchoAdvisory = "no echo of the speaker in the microphone (headphones, or the speaker is muted)"
	}
	o.Say("echo: " + r.EchoAdvisory)
	return nil
}

// chirpLoop plays a chirp after 250 ms of silence while capturing, and
// returns the first 2 s of what was played and of what was captured.
func chirpLoop(o Options) (played, captured []int16, err error) {
	ref := Chirp(300, 4000, 500*time.Millisecond, 0.5)
	const lead = audio.SampleRate / 4 // 250 ms of silence first
	total := 2 * audio.SampleRate
	played = make([]int16, 0, total+audio.FrameSamples)
	captured = make([]int16, 0, total+audio.FrameSamples)
	var pmu sync.Mutex
	mic, err := audio.OpenCapture(o.Mic, func(pcm []int16) {
		pmu.Lock()
		if len(captured) < total {
			captured = append(captured, pcm...)
		}
		pmu.Unlock()
	})
	if err != nil {
		return nil, nil, fmt.Errorf("microphone: %w", err)
	}
	pos := 0
	spk, err := audio.OpenPlayback(o.Speaker, func(pcm []int16) {
		for i := range pcm {
			k := pos - lead
			if k >= 0 && k < len(ref) {
				pcm[i] = ref[k]
			} else {
				pcm[i] = 0
			}
			pos++
		}
		pmu.Lock()
		if len(played) < total {
			played = append(played, pcm...)
		}
		pmu.Unlock()
	})
	if err != nil {
		mic.Close()
		return nil, nil, fmt.Errorf("speaker: %w", err)
	}
	time.Sleep(time.Duration(total)*time.Second/audio.SampleRate + 300*time.Millisecond)
	spk.Close()
	mic.Close()
	pmu.Lock()
	defer pmu.Unlock()
	return played, captured, nil
}

// Chirp returns a linear sine sweep from f0 to f1 Hz lasting d, with
// amplitude amp (0..1) and 5 ms fades.
func Chirp(f0, f1 float64, d time.Duration, amp float64) []int16 {
	n := int(d.Seconds() * audio.SampleRate)
	out := make([]int16, n)
	T := d.Seconds()
	fade := audio.SampleRate / 200
	for i := range out {
		t := float64(i) / audio.SampleRate
		ph := 2 * math.Pi * (f0*t + (f1-f0)*t*t/(2*T))
		g := amp
		if i < fade {
			g *= float64(i) / float64(fade)
		} else if n-i < fade {
			g *= float64(n-i) / float64(fade)
		}
		out[i] = int16(math.Round(g * 32767 * math.Sin(ph)))
	}
	return out
}
