package cmd

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/protocol"
)

// Version is termcall's version, set at build time with
// -ldflags "-X github.com/termcall/termcall/cmd.Version=v1.2.3".
var Version = "dev"

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print termcall's version",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if g.json {
				b, _ := json.Marshal(map[string]any{"version": Version, "revision": revision(),
					"protocol": protocol.Version, "go": runtime.Version()})
				g.line(b)
				return nil
			}
			fmt.Fprintln(g.stdout, versionLine())
			return nil
		}),
	}
}

// revision is the VCS revision the binary was built from, if known.
func revision() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return s.Value[:12]
			}
		}
	}
	return ""
}

// versionLine is what `termcall version` and `termcall --version` print.
func versionLine() string {
	v := Version
	if rev := revision(); rev != "" {
		v += " (" + rev + ")"
	}
	return fmt.Sprintf("termcall %s, protocol %d, %s %s/%s", v, protocol.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
