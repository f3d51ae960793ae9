package state_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/internal/state"
	"github.com/termcall/termcall/tui"
)

// eng is the part of an engine the settings screen uses; any other
// method would panic on the nil embedded interface.
type eng struct {
	tui.Engine
	beauty float64
	nick   string
}

func (e *eng) SetBeautyLevel(l float64) error { e.beauty = l; return nil }
func (e *eng) SetSelfInfo(_ context.Context, n, _ string) error {
	e.nick = n
	return nil
}

// drive feeds keys to the model and runs the commands they return (and
// the messages those make) to completion.
func drive(t *testing.T, m *tui.Model, keys ...tea.KeyPressMsg) {
	t.Helper()
	var run func(tea.Cmd)
	run = func(c tea.Cmd) {
		if c == nil {
			return
		}
		switch msg := c().(type) {
		case nil:
		case tea.BatchMsg:
			for _, c := range msg {
				run(c)
			}
		default:
			_, next := m.Update(msg)
			run(next)
		}
	}
	for _, k := range keys {
		_, c := m.Update(k)
		run(c)
	}
}

var (
	down  = tea.KeyPressMsg{Code: tea.KeyDown}
	enter = tea.KeyPressMsg{Code: tea.KeyEnter}
	left  = tea.KeyPressMsg{Code: tea.KeyLeft}
	open  = tea.KeyPressMsg{Code: ',', Text: ","}
	clear = tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}
)

func typed(s string) []tea.KeyPressMsg {
	var ks []tea.KeyPressMsg
	for _, r := range s {
		ks = append(ks, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return ks
}

// options builds the TUI's options from a config, as cmd/tui.go does.
func options(cfg config.Config, s state.State, user string, e tui.Engine, save func(string, tui.Settings) error) tui.Options {
	nick, avatar := s.Profile(user)
	return tui.Options{Engine: e, User: user, Lang: cfg.TUI.Lang, IncomingBanner: cfg.TUI.IncomingBanner,
		FloatWindow: cfg.TUI.FloatWindow, MuteMode: cfg.Audio.MuteMode, Ringtone: cfg.Audio.Ringtone,
		AudioDevices: tui.AudioDevices{Mic: cfg.Audio.Mic, Speaker: cfg.Audio.Speakerphone, Earpiece: cfg.Audio.Earpiece},
		Camera:       cfg.Video.Front, Beauty: cfg.Video.Beauty, Nickname: nick, Avatar: avatar, SaveSettings: save}
}

// TestSettingsPersist changes settings in one TUI model, then builds a new
// one from the state file (as the next start does): the settings are there.
func TestSettingsPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "termcall", "state.json")
	saver := &state.Saver{Path: path, User: "alice"}
	cfg := config.Default()
	m1 := tui.New(options(cfg, state.State{}, "alice", &eng{}, saver.Save))
	drive(t, m1, open)
	// The rows: mic, speaker, earpiece, camera, ringtone, mute mode,
	// banner, compact window, language, nickname, avatar, AI voice, beauty.
	drive(t, m1, down, down, down, enter)                                                         // camera: edit
	drive(t, m1, append(append([]tea.KeyPressMsg{clear}, typed("pattern:320x240")...), enter)...) //
	drive(t, m1, down, enter)                                                                     // ringtone: edit
	drive(t, m1, append(typed("/tmp/ring.wav"), enter)...)                                        //
	drive(t, m1, down, enter)                                                                     // mute mode on
	drive(t, m1, down, enter)                                                                     // banner on
	drive(t, m1, down, enter)                                                                     // compact window: default off -> on
	drive(t, m1, down, left)                                                                      // language: en -> ja_JP
	drive(t, m1, down, enter)                                                                     // nickname: edit
	drive(t, m1, append(typed("Ali"), enter)...)                                                  //
	drive(t, m1, down, down, down, left)                                                          // beauty: 0 -> 9
	got1 := m1.Settings()
	want := tui.Settings{Camera: "pattern:320x240", Ringtone: "/tmp/ring.wav", MuteMode: true, IncomingBanner: true,
		FloatWindow: true, Lang: tui.LangJapanese, Nickname: "Ali", Beauty: 9}
	if diff := cmp.Diff(want, got1); diff != "" {
		t.Fatalf("settings after the changes (-want +got):\n%s", diff)
	}

	// The next start: a fresh config, the state file applied over it.
	s, err := state.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg2 := config.Default()
	s.ApplyTo(&cfg2)
	if err := cfg2.Validate(); err != nil {
		t.Fatal(err)
	}
	e2 := &eng{}
	m2 := tui.New(options(cfg2, s, "alice", e2, nil))
	if diff := cmp.Diff(want, m2.Settings()); diff != "" {
		t.Errorf("settings of the next start (-want +got):\n%s", diff)
	}
	// Another user on this device keeps the device's settings (the
	// ringtone persists per device) but not alice's nickname.
	m3 := tui.New(options(cfg2, s, "bob", &eng{}, nil))
	want3 := want
	want3.Nickname = ""
	if diff := cmp.Diff(want3, m3.Settings()); diff != "" {
		t.Errorf("settings of bob on this device (-want +got):\n%s", diff)
	}

	// The file is the owner's only.
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
}

