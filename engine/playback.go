package engine

import (
	"sync"

	"github.com/termcall/termcall/protocol"
)

// AudioPlaybackDevice is the reference's hands-free choice. termcall uses
// the Android numbering (iOS and Flutter swap the two values).
type AudioPlaybackDevice int

// Playback routes.
const (
	AudioPlaybackEarpiece     AudioPlaybackDevice = 0
	AudioPlaybackSpeakerphone AudioPlaybackDevice = 1
)

func (d AudioPlaybackDevice) String() string {
	if d == AudioPlaybackEarpiece {
		return "earpiece"
	}
	return "speakerphone"
}

// AudioRouter switches playback between the two configured output devices
// (config audio.speakerphone and audio.earpiece).
type AudioRouter interface {
	SelectPlayback(device AudioPlaybackDevice) error
}

type playbackState struct {
	mu     sync.Mutex
	router AudioRouter
	device AudioPlaybackDevice
}

// SetAudioRouter installs what SelectAudioPlaybackDevice switches; the
// current choice is applied to it at once.
func (e *Engine) SetAudioRouter(r AudioRouter) error {
	e.playback.mu.Lock()
	defer e.playback.mu.Unlock()
	e.playback.router = r
	if r == nil {
		return nil
	}
	return r.SelectPlayback(e.playback.device)
}

// SelectAudioPlaybackDevice picks the earpiece or the speakerphone. Without
// a router (no sound devices) the choice is only remembered.
func (e *Engine) SelectAudioPlaybackDevice(device AudioPlaybackDevice) error {
	if device != AudioPlaybackEarpiece && device != AudioPlaybackSpeakerphone {
		return protocol.Errorf(protocol.CodeInvalidArgument, "playback device %d; want 0 (earpiece) or 1 (speakerphone)", device)
	}
	e.playback.mu.Lock()
	defer e.playback.mu.Unlock()
	if e.playback.router != nil {
		if err := e.playback.router.SelectPlayback(device); err != nil {
			return protocol.Errorf(protocol.CodeAudioDevice, "%s: %w", device, err)
		}
	}
	e.playback.device = device
	return nil
}

// AudioPlaybackDevice is the current playback route.
func (e *Engine) AudioPlaybackDevice() AudioPlaybackDevice {
	e.playback.mu.Lock()
	defer e.playback.mu.Unlock()
	return e.playback.device
}
