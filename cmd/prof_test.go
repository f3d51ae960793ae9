package cmd_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProfilingFlags: --cpuprofile and --memprofile work on any command
// and write profiles go tool pprof reads; a path that cannot be written
// is a usage error before the command runs.
func TestProfilingFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "mem.pprof")
	r := run(t, "", "version", "--cpuprofile", cpu, "--memprofile", mem)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "termcall ") {
		t.Fatalf("version with profiles: %d %q %q", r.code, r.stdout, r.stderr)
	}
	for _, f := range []string{cpu, mem} {
		b, err := os.ReadFile(f)
		if err != nil || len(b) < 20 || !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			t.Errorf("%s: %d bytes, err %v; want a gzipped pprof profile", filepath.Base(f), len(b), err)
		}
	}
	r = run(t, "", "version", "--cpuprofile", filepath.Join(dir, "missing", "cpu.pprof"))
	if r.code != 2 || !strings.Contains(r.stderr, "CPU profile") || r.stdout != "" {
		t.Errorf("unwritable profile: %d %q %q; want exit 2 and no output", r.code, r.stdout, r.stderr)
	}
}