// TestUnchangedKeepConfig: settings never changed on the screen follow the
// config file, so editing the config later still works.
func TestUnchangedKeepConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	saver := &state.Saver{Path: path, User: "alice"}
	if err := saver.Save(tui.SetMuteMode, tui.Settings{MuteMode: true}); err != nil {
		t.Fatal(err)
	}
	s, err := state.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Audio.Ringtone, cfg.TUI.Lang = "/etc/ring.ogg", "zh-cn"
	s.ApplyTo(&cfg)
	if !cfg.Audio.MuteMode || cfg.Audio.Ringtone != "/etc/ring.ogg" || cfg.TUI.Lang != "zh-cn" {
		t.Errorf("after ApplyTo: mute %v ringtone %q lang %q", cfg.Audio.MuteMode, cfg.Audio.Ringtone, cfg.TUI.Lang)
	}
}

func TestLoadBadFiles(t *testing.T) {
	dir := t.TempDir()
	if s, err := state.Load(filepath.Join(dir, "missing.json")); err != nil || !cmp.Equal(s, state.State{}) {
		t.Errorf("missing file: %+v %v", s, err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := state.Load(bad); err == nil || !strings.Contains(err.Error(), "ignored") {
		t.Errorf("corrupt file: %v, want an error saying it is ignored", err)
	}
	// A change made then rewrites it whole.
	saver := &state.Saver{Path: bad, User: "a"}
	if err := saver.Save(tui.SetLang, tui.Settings{Lang: "ja_JP"}); err != nil {
		t.Fatal(err)
	}
	if s, err := state.Load(bad); err != nil || s.Device.Lang == nil || *s.Device.Lang != "ja_JP" {
		t.Errorf("after a save over a corrupt file: %+v %v", s, err)
	}
	if s, err := state.Load(state.Off); err != nil || !cmp.Equal(s, state.State{}) {
		t.Errorf("off: %+v %v", s, err)
	}
	p, _ := state.DefaultPath(func(k string) string {
		return map[string]string{"XDG_STATE_HOME": "/x/state", "HOME": "/home/u"}[k]
	})
	q, _ := state.DefaultPath(func(k string) string { return map[string]string{"HOME": "/home/u"}[k] })
	if p != "/x/state/termcall/state.json" || q != "/home/u/.local/state/termcall/state.json" {
		t.Errorf("DefaultPath: %q, %q", p, q)
	}
}

// --- seg: background blur ---

// TestBlurPersists: the TUI's blur row is saved and is video.blur at the
// next start (a --blur flag still wins: cmd applies flags after).
func TestBlurPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	saver := &state.Saver{Path: path, User: "alice"}
	if err := saver.Save(tui.SetBlur, tui.Settings{Blur: 2, Beauty: 5}); err != nil {
		t.Fatal(err)
	}
	s, err := state.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	s.ApplyTo(&cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Video.Blur != 2 || cfg.Video.Beauty != 0 {
		t.Errorf("after ApplyTo: blur %d beauty %v; want 2 and the config's 0 (beauty was not changed)", cfg.Video.Blur, cfg.Video.Beauty)
	}
}

// TestBackgroundPersists: the TUI's background image row is saved and is
// video.background at the next start; clearing it there clears it here.
func TestBackgroundPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	saver := &state.Saver{Path: path, User: "alice"}
	load := func() config.Config {
		t.Helper()
		s, err := state.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		cfg := config.Default()
		cfg.Video.Background = "from-config.png"
		s.ApplyTo(&cfg)
		return cfg
	}
	if got := load().Video.Background; got != "from-config.png" {
		t.Errorf("with nothing saved: background %q, want the config's", got)
	}
	if err := saver.Save(tui.SetBackground, tui.Settings{Background: "/pics/beach.png", Blur: 3}); err != nil {
		t.Fatal(err)
	}
	if cfg := load(); cfg.Video.Background != "/pics/beach.png" || cfg.Video.Blur != 0 {
		t.Errorf("after saving: background %q blur %d; want /pics/beach.png and the config's 0", cfg.Video.Background, cfg.Video.Blur)
	}
	if err := saver.Save(tui.SetBackground, tui.Settings{}); err != nil {
		t.Fatal(err)
	}
	if got := load().Video.Background; got != "" {
		t.Errorf("after clearing: background %q, want none", got)
	}
}
