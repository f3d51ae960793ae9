package cmd_test

import (
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
