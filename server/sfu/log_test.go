package sfu

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recordHandler is a slog handler that keeps what it is given.
type recordHandler struct {
	mu    *sync.Mutex
	level slog.Level
	recs  *[]slog.Record
	attrs []slog.Attr
}

func newRecordHandler(level slog.Level) *recordHandler {
	return &recordHandler{mu: &sync.Mutex{}, level: level, recs: &[]slog.Record{}}
}

func (h *recordHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(h.attrs...)
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.recs = append(*h.recs, r)
	return nil
}
func (h *recordHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), as...)
	return &c
}
func (h *recordHandler) WithGroup(string) slog.Handler { return h }

func (h *recordHandler) records() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record{}, *h.recs...)
}

func attr(r slog.Record, key string) string {
	var v string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == key {
			v = a.Value.String()
			return false
		}
		return true
	})
	return v
}

// TestPionFilterRateLimits: 1,000 identical pion warnings make a handful of
// lines and one summary with the count of the others.
func TestPionFilterRateLimits(t *testing.T) {
	h := newRecordHandler(slog.LevelInfo)
	f := newPionLoggerFactory(slog.New(h))
	l := f.NewLogger("ice")
	for i := range 1000 {
		l.Warnf("Failed to get local interfaces: %v", i)
	}
	f.stop() // ends the interval now: the summary comes out
	recs := h.records()
	var lines, summaries int
	var suppressed string
	for _, r := range recs {
		switch {
		case strings.HasPrefix(r.Message, "Failed to get local interfaces"):
			lines++
			if r.Level != slog.LevelInfo {
				t.Errorf("pion warning logged at %v, want INFO", r.Level)
			}
		case r.Message == "suppressed similar messages":
			summaries++
			suppressed = attr(r, "suppressed")
			if got := attr(r, "pion"); got != "ice" {
				t.Errorf("summary scope %q, want ice", got)
			}
			if got := attr(r, "template"); got != "Failed to get local interfaces: %v" {
				t.Errorf("summary template %q", got)
			}
		default:
			t.Errorf("unexpected line %q", r.Message)
		}
	}
	if diff := cmp.Diff([]any{pionBurst, 1, "995"}, []any{lines, summaries, suppressed}); diff != "" {
		t.Errorf("lines, summaries, suppressed count (-want +got):\n%s", diff)
	}
}

// TestPionFilterDemotes: what one packet from anyone can cause, and what
// every PeerConnection prints as it closes, is debug, not info.
func TestPionFilterDemotes(t *testing.T) {
	h := newRecordHandler(slog.LevelInfo)
	f := newPionLoggerFactory(slog.New(h))
	defer f.stop()
	l := f.NewLogger("ice-mux")
	for range 100 {
		l.Warnf("Failed to handle decode ICE from %s: %v", "203.0.113.9:4000", "bad attribute")
		l.Warnf("No Username attribute in STUN message from %s", "203.0.113.9:4000")
		l.Warnf("Discard message from (%s), unknown TransactionID 0x%x", "203.0.113.9:4000", 7)
	}
	pc := f.NewLogger("pc")
	pc.Warnf("Could not determine PayloadType for SSRC %d (%s)", 1, "EOF")
	pc.Warnf("Failed to accept RTP %v", "stream is already closed")
	pc.Warnf("Failed to accept RTCP %v", "stream is already closed")
	f.NewLogger("mux").Warnf("Warning: mux: no endpoint for packet starting with %d, adding to queue size(%d)", 129, 0)
	f.NewLogger("ice").Warnf("Failed to read from candidate %s: %v", "udp4 host", "io: read/write on closed pipe")
	f.NewLogger("ice-mux").Errorf("Failed to write packet: %v", "io: read/write on closed pipe")
	if recs := h.records(); len(recs) != 0 {
		t.Errorf("%d lines at info, want none; first: %q", len(recs), recs[0].Message)
	}

	// At debug they are there, still rate-limited.
	h = newRecordHandler(slog.LevelDebug)
	f2 := newPionLoggerFactory(slog.New(h))
	l = f2.NewLogger("ice-mux")
	for range 100 {
		l.Warnf("Failed to handle decode ICE from %s: %v", "203.0.113.9:4000", "bad attribute")
	}
	f2.stop()
	recs := h.records()
	if len(recs) != pionBurst+1 {
		t.Fatalf("%d lines at debug, want %d and a summary", len(recs), pionBurst)
	}
	for _, r := range recs {
		if r.Level != slog.LevelDebug {
			t.Errorf("%q at %v, want DEBUG", r.Message, r.Level)
		}
	}
}

func TestSeqGaps(t *testing.T) {
	for _, tc := range []struct {
		name string
		seqs []uint16
		lost int
	}{
		{"in order", []uint16{1, 2, 3, 4}, 0},
		{"two missing", []uint16{1, 2, 5, 6}, 2},
		{"wraps", []uint16{65534, 65535, 0, 2}, 1},
		{"reordered late packet adds nothing", []uint16{1, 3, 2, 4}, 1},
		{"duplicate", []uint16{1, 1, 2}, 0},
		{"restart is not loss", []uint16{1, 2, 30000, 30001}, 0},
	} {
		var g seqGaps
		lost := 0
		for _, s := range tc.seqs {
			lost += g.next(s)
		}
		if lost != tc.lost {
			t.Errorf("%s: lost %d, want %d", tc.name, lost, tc.lost)
		}
	}
}
