package control

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCommandsHaveHandlers: the command list people see (Commands, in
// `termcall ctl --help` and the unknown-command error) names exactly the
// commands that run.
func TestCommandsHaveHandlers(t *testing.T) {
	var listed []string
	for _, c := range Commands {
		listed = append(listed, strings.Fields(c)[0])
	}
	var handled []string
	for name := range handlers {
		handled = append(handled, name)
	}
	slices.Sort(listed)
	slices.Sort(handled)
	if diff := cmp.Diff(listed, handled); diff != "" {
		t.Errorf("Commands (-) and handlers (+) differ:\n%s", diff)
	}
}
