package cmd

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/termcall/termcall/internal/exit"
)

// newManCmd writes man pages (section 1) generated from the commands:
// termcall.1, termcall-call.1, ... The packaging step runs it.
func newManCmd(g *globals) *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "man [--dir DIR]",
		Short: "Write the man pages of termcall and its commands",
		Long:  "Write one man page (section 1, roff) per command into --dir: termcall.1, termcall-call.1, and so on.",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return exit.With(exit.Failure, err)
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true // reproducible pages
			h := &doc.GenManHeader{Title: "TERMCALL", Section: "1", Source: "termcall " + Version, Manual: "termcall manual"}
			if err := doc.GenManTree(root, h, dir); err != nil {
				return exit.With(exit.Failure, err)
			}
			fmt.Fprintf(g.stderr, "man pages written to %s\n", dir)
			return nil
		}),
	}
	c.Flags().StringVar(&dir, "dir", "man", "directory to write the pages to")
	return c
}
