package tuiapp

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/internal/callaudio"
	"github.com/termcall/termcall/internal/state"
	"github.com/termcall/termcall/tui"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// TestOpenAudioNoDevice: --no-audio-device opens no sound device, says so,
// and keeps to no device when the settings screen picks only null ones.
func TestOpenAudioNoDevice(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	au, notice, err := OpenAudio(callaudio.Options{NoAudioDevice: true, Logger: log}, false, log)
	if err != nil {
		t.Fatal(err)
	}
	defer au.Close()
	if want := "no audio device (--no-audio-device): you hear nothing"; notice != want {
		t.Errorf("notice %q, want %q", notice, want)
	}
	if au.Sending() {
		t.Error("sending with no device and no --play")
	}
	sending, err := au.SetDevices(tui.AudioDevices{Mic: "null", Speaker: "default"})
	if err != nil || sending {
		t.Errorf("SetDevices(null devices) = %v, %v; want false, nil", sending, err)
	}
	if diff := cmp.Diff(tui.AudioDevices{}, au.Devices()); diff != "" {
		t.Errorf("devices after picking null ones (-want +got):\n%s", diff)
	}
}

// TestSetDevicesRefused: with --record or --play the devices are not
// reopened, with the reason.
func TestSetDevicesRefused(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	rec := filepath.Join(t.TempDir(), "r.wav")
	au, _, err := OpenAudio(callaudio.Options{NoAudioDevice: true, Record: rec, Logger: log}, false, log)
	if err != nil {
		t.Fatal(err)
	}
	defer au.Close()
	if _, err := au.SetDevices(tui.AudioDevices{Mic: "x"}); err == nil || !strings.Contains(err.Error(), "--record is on") {
		t.Errorf("SetDevices with --record: %v", err)
	}
	pl, _, err := OpenAudio(callaudio.Options{NoAudioDevice: true, Play: "tone:440", Logger: log}, false, log)
	if err != nil {
		t.Fatal(err)
	}
	defer pl.Close()
	if !pl.Sending() {
		t.Error("--play tone:440 is not sent")
	}
	if _, err := pl.SetDevices(tui.AudioDevices{Mic: "some mic"}); err == nil || !strings.Contains(err.Error(), "--play replaces") {
		t.Errorf("SetDevices with --play: %v", err)
	}
}

func TestContactsAndLang(t *testing.T) {
	got := Contacts([]string{"a", "b"}, []string{"b", "c"}, []string{"group:g a b", "a"})
	if diff := cmp.Diff([]string{"a", "b", "c", "group:g a b"}, got); diff != "" {
		t.Errorf("contacts (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		flag string
		env  map[string]string
		want string
	}{
		{"ja_JP", map[string]string{"LANG": "en_US.UTF-8"}, "ja_JP"},
		{"", map[string]string{"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh_CN.UTF-8"},
		{"", map[string]string{"TERMCALL_LANG": "ja", "LC_ALL": "zh_CN"}, "ja"},
		{"", map[string]string{}, ""},
	} {
		if got := Lang(tc.flag, env(tc.env)); got != tc.want {
			t.Errorf("Lang(%q, %v) = %q, want %q", tc.flag, tc.env, got, tc.want)
		}
	}
}

// TestLoadSaved: the state file's settings override the config file; an
// unreadable one is a notice.
func TestLoadSaved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	st := state.State{}
	st.Record("alice", tui.SetLang, tui.Settings{Lang: "ja_JP"})
	if err := state.Save(path, st); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.User, cfg.StateFile, cfg.TUI.Lang = "alice", path, "en"
	saved := LoadSaved(&cfg, env(nil))
	if saved.Notice != "" || saved.Path != path || cfg.TUI.Lang != "ja_JP" {
		t.Errorf("loaded %+v, lang %q; want no notice and lang ja_JP", saved, cfg.TUI.Lang)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg = config.Default()
	cfg.StateFile, cfg.TUI.Lang = bad, "en"
	if saved := LoadSaved(&cfg, env(nil)); saved.Notice == "" || cfg.TUI.Lang != "en" {
		t.Errorf("a state file that is not JSON: %+v, lang %q; want a notice and the config's lang", saved, cfg.TUI.Lang)
	}
}
