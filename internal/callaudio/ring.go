package callaudio

import (
	"fmt"
	"sync"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/engine"
)

// The Kit layer's sounds: the ringtone of an incoming call (TUICallKit's
// setCallingBell / enableMuteMode) and the ringback a caller hears while
// the other side rings. They go to the speaker only, never to the
// recordings or the uplink, and stop when the call begins or ends.

type ringer struct {
	bell *audio.Bell
	mu   sync.Mutex
	src  audio.Source // what rings now; nil = nothing
	kind string       // "ring" or "ringback"
	buf  []int16
}

func (r *ringer) start(kind string, src audio.Source) {
	r.mu.Lock()
	r.src, r.kind = src, kind
	r.mu.Unlock()
}

func (r *ringer) stop(kind string) {
	r.mu.Lock()
	if kind == "" || r.kind == kind {
		r.src, r.kind = nil, ""
	}
	r.mu.Unlock()
}

// mixInto adds the current ring frame to pcm.
func (r *ringer) mixInto(pcm []int16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.src == nil {
		return
	}
	if len(r.buf) != len(pcm) {
		r.buf = make([]int16, len(pcm))
	}
	if err := r.src.ReadFrame(r.buf); err != nil {
		r.src, r.kind = nil, ""
		return
	}
	audio.MixAdd(pcm, r.buf)
}

// Ring starts or stops the ringtone of an incoming call (tui.Ringer).
// Without a sound device it does nothing.
func (a *Audio) Ring(on bool) {
	if !on {
		a.ring.stop("ring")
		return
	}
	if a.opts.NoAudioDevice || a.ring.bell.Muted() {
		return
	}
	a.ring.start("ring", a.ring.bell.Source())
}

// Ringback starts or stops the tone a caller hears while the call rings.
func (a *Audio) Ringback(on bool) {
	if !on {
		a.ring.stop("ringback")
		return
	}
	if a.opts.NoAudioDevice {
		return
	}
	a.ring.start("ringback", audio.NewRingbackSource())
}

// SetCallingBell sets the ringtone (a WAV or Ogg/Opus file); "" restores
// the built-in ring. A bad file is an error and changes nothing.
func (a *Audio) SetCallingBell(path string) error { return a.ring.bell.SetCallingBell(path) }

// EnableMuteMode silences the ringtone of incoming calls.
func (a *Audio) EnableMuteMode(on bool) {
	a.ring.bell.EnableMuteMode(on)
	if on {
		a.ring.stop("ring")
	}
}

// ringOnEvent follows the call: an invitation rings (for people, not for
// bots sending a file or an echo), and the call beginning or ending stops
// every ring.
func (a *Audio) ringOnEvent(ev engine.Event) {
	switch ev.(type) {
	case engine.CallReceived:
		if a.opts.Play == "" && !a.opts.Echo {
			a.Ring(true)
		}
	case engine.CallBegin, engine.CallEnd, engine.CallCancelled, engine.KickedOffline:
		a.ring.stop("")
	}
}

// SelectPlayback switches the playback device between the speakerphone and
// the earpiece devices (engine.AudioRouter). Without sound devices, or when
// both routes name the same device, there is nothing to switch.
func (a *Audio) SelectPlayback(route engine.AudioPlaybackDevice) error {
	if a.opts.NoAudioDevice {
		return nil
	}
	name := a.opts.Speaker
	if route == engine.AudioPlaybackEarpiece && a.opts.Earpiece != "" {
		name = a.opts.Earpiece
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if name == a.speakerName {
		return nil
	}
	dev, err := audio.OpenPlayback(name, a.fill)
	if err != nil {
		return fmt.Errorf("playback device %q: %w", name, err)
	}
	dev.SetPlayedTap(a.down.Played) // the echo canceller's reference
	old := a.spk
	if dev.IsNull() {
		dev.Close()
		dev = nil
	}
	switch {
	case old == nil && dev != nil:
		a.stopPaced()
	case old != nil && dev == nil:
		a.startPaced()
	}
	a.spk, a.speakerName = dev, name
	if old != nil {
		old.Close()
	}
	return nil
}
