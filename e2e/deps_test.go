package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencyRule: the core packages stay pure Go and free of the CLI,
// TUI and media libraries (docs/architecture.md, "Packages and the
// dependency rule").
func TestDependencyRule(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	core := []string{"../engine/...", "../server/...", "../protocol/...", "../usersig/...", "../config/..."}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, core...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, banned := range []string{"spf13/cobra", "charm.land", "charmbracelet", "gen2brain/malgo", "pion/mediadevices", "hraban/opus"} {
		for _, dep := range strings.Fields(string(out)) {
			if strings.Contains(dep, banned) {
				t.Errorf("a core package depends on %s", dep)
			}
		}
	}
	cmd := exec.Command("go", append([]string{"build", "-o", "/dev/null"}, core...)...)
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("core packages do not build with CGO_ENABLED=0: %v\n%s", err, out)
	}
}
