package tui

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/protocol"
)

// errorText is an error as one status line: its message and code, never a
// dump.
func errorText(err error) string {
	if err == nil {
		return ""
	}
	var e *protocol.Error
	if errors.As(err, &e) {
		msg := e.Message
		if msg == "" {
			msg = e.Code.String()
		}
		return fmt.Sprintf("%s (%d)", firstLine(msg), int(e.Code))
	}
	return firstLine(err.Error())
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// clock formats a duration as mm:ss, or h:mm:ss from an hour.
func clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// truncate cuts s to width cells, with an ellipsis.
func truncate(s string, width int) string {
	if width <= 0 {
		return ""
	}
	if lipgloss.Width(s) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && lipgloss.Width(string(r))+1 > width {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// pad pads s with spaces to width cells (truncating it if longer).
func pad(s string, width int) string {
	s = truncate(s, width)
	if w := lipgloss.Width(s); w < width {
		s += strings.Repeat(" ", width-w)
	}
	return s
}

// bar draws a volume 0..100 as ten cells.
func bar(st Styles, level, cells int) string {
	n := (level*cells + 50) / 100
	n = max(0, min(cells, n))
	return st.BarOn.Render(strings.Repeat("█", n)) + st.BarOff.Render(strings.Repeat("░", cells-n))
}

func mediaName(c *Catalog, m engine.MediaType) string {
	if m == engine.MediaTypeVideo {
		return c.T("media.video")
	}
	return c.T("media.audio")
}

func resultName(c *Catalog, r engine.ResultType) string {
	switch r {
	case engine.ResultMissed:
		return c.T("result.missed")
	case engine.ResultIncoming:
		return c.T("result.incoming")
	case engine.ResultOutgoing:
		return c.T("result.outgoing")
	}
	return c.T("result.unknown")
}

func reasonName(c *Catalog, r engine.EndReason) string {
	if s, ok := c.lookup("reason." + r.String()); ok {
		return s
	}
	return r.String()
}

// target is who a dial string calls: one user, or a group call.
type target struct {
	group string
	users []string
}

func (t target) String() string {
	if t.group == "" {
		return strings.Join(t.users, " ")
	}
	return "group:" + t.group + " " + strings.Join(t.users, " ")
}

// parseTarget reads a dial string: "alice" (1v1), "group:G alice bob"
// (group call), or "alice bob" (a group call in defaultGroup). Commas
// separate like spaces.
func parseTarget(s, defaultGroup string) (target, error) {
	f := strings.Fields(strings.ReplaceAll(s, ",", " "))
	var t target
	for _, w := range f {
		if g, ok := strings.CutPrefix(w, "group:"); ok {
			t.group = g
			continue
		}
		t.users = append(t.users, w)
	}
	if len(t.users) == 0 {
		return t, errNoTarget
	}
	if t.group == "" && len(t.users) > 1 {
		if defaultGroup == "" {
			return t, errNeedGroup
		}
		t.group = defaultGroup
	}
	if t.group != "" {
		if err := protocol.ValidateGroupID(t.group); err != nil {
			return t, err
		}
	}
	for _, u := range t.users {
		if err := protocol.ValidateUserID(u); err != nil {
			return t, err
		}
	}
	return t, nil
}

var (
	errNoTarget  = errors.New("no one to call")
	errNeedGroup = errors.New("several people need a group")
)

// ansiTruncate cuts a styled line to w cells.
func ansiTruncate(s string, w int) string { return ansi.Truncate(s, w, "") }

func itoa(n int) string { return strconv.Itoa(n) }

func stripANSI(s string) string { return ansi.Strip(s) }

func displayWidth(s string) int { return lipgloss.Width(s) }

// joinTarget is the running group call a "join" dial string names: by
// call ID, or by group and room.
type joinTarget struct {
	callID string
	group  string
	room   engine.RoomID
}

func (j joinTarget) String() string {
	if j.callID != "" {
		return j.callID
	}
	room := j.room.StrRoomID
	if j.room.IntRoomID != 0 {
		room = strconv.FormatUint(uint64(j.room.IntRoomID), 10)
	}
	return "group:" + j.group + " room " + room
}

var errJoinSyntax = errors.New("join syntax")

// parseJoin reads what follows "join": "CALLID", or "group:G room N"
// ("room" may be left out). A room of digits is an integer room ID,
// anything else a string room ID.
func parseJoin(s string) (joinTarget, error) {
	f := strings.Fields(s)
	var j joinTarget
	switch {
	case len(f) == 1 && !strings.HasPrefix(f[0], "group:"):
		j.callID = f[0]
		return j, nil
	case len(f) >= 2 && strings.HasPrefix(f[0], "group:"):
		j.group = strings.TrimPrefix(f[0], "group:")
		rest := f[1:]
		if rest[0] == "room" {
			rest = rest[1:]
		}
		if len(rest) != 1 || j.group == "" {
			return j, errJoinSyntax
		}
		if n, err := strconv.ParseUint(rest[0], 10, 32); err == nil && n > 0 {
			j.room = protocol.IntRoom(uint32(n))
		} else {
			j.room = protocol.StrRoom(rest[0])
		}
		if err := protocol.ValidateGroupID(j.group); err != nil {
			return j, err
		}
		return j, nil
	}
	return j, errJoinSyntax
}

// isJoin says whether a dial string joins a running call.
func isJoin(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "join" {
		return "", true
	}
	rest, ok := strings.CutPrefix(s, "join ")
	return rest, ok
}

// editLine applies a key to the text of a one-line box: backspace, space
// and printable text edit it; ctrl+u empties it where clear is allowed.
// Other keys leave it as it is.
func editLine(buf []rune, k tea.KeyPressMsg, clear bool) []rune {
	switch k.String() {
	case "backspace":
		if len(buf) > 0 {
			return buf[:len(buf)-1]
		}
	case "ctrl+u":
		if clear {
			return nil
		}
	case "space":
		return append(buf, ' ')
	default:
		if k.Text != "" && k.Mod&^tea.ModShift == 0 {
			return append(buf, []rune(k.Text)...)
		}
	}
	return buf
}
