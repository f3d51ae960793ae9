package tuiapp

import (
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// DesktopNotifier returns how this terminal session shows a desktop
// notification: notify-send on a Linux desktop, else the notification
// escape of terminals that have one (OSC 99 for kitty, OSC 9 for iTerm2,
// WezTerm, Windows Terminal, ConEmu), returned for the TUI to write, else
// nil. getenv is os.Getenv.
func DesktopNotifier(getenv func(string) string) func(title, body string) string {
	desktop := getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != ""
	multiplexer := getenv("TMUX") != "" || getenv("STY") != ""
	if desktop && getenv("TMUX") == "" {
		if path, err := exec.LookPath("notify-send"); err == nil {
			return notifySend(path)
		}
	}
	switch {
	case multiplexer:
		return nil // multiplexers swallow or mangle these escapes
	case getenv("KITTY_WINDOW_ID") != "":
		return escapeNotifier("\x1b]99;;%s: %s\x1b\\")
	case getenv("TERM_PROGRAM") == "iTerm.app" || getenv("TERM_PROGRAM") == "WezTerm" ||
		getenv("WT_SESSION") != "" || getenv("ConEmuPID") != "":
		return escapeNotifier("\x1b]9;%s: %s\x07")
	}
	return nil
}

// notifySend shows notifications with the notify-send at path (killed
// after 5 s); the TUI has nothing to write.
func notifySend(path string) func(title, body string) string {
	return func(title, body string) string {
		go func() {
			cmd := exec.Command(path, "--app-name=termcall", title, body)
			if err := cmd.Start(); err == nil {
				t := time.AfterFunc(5*time.Second, func() { _ = cmd.Process.Kill() })
				_ = cmd.Wait()
				t.Stop()
			}
		}()
		return ""
	}
}

// escapeNotifier returns the escape of format (title, body) for the TUI
// to write.
func escapeNotifier(format string) func(title, body string) string {
	return func(title, body string) string { return fmt.Sprintf(format, clean(title), clean(body)) }
}

// clean replaces control characters: none may stand inside an escape.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
