package store

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a bytes.Buffer safe for the writer goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestOptionsLogger: the store's warnings go to the logger of its Options
// (the server's), tagged component=store, not to slog.Default.
func TestOptionsLogger(t *testing.T) {
	var buf lockedBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	s, err := OpenWith(context.Background(), filepath.Join(t.TempDir(), "t.db"), Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.StartRecords([]Record{fullRecord("c1", "u1")}) // after Close: dropped, with a warning
	got := buf.String()
	if !strings.Contains(got, "record written after Close; dropped") || !strings.Contains(got, "component=store") {
		t.Errorf("the logger of Options got %q, want the dropped-record warning with component=store", got)
	}
}
