package tui

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/termcall/termcall/protocol"
)

// --- seg: background blur ---

// blurEngine is a fake engine with the background blur hook.
type blurEngine struct {
	fakeEngine
	level int
	calls []int
	err   error
}

func (e *blurEngine) SetBlurBackground(level int) error {
	e.calls = append(e.calls, level)
	if e.err != nil {
		return e.err
	}
	e.level = level
	return nil
}

func (e *blurEngine) BlurBackground() int { return e.level }

// TestSettingsBlur: the row shows the engine's level (e.g. --blur 2),
// cycles 0..3 through the engine, is saved under SetBlur, and a failure
// keeps the level and shows the error.
func TestSettingsBlur(t *testing.T) {
	eng := &blurEngine{level: 2}
	var saved []int
	h, _ := settingsHarness(t, Options{Engine: eng, SaveSettings: func(k string, s Settings) error {
		if k == SetBlur {
			saved = append(saved, s.Blur)
		}
		return nil
	}})
	if h.m.Settings().Blur != 2 {
		t.Fatalf("the blur row shows %d, want the engine's 2", h.m.Settings().Blur)
	}
	gotoField(h, fieldBlur)
	h.keys("right")
	wantStatus(t, h, "background blur: 3")
	h.keys("right") // wraps to off
	if v := h.m.View().Content; !strings.Contains(v, "Background blur    off") {
		t.Errorf("the settings screen does not show blur off:\n%s", v)
	}
	if diff := cmp.Diff([]int{3, 0}, eng.calls); diff != "" {
		t.Errorf("SetBlurBackground calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{3, 0}, saved); diff != "" {
		t.Errorf("saved levels (-want +got):\n%s", diff)
	}
	eng.err = protocol.Errorf(protocol.CodeVideoDevice, "no model")
	h.keys("right")
	if h.m.Settings().Blur != 0 || !h.m.statusErr || !strings.Contains(h.m.status, "no model") {
		t.Errorf("after a failure: blur %d, status %q (err %v)", h.m.Settings().Blur, h.m.status, h.m.statusErr)
	}
}

// backgroundEngine is a fake engine with the virtual background hook.
type backgroundEngine struct {
	fakeEngine
	path  string
	calls []string
}

func (e *backgroundEngine) SetVirtualBackground(path string) error {
	e.calls = append(e.calls, path)
	if strings.HasSuffix(path, ".txt") {
		return protocol.Errorf(protocol.CodeInvalidArgument, "%s: not a PNG or JPEG picture", path)
	}
	e.path = path
	return nil
}

func (e *backgroundEngine) VirtualBackground() string { return e.path }

// TestSettingsBackground: the background image row shows the engine's
// picture (e.g. --background), a new path goes through the engine and is
// saved under SetBackground, a refused file keeps the old picture and says
// why, and an empty path turns it off.
func TestSettingsBackground(t *testing.T) {
	eng := &backgroundEngine{path: "beach.png"}
	var saved []string
	h, _ := settingsHarness(t, Options{Engine: eng, SaveSettings: func(k string, s Settings) error {
		if k == SetBackground {
			saved = append(saved, s.Background)
		}
		return nil
	}})
	if got := h.m.Settings().Background; got != "beach.png" {
		t.Fatalf("the background row shows %q, want the engine's beach.png", got)
	}
	gotoField(h, fieldBackground)
	h.keys("enter", "ctrl+u")
	h.typeText("office.jpg")
	h.keys("enter")
	wantStatus(t, h, "background image: office.jpg")
	h.keys("enter", "ctrl+u")
	h.typeText("notes.txt")
	h.keys("enter")
	if h.m.Settings().Background != "office.jpg" || !h.m.statusErr || !strings.Contains(h.m.status, "not a PNG or JPEG") {
		t.Errorf("after a refused file: background %q, status %q (err %v)", h.m.Settings().Background, h.m.status, h.m.statusErr)
	}
	h.keys("enter", "ctrl+u", "enter")
	wantStatus(t, h, "background image: (not set)")
	if diff := cmp.Diff([]string{"office.jpg", "notes.txt", ""}, eng.calls); diff != "" {
		t.Errorf("SetVirtualBackground calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"office.jpg", ""}, saved); diff != "" {
		t.Errorf("saved pictures (-want +got):\n%s", diff)
	}
}
