package cmd

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/internal/exit"
)

// newCompletionCmd writes shell completion scripts. Where a user ID is
// expected, the scripts offer the config file's contacts; where a group is
// expected, the server's groups, when the configuration gives an
// administrator userSig or a secret to sign one (asked with a 1 s timeout,
// silently skipped when the server does not answer).
func newCompletionCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:       "completion bash|zsh|fish|powershell",
		Short:     "Print a shell completion script",
		Long:      "Print the completion script of a shell. Contacts from the config file are completed where a user ID is expected, groups where a group is.",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(g.stdout, true)
			case "zsh":
				return root.GenZshCompletion(g.stdout)
			case "fish":
				return root.GenFishCompletion(g.stdout, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(g.stdout)
			}
			return exit.Usagef("unknown shell %q: want bash, zsh, fish or powershell", args[0])
		}),
	}
	return c
}

// completeUsers completes user IDs from the contacts, leaving out those
// already on the command line.
func (g *globals) completeUsers(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	users := g.contactNames(cmd)
	var out []string
	for _, u := range users {
		if strings.HasPrefix(u, toComplete) && !slices.Contains(args, u) {
			out = append(out, u)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeGroups completes group IDs.
func (g *globals) completeGroups(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	var groups []string
	if cl, err := g.adminClient(cmd); err == nil {
		ctx, cancel := context.WithTimeout(cmd.Context(), time.Second)
		if gs, err := cl.Groups(ctx); err == nil {
			for _, gr := range gs {
				if !slices.Contains(groups, gr.GroupID) {
					groups = append(groups, gr.GroupID)
				}
			}
		}
		cancel()
	}
	var out []string
	for _, gr := range groups {
		if strings.HasPrefix(gr, toComplete) {
			out = append(out, gr)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// contactNames returns the config file's contacts (user IDs).
func (g *globals) contactNames(cmd *cobra.Command) []string {
	cfg, err := g.config(cmd)
	if err != nil {
		return nil
	}
	return cfg.Contacts
}

// addCompletions wires the completion functions into the commands that
// take user IDs and groups.
func (g *globals) addCompletions(root *cobra.Command) {
	for _, c := range root.Commands() {
		if c.Name() == "call" || c.Name() == "groupcall" {
			c.ValidArgsFunction = g.completeUsers
		}
		if c.Flags().Lookup("group") != nil {
			_ = c.RegisterFlagCompletionFunc("group", g.completeGroups)
		}
		for _, sub := range c.Commands() {
			if f := g.subcommandArgs(c.Name(), sub.Name()); f != nil {
				sub.ValidArgsFunction = f
			}
		}
	}
	_ = root.RegisterFlagCompletionFunc("user", g.completeUsers)
}

// subcommandArgs completes the arguments of subcommand sub of group and
// user: a group then users (group show, delete, add, remove), a new
// group's name then users (group create), users (every user subcommand).
func (g *globals) subcommandArgs(parent, sub string) cobra.CompletionFunc {
	switch {
	case parent == "user":
		return g.completeUsers
	case parent != "group":
		return nil
	case sub == "show" || sub == "delete" || sub == "add" || sub == "remove":
		return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return g.completeGroups(cmd, args, toComplete)
			}
			return g.completeUsers(cmd, args, toComplete)
		}
	case sub == "create":
		return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return g.completeUsers(cmd, args, toComplete)
		}
	}
	return nil
}
