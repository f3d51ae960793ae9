package cmd_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBlurFlag: --blur out of 0..3 is a usage error before anything is
// placed, on each command that has it; so is video.blur in the config.
func TestBlurFlag(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"call", "bob", "--user", "alice", "--blur", "4"},
		{"groupcall", "bob", "carol", "--group", "g1", "--user", "alice", "--blur", "-1"},
		{"join", "--room", "7", "--group", "g1", "--user", "alice", "--blur", "9"},
		{"tui", "--user", "alice", "--blur", "4"},
	} {
		r := run(t, "", args...)
		if r.code != 2 || !strings.Contains(r.stderr, "blur") {
			t.Errorf("%v: exit %d, want 2 and a word about --blur: %s", args, r.code, r.stderr)
		}
	}
}

// TestBackgroundFlagBadPicture: a --background that is not a picture is a
// usage error (exit 2) before any call is placed.
func TestBackgroundFlagBadPicture(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	notPic := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(notPic, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, bg := range []string{notPic, filepath.Join(dir, "missing.png")} {
		args := []string{"call", "bob", "--user", "alice", "--server", "http://127.0.0.1:1", "--no-audio-device",
			"--camera", "pattern:320x180", "--background", bg}
		r := run(t, "", args...)
		if r.code != 2 || !strings.Contains(r.stderr, "background") {
			t.Errorf("--background %s: exit %d, want 2 and a word about --background: %s", filepath.Base(bg), r.code, r.stderr)
		}
	}
}
