package cmd

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/internal/history"
	"github.com/termcall/termcall/protocol"
)

// loginOnce logs in for a one-shot command; the caller closes the session.
func (g *globals) loginOnce(cmd *cobra.Command) (*session, string, error) {
	cfg, err := g.config(cmd)
	if err != nil {
		return nil, "", err
	}
	if err := validate(cfg); err != nil {
		return nil, "", err
	}
	if err := requireUser(cfg); err != nil {
		return nil, "", err
	}
	sig, err := userSigFor(cfg, cfg.User, cfg.UserSig)
	if err != nil {
		return nil, "", err
	}
	log, closeLog, err := g.logger(cfg, slog.LevelWarn)
	if err != nil {
		return nil, "", err
	}
	sess, err := newSession(cfg, log)
	if err != nil {
		closeLog()
		return nil, "", err
	}
	sess.closeLog = closeLog
	if err := sess.init(cmd.Context(), cfg, sig); err != nil {
		sess.close()
		return nil, "", exit.Wrap(err)
	}
	return sess, cfg.User, nil
}

func newHistoryCmd(g *globals) *cobra.Command {
	var (
		result string
		limit  int
	)
	c := &cobra.Command{
		Use:   "history [--result missed|incoming|outgoing] [--limit N]",
		Short: "List your recent calls",
		Long: joinLines(
			"List --user's call records, newest first: time, result, peers, media,",
			"duration, end reason and call ID. With --json, one record per line.",
		),
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error { return g.runHistory(cmd, result, limit) }),
	}
	c.Flags().StringVar(&result, "result", "", "only records with this result: missed, incoming or outgoing")
	c.Flags().IntVar(&limit, "limit", 0, "at most this many records (default: the server's)")
	c.AddCommand(g.newHistoryDeleteCmd())
	return c
}

// runHistory lists the call records.
func (g *globals) runHistory(cmd *cobra.Command, result string, limit int) error {
	rt, err := protocol.ParseResultType(result)
	if err != nil {
		return exit.With(exit.Usage, err)
	}
	if limit < 0 {
		return exit.Usagef("--limit must not be negative")
	}
	sess, self, err := g.loginOnce(cmd)
	if err != nil {
		return err
	}
	defer sess.close()
	recs, err := sess.eng.QueryRecentCalls(cmd.Context(), engine.RecentCallsFilter{Result: rt, Limit: limit})
	if err != nil {
		return err
	}
	if g.json {
		for _, r := range recs {
			b, _ := json.Marshal(r)
			g.line(b)
		}
		return nil
	}
	if len(recs) == 0 {
		fmt.Fprintln(g.stderr, "no calls")
		return nil
	}
	return history.WriteTable(g.stdout, recs, self, nil)
}

// newHistoryDeleteCmd is history delete.
func (g *globals) newHistoryDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete CALLID...",
		Short: "Delete call records (for you only)",
		Args:  cobra.MinimumNArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			for _, id := range args {
				if err := protocol.ValidateCallID(id); err != nil {
					return exit.With(exit.Usage, err)
				}
			}
			sess, _, err := g.loginOnce(cmd)
			if err != nil {
				return err
			}
			defer sess.close()
			deleted, err := sess.eng.DeleteRecordCalls(cmd.Context(), args)
			if err != nil {
				return err
			}
			if g.json {
				b, _ := json.Marshal(map[string]any{"deleted": deleted})
				g.line(b)
			} else {
				fmt.Fprintf(g.stderr, "deleted %d of %d records\n", len(deleted), len(args))
			}
			if len(deleted) < len(args) {
				return exit.Silently(exit.Failure)
			}
			return nil
		}),
	}
}
