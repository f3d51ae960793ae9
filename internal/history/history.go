// Package history formats call records for `termcall history`.
package history

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/termcall/termcall/engine"
)

// Peers returns the other people of a record from self's view: the callees
// for the caller, the caller (and other callees) for a callee.
func Peers(r engine.CallRecord, self string) []string {
	var out []string
	if r.Inviter != "" && r.Inviter != self {
		out = append(out, r.Inviter)
	}
	for _, id := range r.InviteList {
		if id != self && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// Direction names a record's direction and result: "outgoing", "incoming",
// "missed", with "(group)" for group calls.
func Direction(r engine.CallRecord) string {
	d := r.Result.String()
	if r.Result == engine.ResultUnknown {
		switch r.Role {
		case engine.RoleCaller:
			d = "outgoing"
		case engine.RoleCalled:
			d = "incoming"
		}
	}
	if r.Live {
		d += " (live)"
	}
	return d
}

// FormatDuration writes seconds as m:ss or h:mm:ss.
func FormatDuration(sec int64) string {
	if sec < 0 {
		sec = 0
	}
	h, m, s := sec/3600, sec/60%60, sec%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// WriteTable writes records as an aligned table in loc (nil = local time).
func WriteTable(w io.Writer, recs []engine.CallRecord, self string, loc *time.Location) error {
	if loc == nil {
		loc = time.Local
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tRESULT\tPEERS\tMEDIA\tDURATION\tEND REASON\tCALL ID")
	for _, r := range recs {
		peers := strings.Join(Peers(r, self), ",")
		if r.GroupID != "" {
			peers = r.GroupID + ":" + peers
		}
		if peers == "" {
			peers = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			time.Unix(r.BeginTime, 0).In(loc).Format("2006-01-02 15:04:05"),
			Direction(r), peers, r.MediaType, FormatDuration(r.TotalTime), r.EndReason, r.CallID)
	}
	return tw.Flush()
}
