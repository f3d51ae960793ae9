package cmd

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/usersig"
)

func newUserSigCmd(g *globals) *cobra.Command {
	var expire time.Duration
	c := &cobra.Command{
		Use:   "usersig --sdkappid N --secret KEY --user ID [--expire 24h]",
		Short: "Print a userSig signed with the application's secret key",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			cfg, err := g.config(cmd)
			if err != nil {
				return err
			}
			if cfg.User == "" {
				return exit.Usagef("usersig needs --user")
			}
			if err := protocol.ValidateUserID(cfg.User); err != nil {
				return exit.With(exit.Usage, err)
			}
			if cfg.Secret == "" {
				return exit.Usagef("usersig needs --secret (or TERMCALL_SECRET)")
			}
			if cfg.SDKAppID == 0 {
				return exit.Usagef("usersig needs a non-zero --sdkappid")
			}
			if expire <= 0 {
				return exit.Usagef("--expire must be positive")
			}
			sig, err := usersig.Gen(cfg.SDKAppID, cfg.Secret, cfg.User, expire)
			if err != nil {
				return exit.With(exit.Usage, err)
			}
			fmt.Fprintln(g.stdout, sig)
			return nil
		}),
	}
	c.Flags().DurationVar(&expire, "expire", 24*time.Hour, "lifetime of the userSig")
	return c
}
