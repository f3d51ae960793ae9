package audiotest

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// Pinned fails t unless the file name (in the test's directory) has the
// sha256 its name.sha256 pins: a committed build fetched from a package
// (a swapped or truncated file fails there, not in a call).
func Pinned(t testing.TB, name string) {
	t.Helper()
	bin, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(name + ".sha256")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	if got := hex.EncodeToString(sum[:]); got != strings.TrimSpace(string(want)) {
		t.Errorf("%s sha256 %s, pinned %s", name, got, strings.TrimSpace(string(want)))
	}
}
