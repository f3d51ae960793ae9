package cmd_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestServeDataDirLocked: a second serve on the same --data directory exits
// 1 with a message naming the process that owns it.
func TestServeDataDirLocked(t *testing.T) {
	dir := t.TempDir()
	first := start(t, "", true, "serve", "--listen", "127.0.0.1:0", "--data", dir, "--no-media")
	first.waitLine(t, "termcall serve listening on ")
	r := run(t, "", "serve", "--listen", "127.0.0.1:0", "--data", dir, "--no-media")
	want := fmt.Sprintf("pid %d", first.cmd.Process.Pid)
	if r.code != 1 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, dir) || strings.Contains(r.stderr, "--help") {
		t.Errorf("second serve on %s: exit %d, stderr:\n%s\nwant exit 1 and a message naming %q and the directory", dir, r.code, r.stderr, want)
	}
}
