package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/internal/admin"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/protocol"
)

// adminClient builds a client for the admin REST API with an administrator
// userSig: --usersig, else one signed with --secret for serve.admin_user.
func (g *globals) adminClient(cmd *cobra.Command) (*admin.Client, error) {
	cfg, err := g.config(cmd)
	if err != nil {
		return nil, err
	}
	if err := validate(cfg); err != nil {
		return nil, err
	}
	base, err := config.HTTPURL(cfg.Server)
	if err != nil {
		return nil, exit.With(exit.Usage, err)
	}
	sig, err := userSigFor(cfg, cfg.Serve.AdminUser, cfg.UserSig)
	if err != nil {
		return nil, err
	}
	tc, err := clientTLS(cfg)
	if err != nil {
		return nil, err
	}
	var hc *http.Client
	if tc != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tc
		hc = &http.Client{Transport: tr}
	}
	return &admin.Client{BaseURL: base, UserSig: sig, HTTP: hc}, nil
}

const adminHelp = `
These commands use the server's admin REST API with an administrator userSig:
--usersig, or one signed with --secret for the administrator identifier
("administrator", or serve.admin_user in the config file).`

func validUsers(ids []string) error {
	for _, id := range ids {
		if err := protocol.ValidateUserID(id); err != nil {
			return exit.With(exit.Usage, err)
		}
	}
	return nil
}

func validGroup(id string) error {
	if err := protocol.ValidateGroupID(id); err != nil {
		return exit.With(exit.Usage, err)
	}
	return nil
}

// printGroup prints a group as JSON or a line.
func (g *globals) printGroup(gr admin.Group) {
	if g.json {
		b, _ := json.Marshal(gr)
		g.line(b)
		return
	}
	fmt.Fprintln(g.stdout, gr.String())
}

func newGroupCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "group",
		Short: "Manage groups (admin)",
		Long:  "Create, list and change the groups group calls are placed in." + adminHelp,
	}
	add := g.membersCmd("add G USER...", "Add members to a group",
		func(ctx context.Context, cl *admin.Client, group string, users []string) (admin.Group, error) {
			return cl.AddMembers(ctx, group, users)
		})
	remove := g.membersCmd("remove G USER...", "Remove members from a group",
		func(ctx context.Context, cl *admin.Client, group string, users []string) (gr admin.Group, err error) {
			for _, u := range users {
				if gr, err = cl.RemoveMember(ctx, group, u); err != nil {
					return gr, err
				}
			}
			return gr, nil
		})
	c.AddCommand(g.newGroupCreateCmd(), add, remove, g.newGroupListCmd(), g.newGroupShowCmd(), g.newGroupDeleteCmd())
	return c
}

// newGroupCreateCmd is group create.
func (g *globals) newGroupCreateCmd() *cobra.Command {
	var name, owner string
	create := &cobra.Command{
		Use:   "create G [--name N] [MEMBER...]",
		Short: "Create a group",
		Args:  cobra.MinimumNArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := validGroup(args[0]); err != nil {
				return err
			}
			if err := validUsers(args[1:]); err != nil {
				return err
			}
			if owner != "" {
				if err := validUsers([]string{owner}); err != nil {
					return err
				}
			}
			cl, err := g.adminClient(cmd)
			if err != nil {
				return err
			}
			gr, err := cl.CreateGroup(cmd.Context(), admin.Group{GroupID: args[0], Name: name, Owner: owner, Members: args[1:]})
			if err != nil {
				return err
			}
			g.printGroup(gr)
			return nil
		}),
	}
	create.Flags().StringVar(&name, "name", "", "the group's name")
	create.Flags().StringVar(&owner, "owner", "", "the group's owner (also a member)")

	return create
}

// newGroupListCmd is group list.
func (g *globals) newGroupListCmd() *cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "List groups",
		Args:  cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			cl, err := g.adminClient(cmd)
			if err != nil {
				return err
			}
			groups, err := cl.Groups(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				for _, gr := range groups {
					g.printGroup(gr)
				}
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "GROUP\tNAME\tOWNER\tMEMBERS")
			for _, gr := range groups {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", gr.GroupID, gr.Name, gr.Owner, len(gr.Members))
			}
			return tw.Flush()
		}),
	}
	return list
}

// newGroupShowCmd is group show.
func (g *globals) newGroupShowCmd() *cobra.Command {
	show := &cobra.Command{
		Use:   "show G",
		Short: "Show a group and its members",
		Args:  cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := validGroup(args[0]); err != nil {
				return err
			}
			cl, err := g.adminClient(cmd)
			if err != nil {
				return err
			}
			gr, err := cl.Group(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			g.printGroup(gr)
			return nil
		}),
	}
	return show
}

// newGroupDeleteCmd is group delete.
func (g *globals) newGroupDeleteCmd() *cobra.Command {
	del := &cobra.Command{
		Use:   "delete G",
		Short: "Delete a group",
		Args:  cobra.ExactArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := validGroup(args[0]); err != nil {
				return err
			}
			cl, err := g.adminClient(cmd)
			if err != nil {
				return err
			}
			return cl.DeleteGroup(cmd.Context(), args[0])
		}),
	}
	return del
}

func newUserCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "user",
		Short: "Manage users (admin)",
		Long:  "Register users so they can be called before they ever logged in." + adminHelp,
	}
	c.AddCommand(&cobra.Command{
		Use:   "add USER...",
		Short: "Register users",
		Args:  cobra.MinimumNArgs(1),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := validUsers(args); err != nil {
				return err
			}
			cl, err := g.adminClient(cmd)
			if err != nil {
				return err
			}
			if err := cl.AddUsers(cmd.Context(), args); err != nil {
				return err
			}
			if g.json {
				b, _ := json.Marshal(map[string]any{"userIds": args})
				g.line(b)
			} else {
				fmt.Fprintf(g.stderr, "added %d users\n", len(args))
			}
			return nil
		}),
	})
	return c
}

// membersCmd is `group add` / `group remove`: G USER..., checked, applied
// through the admin API, and the group printed.
func (g *globals) membersCmd(use, short string,
	apply func(ctx context.Context, cl *admin.Client, group string, users []string) (admin.Group, error)) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.MinimumNArgs(2),
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if err := validGroup(args[0]); err != nil {
				return err
			}
			if err := validUsers(args[1:]); err != nil {
				return err
			}
			cl, err := g.adminClient(cmd)
			if err != nil {
				return err
			}
			gr, err := apply(cmd.Context(), cl, args[0], args[1:])
			if err != nil {
				return err
			}
			g.printGroup(gr)
			return nil
		}),
	}
}
