package prof

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// isProfile says whether b looks like a pprof profile (gzipped protobuf).
func isProfile(b []byte) bool { return len(b) > 20 && bytes.HasPrefix(b, []byte{0x1f, 0x8b}) }

func TestStartStop(t *testing.T) {
	dir := t.TempDir()
	cpu, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "mem.pprof")
	s, err := Start(Options{CPUFile: cpu, MemFile: mem, Addr: ":0"})
	if err != nil {
		t.Fatal(err)
	}
	addr := s.Addr().String()
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Errorf("listener on %s; want 127.0.0.1 when no host is given", addr)
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "heap profile") {
		t.Errorf("GET heap: %d %.80q", resp.StatusCode, body)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	for _, f := range []string{cpu, mem} {
		b, err := os.ReadFile(f)
		if err != nil || !isProfile(b) {
			t.Errorf("%s: %d bytes, err %v; want a gzipped profile", filepath.Base(f), len(b), err)
		}
	}
	if resp, err := http.Get("http://" + addr + "/debug/pprof/"); err == nil {
		resp.Body.Close()
		t.Error("the listener still answers after Stop")
	}
}

func TestNothingAsked(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Addr() != nil {
		t.Errorf("Addr = %v; want nil", s.Addr())
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
}

func TestBadPaths(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no", "such", "dir", "p.pprof")
	for _, o := range []Options{{CPUFile: missing}, {MemFile: missing}, {Addr: "127.0.0.1:notaport"}} {
		if s, err := Start(o); err == nil {
			_ = s.Stop()
			t.Errorf("Start(%+v) succeeded; want an error", o)
		}
	}
	// A failed listener must not leave the CPU profile running.
	cpu := filepath.Join(t.TempDir(), "cpu.pprof")
	if _, err := Start(Options{CPUFile: cpu, Addr: "127.0.0.1:notaport"}); err == nil {
		t.Fatal("want an error")
	}
	s, err := Start(Options{CPUFile: cpu})
	if err != nil {
		t.Fatalf("a CPU profile after a failed Start: %v", err)
	}
	_ = s.Stop()
}
