package cmd

import (
	"strings"

	"github.com/spf13/cobra"
)

// examples are the Examples: sections of the commands' help, by command
// path. addExamples sets them; a test checks that every command has one.
var examples = map[string][]string{
	"termcall": {
		"# open the softphone as alice (a development secret signs her userSig)",
		"termcall --user alice --secret termcall-dev-secret",
		"# try everything locally: an embedded server, bots and the TUI",
		"termcall demo",
	},
	"termcall tui": {
		"termcall tui --user alice --secret termcall-dev-secret",
		"termcall tui --server https://call.example.com --user alice --usersig \"$SIG\" --lang ja_JP",
	},
	"termcall demo": {"termcall demo"},
	"termcall call": {
		"# a 1v1 audio call; exits 0 when it ends normally, 3 rejected, 4 busy, 5 no answer",
		"termcall call bob --user alice --secret termcall-dev-secret",
		"# a scripted 10 s video call sending a tone, with the events as NDJSON",
		"termcall call bob --video --play tone:440 --duration 10s --json",
	},
	"termcall groupcall": {
		"termcall groupcall --group team bob carol --user alice --secret termcall-dev-secret",
		"termcall groupcall --group team bob carol --room 42 --timeout 60s",
	},
	"termcall join": {
		"termcall join --group team --room 42 --user dave --secret termcall-dev-secret",
		"termcall join --call-id 3f2a9c0d1e4b5a6f7081 --user dave",
	},
	"termcall bot": {
		"# answer every call after 1 s and play a tone",
		"termcall bot --user echo --secret termcall-dev-secret --answer-delay 1s --play tone:1000",
		"# a bot that is always busy, for testing callers",
		"termcall bot --user busybot --mode busy",
	},
	"termcall serve": {
		"# a development server on 127.0.0.1:7480",
		"termcall serve --secret termcall-dev-secret",
		"# in production: TLS, a public media address and PostgreSQL",
		"termcall serve --listen 0.0.0.0:443 --tls-cert cert.pem --tls-key key.pem --public-ip 203.0.113.7 --udp-port 7882 --database postgres://termcall@db/termcall",
		"# a cluster node",
		"termcall serve --nats nats://nats:4222 --node-id node-1 --database postgres://termcall@db/termcall",
	},
	"termcall usersig": {
		"termcall usersig --sdkappid 1400000001 --secret termcall-dev-secret --user alice",
		"termcall usersig --user alice --expire 720h --json",
	},
	"termcall history": {
		"termcall history --user alice --secret termcall-dev-secret",
		"termcall history --result missed --limit 10 --json",
	},
	"termcall history delete": {"termcall history delete 3f2a9c0d1e4b5a6f7081 --user alice"},
	"termcall group": {
		"termcall group create team --name \"The team\" alice bob carol --secret termcall-dev-secret",
		"termcall group list",
	},
	"termcall group create": {"termcall group create team --name \"The team\" --owner alice alice bob carol"},
	"termcall group list":   {"termcall group list --json"},
	"termcall group show":   {"termcall group show team"},
	"termcall group delete": {"termcall group delete team"},
	"termcall group add":    {"termcall group add team dave erin"},
	"termcall group remove": {"termcall group remove team dave"},
	"termcall user":         {"termcall user add bob carol --secret termcall-dev-secret"},
	"termcall user add":     {"termcall user add bob carol"},
	"termcall devices":      {"termcall devices", "termcall devices --json"},
	"termcall selftest":     {"termcall selftest", "termcall selftest --mic \"USB Headset\" --speaker \"USB Headset\""},
	"termcall bench":        {"termcall bench", "termcall bench --calls 20 --json"},
	"termcall version":      {"termcall version", "termcall version --json"},
	"termcall loadtest": {
		"# 50 concurrent 1v1 audio calls against a local server for 30 s",
		"termcall loadtest --server http://127.0.0.1:7480 --secret termcall-dev-secret --calls 50",
		"# 200 calls, 20 new ones a second, over 2 worker processes, as JSON",
		"termcall loadtest --calls 200 --rate 20 --workers 2 --duration 1m --json",
	},
	"termcall completion": {
		"# bash, for this shell",
		"source <(termcall completion bash)",
		"# bash, for good",
		"termcall completion bash > /etc/bash_completion.d/termcall",
		"# zsh",
		"termcall completion zsh > \"${fpath[1]}/_termcall\"",
		"# fish",
		"termcall completion fish > ~/.config/fish/completions/termcall.fish",
	},
	"termcall man": {
		"termcall man --dir /usr/local/share/man/man1",
		"man -l termcall-call.1",
	},
}

// addExamples sets the Examples: section of every command that has one.
func addExamples(c *cobra.Command) {
	if ex, ok := examples[c.CommandPath()]; ok && c.Example == "" {
		c.Example = "  " + strings.Join(ex, "\n  ")
	}
	for _, sub := range c.Commands() {
		addExamples(sub)
	}
}
