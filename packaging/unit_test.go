package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnitVerifies runs `systemd-analyze verify` on termcall.service. The
// unit's ExecStart binary must exist for verify, so the test verifies a
// copy whose ExecStart names an executable stand-in in a temporary
// directory; everything else is the unit as shipped. Any complaint that
// names the unit fails the test (verify exits 0 on some of them).
func TestUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed; cannot verify packaging/termcall.service")
	}
	unit, err := os.ReadFile("termcall.service")
	if err != nil {
		t.Fatal(err)
	}
	const bin = "/usr/local/bin/termcall"
	if !strings.Contains(string(unit), "ExecStart="+bin+" serve") {
		t.Fatalf("termcall.service: ExecStart does not run %s serve", bin)
	}
	for _, want := range []string{
		"DynamicUser=yes", "StateDirectory=termcall", "ProtectSystem=strict", "ProtectHome=yes", "NoNewPrivileges=yes",
		"PrivateTmp=yes", "RestrictAddressFamilies=", "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service",
		"LimitNOFILE=65536", "KillSignal=SIGTERM", "TimeoutStopSec=20s", "ExecReload=/bin/kill -HUP $MAINPID",
		"EnvironmentFile=/etc/termcall/termcall.env",
	} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("termcall.service lacks %q", want)
		}
	}
	dir := t.TempDir()
	stand := filepath.Join(dir, "termcall")
	if err := os.WriteFile(stand, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "termcall.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(string(unit), bin, stand)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "termcall") {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
	if out, err := exec.Command(analyze, "security", "--offline=yes", path).CombinedOutput(); err == nil {
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		t.Logf("systemd-analyze security: %s", lines[len(lines)-1])
	}
}
