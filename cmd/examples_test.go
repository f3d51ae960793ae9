package cmd

import (
	"io"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHasExamples: each command's help has an Examples:
// section, and no example is left for a command that does not exist.
func TestEveryCommandHasExamples(t *testing.T) {
	root := newRoot(&globals{stdout: io.Discard, stderr: io.Discard})
	paths := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		paths[c.CommandPath()] = true
		if c.Example == "" {
			t.Errorf("%q has no examples (cmd/examples.go)", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	for p := range examples {
		if !paths[p] {
			t.Errorf("cmd/examples.go has examples for %q, which is not a command", p)
		}
	}
}
