package tuiapp

import (
	"errors"
	"log/slog"
	"sync"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/internal/callaudio"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/internal/selftest"
	"github.com/termcall/termcall/tui"
)

// OpenAudio opens the call audio. Without a sound card, or when the
// devices cannot be opened and none was named (named: --mic or --speaker
// given), it falls back to no device at all and says so in the returned
// notice. A bad file or named device is a usage error.
func OpenAudio(opts callaudio.Options, named bool, log *slog.Logger) (*Audio, string, error) {
	notice := ""
	if opts.NoAudioDevice {
		notice = "no audio device (--no-audio-device): you hear nothing"
	} else if ok, err := selftest.HasSoundCard(); err != nil || !ok {
		opts.Mic, opts.Speaker, opts.NoAudioDevice = "", "", true
		notice = "no sound card: calls connect, but you hear nothing and send silence"
	}
	au, err := callaudio.Open(opts)
	if err != nil && !opts.NoAudioDevice && !named {
		log.Warn("opening the sound devices; going on without", "err", err)
		opts.Mic, opts.Speaker, opts.NoAudioDevice = "", "", true
		notice = "sound device failed (" + err.Error() + "): no audio"
		au, err = callaudio.Open(opts)
	}
	if err != nil {
		return nil, "", exit.With(exit.Usage, err)
	}
	return &Audio{au: au, opts: opts, log: log}, notice, nil
}

// Audio is the TUI's call audio (tui.Ringer, tui.Ringbacker and
// tui.AudioControl): a callaudio.Audio that the settings screen reopens on
// other devices between calls. The ringtone and the mute mode carry over.
type Audio struct {
	mu   sync.Mutex
	au   *callaudio.Audio
	opts callaudio.Options
	eng  callaudio.Engine
	log  *slog.Logger
}

func (t *Audio) cur() *callaudio.Audio {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.au
}

// Attach gives the engine the audio; a reopened audio is attached in turn.
func (t *Audio) Attach(eng callaudio.Engine) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.eng = eng
	t.au.Attach(eng)
}

// Close closes the audio (finishing a recording).
func (t *Audio) Close() error { return t.cur().Close() }

// Ring plays (or stops) the ringtone.
func (t *Audio) Ring(on bool) { t.cur().Ring(on) }

// Ringback plays (or stops) the caller's ringback tone.
func (t *Audio) Ringback(on bool) { t.cur().Ringback(on) }

// SetCallingBell sets the ringtone file.
func (t *Audio) SetCallingBell(path string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.au.SetCallingBell(path); err != nil {
		return err
	}
	t.opts.Ringtone = path
	return nil
}

// EnableMuteMode rings without the bell or the ringtone.
func (t *Audio) EnableMuteMode(on bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.au.EnableMuteMode(on)
	t.opts.MuteMode = on
}

// Devices are the sound devices in use.
func (t *Audio) Devices() tui.AudioDevices {
	t.mu.Lock()
	defer t.mu.Unlock()
	return tui.AudioDevices{Mic: t.opts.Mic, Speaker: t.opts.Speaker, Earpiece: t.opts.Earpiece}
}

// Sending says whether anything is sent (a microphone or --play).
func (t *Audio) Sending() bool { return t.cur().Source() != nil }

func isNullDevice(name string) bool { return name == "" || name == "default" || name == "null" }

// SetDevices reopens the audio on other devices (the TUI calls it between
// calls). When they cannot be opened it goes back to the old ones.
func (t *Audio) SetDevices(d tui.AudioDevices) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o, err := t.reopenOptions(d)
	if err != nil {
		return false, err
	}
	if err := t.au.Close(); err != nil {
		t.log.Warn("closing the audio", "err", err)
	}
	au, err := callaudio.Open(o)
	if err != nil {
		return t.reopenOld(err)
	}
	t.use(au, o)
	return au.Source() != nil, nil
}

// reopenOptions are the options to reopen the audio on d with, or why it
// cannot be.
func (t *Audio) reopenOptions(d tui.AudioDevices) (callaudio.Options, error) {
	o := t.opts
	switch {
	case o.Record != "":
		return o, errors.New("--record is on: restart termcall to change the sound devices (reopening would overwrite the recording)")
	case o.Play != "" && d.Mic != "" && d.Mic != o.Mic:
		return o, errors.New("--play replaces the microphone: restart without it to pick one")
	}
	o.Mic, o.Speaker, o.Earpiece = d.Mic, d.Speaker, d.Earpiece
	if o.Play != "" {
		o.Mic = ""
	}
	// Started without a sound device (none found, or --no-audio-device):
	// stay so unless a real device is picked.
	o.NoAudioDevice = t.opts.NoAudioDevice && isNullDevice(o.Mic) && isNullDevice(o.Speaker) && isNullDevice(o.Earpiece)
	if o.NoAudioDevice {
		o.Mic, o.Speaker, o.Earpiece = "", "", ""
	}
	return o, nil
}

// reopenOld goes back to the old devices after openErr, else to no device.
func (t *Audio) reopenOld(openErr error) (bool, error) {
	back, err := callaudio.Open(t.opts)
	if err != nil {
		t.log.Warn("reopening the old sound devices; going on without", "err", err)
		fallback := t.opts
		fallback.Mic, fallback.Speaker, fallback.Earpiece, fallback.NoAudioDevice = "", "", "", true
		if back, err = callaudio.Open(fallback); err != nil {
			return false, errors.Join(openErr, err)
		}
		t.opts = fallback
	}
	t.use(back, t.opts)
	return back.Source() != nil, openErr
}

// use makes au (opened with o) the audio, attached to the engine.
func (t *Audio) use(au *callaudio.Audio, o callaudio.Options) {
	t.au, t.opts = au, o
	if t.eng != nil {
		au.Attach(t.eng)
	}
}

// Devices lists the sound devices for the settings screen.
func Devices() ([]tui.DeviceInfo, error) {
	devs, err := audio.Devices()
	out := make([]tui.DeviceInfo, 0, len(devs))
	for _, d := range devs {
		out = append(out, tui.DeviceInfo{Name: d.Name, Capture: d.Capture, Default: d.Default})
	}
	return out, err
}
