package tui

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// screenText renders the model as a terminal with the given profile would
// show it: colors downsampled (Ascii keeps only bold, reverse and the like).
func screenText(t *testing.T, m *Model, p colorprofile.Profile) string {
	t.Helper()
	var buf bytes.Buffer
	w := colorprofile.NewWriter(&buf, nil)
	w.Profile = p
	if _, err := w.WriteString(m.Render()); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// golden compares the view at a size with testdata/NAME-WxH.golden.
func golden(t *testing.T, h *harness, name string, w, ht int) {
	t.Helper()
	h.send(tea.WindowSizeMsg{Width: w, Height: ht})
	got := screenText(t, h.m, colorprofile.Ascii)
	if n := strings.Count(got, "\n") + 1; n != ht {
		t.Errorf("%s at %dx%d: %d lines, want %d", name, w, ht, n, ht)
	}
	for i, l := range strings.Split(stripANSI(got), "\n") {
		if lw := displayWidth(l); lw > w {
			t.Errorf("%s at %dx%d: line %d is %d cells wide: %q", name, w, ht, i+1, lw, l)
		}
	}
	path := filepath.Join("testdata", name+"-"+itoa(w)+"x"+itoa(ht)+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s at %dx%d differs from %s (-want +got):\n%s", name, w, ht, path, diff)
	}
}

// TestNoColor checks that NO_COLOR gives a screen without colors (only
// bold and reverse), as bubbletea picks the profile from the environment.
func TestNoColor(t *testing.T) {
	p := colorprofile.Env([]string{"TERM=xterm-256color", "NO_COLOR=1"})
	if p > colorprofile.Ascii {
		t.Fatalf("NO_COLOR profile = %v, want Ascii or less", p)
	}
	for _, mk := range []func(*testing.T) *harness{homeScreen, inCallGroup, historyScreen} {
		s := screenText(t, mk(t).m, p)
		if strings.Contains(s, "[38;") || strings.Contains(s, "[48;") {
			t.Errorf("colors with NO_COLOR:\n%q", s)
		}
	}
}
