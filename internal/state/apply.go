package state

import (
	"sync"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/tui"
)

// Record notes in s that the TUI setting key changed to what set says,
// for user. The three sound devices are recorded together, and so are the
// nickname and the avatar.
func (s *State) Record(user, key string, set tui.Settings) {
	d := &s.Device
	switch key {
	case tui.SetMic, tui.SetSpeaker, tui.SetEarpiece:
		d.Mic, d.Speaker, d.Earpiece = Ptr(set.Devices.Mic), Ptr(set.Devices.Speaker), Ptr(set.Devices.Earpiece)
	case tui.SetCamera:
		d.Camera = Ptr(set.Camera)
	case tui.SetRingtone:
		d.Ringtone = Ptr(set.Ringtone)
	case tui.SetMuteMode:
		d.MuteMode = Ptr(set.MuteMode)
	case tui.SetIncomingBanner:
		d.IncomingBanner = Ptr(set.IncomingBanner)
	case tui.SetFloatWindow:
		d.FloatWindow = Ptr(set.FloatWindow)
	case tui.SetLang:
		d.Lang = Ptr(set.Lang)
	case tui.SetBeauty:
		d.Beauty = Ptr(set.Beauty)
	case tui.SetAIVoice:
		d.AIVoice = Ptr(set.AIVoice)
	case tui.SetBlur: // --- seg ---
		d.Blur = Ptr(set.Blur)
	case tui.SetBackground:
		d.Background = Ptr(set.Background)
	case tui.SetNickname, tui.SetAvatar:
		if s.Users == nil {
			s.Users = make(map[string]User)
		}
		s.Users[user] = User{Nickname: Ptr(set.Nickname), Avatar: Ptr(set.Avatar)}
	}
}

// ApplyTo overrides cfg's values with the ones recorded: cmd calls it
// after reading the config file and the environment and before the
// command's own flags, so that a flag still wins.
func (s State) ApplyTo(cfg *config.Config) {
	d := s.Device
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&cfg.Audio.Mic, d.Mic)
	set(&cfg.Audio.Speakerphone, d.Speaker)
	set(&cfg.Audio.Earpiece, d.Earpiece)
	set(&cfg.Audio.Ringtone, d.Ringtone)
	set(&cfg.Video.Front, d.Camera)
	set(&cfg.TUI.Lang, d.Lang)
	set(&cfg.Video.Background, d.Background) // --- seg ---
	if d.MuteMode != nil {
		cfg.Audio.MuteMode = *d.MuteMode
	}
	if d.IncomingBanner != nil {
		cfg.TUI.IncomingBanner = *d.IncomingBanner
	}
	if d.FloatWindow != nil {
		cfg.TUI.FloatWindow = *d.FloatWindow
	}
	if d.Beauty != nil {
		cfg.Video.Beauty = *d.Beauty
	}
	if d.AIVoice != nil {
		cfg.Audio.AIVoice = *d.AIVoice
	}
	if d.Blur != nil { // --- seg ---
		cfg.Video.Blur = *d.Blur
	}
}

// Profile returns user's recorded nickname and avatar ("" when none).
func (s State) Profile(user string) (nickname, avatar string) {
	u := s.Users[user]
	if u.Nickname != nil {
		nickname = *u.Nickname
	}
	if u.Avatar != nil {
		avatar = *u.Avatar
	}
	return nickname, avatar
}

// Saver keeps one state file up to date with the TUI's changes; its Save
// is what tui.Options.SaveSettings takes. Changes are merged into the file
// as it is on disk, so two termcall processes lose nothing but a race on
// the same key.
type Saver struct {
	Path string
	User string
	mu   sync.Mutex
}

// Save records the change and writes the file.
func (v *Saver) Save(key string, set tui.Settings) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	s, err := Load(v.Path)
	if err != nil {
		s = State{} // unreadable: start it again rather than lose the change
	}
	s.Record(v.User, key, set)
	return Save(v.Path, s)
}
