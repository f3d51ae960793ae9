package cmd_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestLoadtestCommand: a small load test over two worker processes
// against a real `termcall serve`; the report is one JSON object with
// every call connected, media both ways and the server's CPU read from
// /proc (the server found by its port).
func TestLoadtestCommand(t *testing.T) {
	server := startServer(t)
	r := run(t, server, "loadtest", "--calls", "2", "--rate", "20", "--duration", "2s", "--workers", "2", "--json")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	var rep struct {
		Calls, CallsConnected, Workers   int
		PacketsSent, PacketsReceived     uint64
		LossPercent, ServerCPUSeconds    float64
		ServerCPUSource, ForwardedSource string
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &rep); err != nil {
		t.Fatalf("stdout is not one JSON report: %v\n%s", err, r.stdout)
	}
	if rep.Calls != 2 || rep.CallsConnected != 2 || rep.Workers != 2 {
		t.Errorf("calls %d, connected %d, workers %d; want 2, 2, 2", rep.Calls, rep.CallsConnected, rep.Workers)
	}
	if rep.PacketsSent == 0 || rep.PacketsReceived < rep.PacketsSent*8/10 || rep.LossPercent > 2 {
		t.Errorf("sent %d, received %d, loss %.2f%%", rep.PacketsSent, rep.PacketsReceived, rep.LossPercent)
	}
	if !strings.HasPrefix(rep.ServerCPUSource, "proc:") || rep.ServerCPUSeconds <= 0 || rep.ForwardedSource != "metrics" {
		t.Errorf("server CPU %.2f s from %q, forwarded from %q; want /proc and /metrics", rep.ServerCPUSeconds, rep.ServerCPUSource, rep.ForwardedSource)
	}
}

func TestLoadtestUsage(t *testing.T) {
	for _, args := range [][]string{
		{"loadtest", "--calls", "0"},
		{"loadtest", "--calls", "2", "--workers", "3"},
		{"loadtest", "--group-size", "1"},
		{"loadtest", "--rate", "0"},
		{"loadtest", "--duration", "10ms"},
		{"loadtest", "--audio=false"},
		{"loadtest", "extra-arg"},
	} {
		r := run(t, "http://127.0.0.1:1", args...)
		if r.code != 2 {
			t.Errorf("termcall %v: exit %d, want 2 (usage)\nstderr: %s", args, r.code, r.stderr)
		}
	}
}
