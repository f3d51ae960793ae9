package cmd

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/protocol"
)

func newPushCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "push",
		Short: "Register where the server pushes your calls while you are offline",
		Long: joinLines(
			"While none of --user's devices is online, the server pushes each invitation",
			"to the endpoints registered here (at most 5; docs/protocol.md, \"Offline",
			"push\"): a webhook gets a signed JSON POST, an ntfy topic URL",
			"(https://ntfy.sh/mytopic) a notification, a UnifiedPush endpoint the JSON.",
		),
		Example: "  termcall push register https://ntfy.sh/alice-calls-7f3a --kind ntfy --user alice\n" +
			"  termcall push register https://hooks.example.com/termcall --user alice\n" +
			"  termcall push list --user alice",
	}
	c.AddCommand(g.newPushRegisterCmd(), g.newPushUnregisterCmd(), g.newPushListCmd())
	return c
}

// printPushEndpoints prints the push endpoints: JSON lines with --json,
// else a line each.
func (g *globals) printPushEndpoints(eps []engine.PushEndpoint) {
	if g.json {
		for _, e := range eps {
			b, _ := json.Marshal(e)
			g.line(b)
		}
		return
	}
	if len(eps) == 0 {
		fmt.Fprintln(g.stderr, "no push endpoints")
		return
	}
	for _, e := range eps {
		fmt.Fprintf(g.stdout, "%-12s %s  (since %s)\n", e.Kind, e.URL, time.UnixMilli(e.CreatedAt).Format(time.DateTime))
	}
}

// newPushRegisterCmd is push register.
func (g *globals) newPushRegisterCmd() *cobra.Command {
	var kind string
	reg := &cobra.Command{
		Use:   "register URL [--kind webhook|ntfy|unifiedpush]",
		Short: "Register a push endpoint (again: update it)",
		Example: "  termcall push register https://ntfy.sh/alice-calls-7f3a --kind ntfy\n" +
			"  termcall push register https://hooks.example.com/termcall --kind webhook",
		Args: cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if _, err := protocol.ValidatePushEndpoint(args[0], kind); err != nil {
				return exit.With(exit.Usage, err)
			}
			sess, _, err := g.loginOnce(cmd)
			if err != nil {
				return err
			}
			defer sess.close()
			eps, err := sess.eng.RegisterPush(cmd.Context(), args[0], kind)
			if err != nil {
				return err
			}
			g.printPushEndpoints(eps)
			return nil
		}),
	}
	reg.Flags().StringVar(&kind, "kind", "webhook", "webhook (signed JSON POST), ntfy (an ntfy topic URL) or unifiedpush (a UnifiedPush endpoint)")
	return reg
}

// newPushUnregisterCmd is push unregister.
func (g *globals) newPushUnregisterCmd() *cobra.Command {
	unreg := &cobra.Command{
		Use:   "unregister [URL]",
		Short: "Remove a push endpoint (all of them without URL)",
		Example: "  termcall push unregister https://ntfy.sh/alice-calls-7f3a\n" +
			"  termcall push unregister    # all of them",
		Args: cobra.MaximumNArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			url := ""
			if len(args) == 1 {
				url = args[0]
			}
			sess, _, err := g.loginOnce(cmd)
			if err != nil {
				return err
			}
			defer sess.close()
			eps, err := sess.eng.UnregisterPush(cmd.Context(), url)
			if err != nil {
				return err
			}
			g.printPushEndpoints(eps)
			return nil
		}),
	}
	return unreg
}

// newPushListCmd is push list.
func (g *globals) newPushListCmd() *cobra.Command {
	list := &cobra.Command{
		Use:     "list",
		Short:   "List your push endpoints",
		Example: "  termcall push list --user alice\n  termcall push list --json",
		Args:    cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			sess, _, err := g.loginOnce(cmd)
			if err != nil {
				return err
			}
			defer sess.close()
			eps, err := sess.eng.PushEndpoints(cmd.Context())
			if err != nil {
				return err
			}
			g.printPushEndpoints(eps)
			return nil
		}),
	}
	return list
}
