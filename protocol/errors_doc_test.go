package protocol

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestErrorsDoc keeps docs/errors.md in step with the codes defined here:
// every code must have a row with its Go constant name, and every row must
// name a defined code.
func TestErrorsDoc(t *testing.T) {
	doc, err := os.ReadFile("../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("errors.go")
	if err != nil {
		t.Fatal(err)
	}

	// Constant names by value, from the source, so the doc's names are
	// checked too.
	names := map[Code]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s*(Code\w+)\s+Code\s*=\s*(\d+)`).FindAllStringSubmatch(string(src), -1) {
		n, _ := strconv.Atoi(m[2])
		names[Code(n)] = m[1]
	}
	codes := Codes()
	if len(names) != len(codes) {
		t.Errorf("errors.go declares %d codes, Codes() returns %d", len(names), len(codes))
	}

	section, ok := errorCodeSection(string(doc))
	if !ok {
		t.Fatal(`docs/errors.md has no "## Error codes" section`)
	}
	seen := map[Code]bool{}
	for _, line := range strings.Split(section, "\n") {
		cells := tableCells(line)
		if len(cells) < 2 {
			continue
		}
		n, err := strconv.Atoi(cells[0])
		if err != nil {
			continue // header or separator row
		}
		c := Code(n)
		name := strings.Trim(cells[1], "`")
		switch {
		case seen[c]:
			t.Errorf("docs/errors.md lists %d twice", n)
		case codes[c] == "":
			t.Errorf("docs/errors.md lists %d (%s), which protocol does not define", n, name)
		case names[c] != "" && name != names[c]:
			t.Errorf("docs/errors.md names %d %q, want %q", n, name, names[c])
		}
		seen[c] = true
	}
	for c := range codes {
		if !seen[c] {
			t.Errorf("docs/errors.md has no row for %d (%s, %q)", int(c), names[c], c)
		}
	}
}

// errorCodeSection returns the text from the "## Error codes" heading to
// the next level-two heading.
func errorCodeSection(doc string) (string, bool) {
	_, rest, ok := strings.Cut(doc, "\n## Error codes\n")
	if !ok {
		return "", false
	}
	if i := strings.Index(rest, "\n## "); i >= 0 {
		rest = rest[:i]
	}
	return rest, true
}

// tableCells splits a Markdown table row into trimmed cells; it returns
// nil for other lines.
func tableCells(line string) []string {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "|") {
		return nil
	}
	parts := strings.Split(strings.Trim(line, "|"), "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}
