package cmd_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestVersionFlag(t *testing.T) {
	t.Parallel()
	a, b := run(t, "", "--version"), run(t, "", "version")
	if a.code != 0 || a.stdout != b.stdout || !strings.HasPrefix(a.stdout, "termcall ") {
		t.Errorf("--version: %d %q; version: %q", a.code, a.stdout, b.stdout)
	}
}

func TestCompletionScripts(t *testing.T) {
	t.Parallel()
	for shell, marker := range map[string]string{"bash": "__termcall_", "zsh": "#compdef termcall", "fish": "complete -c termcall", "powershell": "Register-ArgumentCompleter"} {
		r := run(t, "", "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, marker) {
			t.Errorf("completion %s: exit %d, no %q in %d bytes; stderr %s", shell, r.code, marker, len(r.stdout), r.stderr)
		}
	}
	if r := run(t, "", "completion", "tcsh"); r.code != 2 {
		t.Errorf("completion tcsh: exit %d, want 2 (usage)", r.code)
	}
}

// completions asks the completion machinery, as the shell scripts do.
func completions(t *testing.T, server string, args ...string) []string {
	t.Helper()
	r := run(t, server, append([]string{"__complete"}, args...)...)
	if r.code != 0 {
		t.Fatalf("__complete %v: exit %d: %s", args, r.code, r.stderr)
	}
	var out []string
	for _, l := range strings.Split(r.stdout, "\n") {
		if l != "" && !strings.HasPrefix(l, ":") {
			out = append(out, strings.SplitN(l, "\t", 2)[0])
		}
	}
	slices.Sort(out)
	return out
}

func TestCompletesContactsAndGroups(t *testing.T) {
	t.Parallel()
	srv := startServer(t, "--secret", secret)
	for _, gr := range []string{"ops", "team"} {
		if r := run(t, srv, "group", "create", gr, "alice", "bob"); r.code != 0 {
			t.Fatalf("group create: %d %s", r.code, r.stderr)
		}
	}
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, []byte("contacts: [bob, carol, dave]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, want := completions(t, srv, "--config", cfg, "call", ""), []string{"bob", "carol", "dave"}; !slices.Equal(got, want) {
		t.Errorf("call <TAB>: %v, want %v", got, want)
	}
	if got, want := completions(t, srv, "--config", cfg, "groupcall", "--group", "team", "bob", ""), []string{"carol", "dave"}; !slices.Equal(got, want) {
		t.Errorf("groupcall ... bob <TAB>: %v, want %v (bob is given already)", got, want)
	}
	if got, want := completions(t, srv, "--config", cfg, "groupcall", "--group", ""), []string{"ops", "team"}; !slices.Equal(got, want) {
		t.Errorf("groupcall --group <TAB>: %v, want %v (the server's)", got, want)
	}
	if got, want := completions(t, srv, "--config", cfg, "join", "--group", "o"), []string{"ops"}; !slices.Equal(got, want) {
		t.Errorf("join --group o<TAB>: %v, want %v", got, want)
	}
}

func TestManPages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if r := run(t, "", "man", "--dir", dir); r.code != 0 {
		t.Fatalf("man: %d %s", r.code, r.stderr)
	}
	for _, page := range []string{"termcall.1", "termcall-call.1", "termcall-serve.1", "termcall-group-create.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Error(err)
			continue
		}
		if !strings.Contains(string(b), ".TH \"TERMCALL\" \"1\"") || !strings.Contains(string(b), "EXAMPLE") {
			t.Errorf("%s is not a man page with examples:\n%.300s", page, b)
		}
	}
}
