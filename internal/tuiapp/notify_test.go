package tuiapp

import "testing"

func TestDesktopNotifier(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if n := DesktopNotifier(env(map[string]string{"TERM": "xterm-256color"})); n != nil {
		t.Error("a plain terminal got a notifier")
	}
	if n := DesktopNotifier(env(map[string]string{"TMUX": "/tmp/tmux", "KITTY_WINDOW_ID": "1"})); n != nil {
		t.Error("inside tmux a notifier writes escapes")
	}
	got := DesktopNotifier(env(map[string]string{"KITTY_WINDOW_ID": "1"}))("termcall", "Incoming call from bob\x07")
	if want := "\x1b]99;;termcall: Incoming call from bob \x1b\\"; got != want {
		t.Errorf("kitty notification %q, want %q", got, want)
	}
	got = DesktopNotifier(env(map[string]string{"TERM_PROGRAM": "iTerm.app"}))("termcall", "hi")
	if want := "\x1b]9;termcall: hi\x07"; got != want {
		t.Errorf("iTerm2 notification %q, want %q", got, want)
	}
}
