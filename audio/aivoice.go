package audio

import (
	"sync"
	"sync/atomic"

	"github.com/termcall/termcall/audio/rnnoise"
)

// AIVoice is the uplink's optional learned noise suppression (the
// reference's enableAIVoice): RNNoise (package rnnoise), on 10 ms
// blocks, after the echo canceller. It is off until Enable(true), which
// also loads the model (the first time in a process about 0.1 s, then a
// few ms); while on, Process costs about 0.5 ms of CPU per 10 ms and
// delays the audio by 10 ms. The zero value is ready (off). Safe for
// concurrent use: Enable may be called while Process runs.
type AIVoice struct {
	on atomic.Bool
	mu sync.Mutex
	d  *rnnoise.Denoiser
}

// Enable turns the suppression on or off. Turning it on fails only when
// the model cannot be loaded; it is then left off.
func (a *AIVoice) Enable(on bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if on && a.d == nil {
		d, err := rnnoise.New()
		if err != nil {
			return err
		}
		a.d = d
	}
	a.on.Store(on)
	return nil
}

// Enabled says whether the suppression is on.
func (a *AIVoice) Enabled() bool { return a.on.Load() }

// Process denoises pcm in place when on (a whole number of 10 ms
// periods; a trailing part is left as is).
func (a *AIVoice) Process(pcm []int16) {
	if !a.on.Load() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.d == nil {
		return
	}
	for i := 0; i+rnnoise.FrameSize <= len(pcm); i += rnnoise.FrameSize {
		a.d.Process(pcm[i : i+rnnoise.FrameSize])
	}
}

// Close frees the model; the suppression is off afterwards.
func (a *AIVoice) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.on.Store(false)
	if a.d == nil {
		return nil
	}
	err := a.d.Close()
	a.d = nil
	return err
}
