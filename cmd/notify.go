package cmd

import (
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// desktopNotifier returns how this terminal session shows a desktop
// notification: notify-send on a Linux desktop, else the notification
// escape of terminals that have one (OSC 99 for kitty, OSC 9 for iTerm2,
// WezTerm, Windows Terminal, ConEmu), returned for the TUI to write, else
// nothing.
func desktopNotifier(getenv func(string) string) func(title, body string) string {
	clean := func(s string) string { // no control characters inside an escape
		return strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return ' '
			}
			return r
		}, s)
	}
	if (getenv("DISPLAY") != "" || getenv("WAYLAND_DISPLAY") != "") && getenv("TMUX") == "" {
		if path, err := exec.LookPath("notify-send"); err == nil {
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
	}
	switch {
	case getenv("TMUX") != "" || getenv("STY") != "":
		return nil // multiplexers swallow or mangle these escapes
	case getenv("KITTY_WINDOW_ID") != "":
		return func(title, body string) string {
			return fmt.Sprintf("\x1b]99;;%s: %s\x1b\\", clean(title), clean(body))
		}
	case getenv("TERM_PROGRAM") == "iTerm.app" || getenv("TERM_PROGRAM") == "WezTerm" ||
		getenv("WT_SESSION") != "" || getenv("ConEmuPID") != "":
		return func(title, body string) string {
			return fmt.Sprintf("\x1b]9;%s: %s\x07", clean(title), clean(body))
		}
	}
	return nil
}
