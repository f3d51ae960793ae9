package engine_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/protocol"
)

// TestTLSConfigFromCAFileErrors: a missing file or one without a PEM
// certificate is an invalid-argument error. (The working case is the wss
// test in server/tls_test.go.)
func TestTLSConfigFromCAFileErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("no certificate here"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{filepath.Join(dir, "missing.pem"), junk} {
		if _, err := engine.TLSConfigFromCAFile(f); protocol.CodeOf(err) != protocol.CodeInvalidArgument {
			t.Errorf("%s: %v, want code %d", f, err, protocol.CodeInvalidArgument)
		}
	}
}
