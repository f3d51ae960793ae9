package cmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/internal/demo"
)

func newDemoCmd(g *globals) *cobra.Command {
	var f tuiFlags
	c := &cobra.Command{
		Use:   "demo",
		Short: "Try termcall: an embedded server, four bots and the TUI",
		Long: joinLines(
			"Start a call server on 127.0.0.1 (in a temporary directory, with the",
			"development secret), log in four bots and open the TUI as \"me\":",
			"",
			"  echo   answers and sends back what it hears",
			"  alice  answers after 2 s",
			"  bob    rejects",
			"  carol  is busy (ignores the call)",
			"",
			"All five are in group \"demo\": dial \"group:demo alice bob carol\", or",
			"several names at once. Everything stops when you quit. Without a sound",
			"card it still works; the status line says you will hear nothing.",
		),
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error { return g.runDemo(cmd, &f) }),
	}
	f.add(c.Flags())
	return c
}

// runDemo starts the demo's server and bots, then the TUI as "me" on it.
func (g *globals) runDemo(cmd *cobra.Command, f *tuiFlags) error {
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	cfg, err := g.config(cmd)
	if err != nil {
		return err
	}
	log, closeLog, err := g.tuiLogger(cfg)
	if err != nil {
		return err
	}
	defer closeLog()
	url, stop, err := demo.Start(ctx, cfg.SDKAppID, demo.Secret, log)
	if err != nil {
		return err
	}
	defer stop()
	return g.runTUI(cmd, f, tuiSetup{
		apply: func(c *config.Config) {
			c.Server, c.User, c.UserSig, c.Secret, c.MultiDevice = url, demo.User, "", demo.Secret, false
			c.Contacts = []string{"echo", "alice", "bob", "carol"}
		},
		contacts:     []string{"group:demo alice bob carol"},
		defaultGroup: demo.Group,
		notice:       "demo server at " + url,
	})
}
