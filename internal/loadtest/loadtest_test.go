package loadtest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/server"
)

const (
	testAppID  = 1400000001
	testSecret = "loadtest-secret"
)

// TestMain lets the test binary be a load-test worker process.
func TestMain(m *testing.M) {
	if os.Getenv(WorkerEnv) != "" {
		if err := RunWorker(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startServer runs a real server on 127.0.0.1 in this process.
func startServer(t *testing.T) string {
	t.Helper()
	srv, err := server.New(context.Background(), server.Config{
		SDKAppID: testAppID, Secret: testSecret, DataDir: t.TempDir(), MediaIP: "127.0.0.1",
		MaxConnectionsPerIP: -1, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(served) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
		<-served
	})
	return "http://" + ln.Addr().String()
}

// checkSane asserts what a user of the report relies on.
func checkSane(t *testing.T, rep *Report, calls, groupSize int) {
	t.Helper()
	var b strings.Builder
	rep.WriteTable(&b)
	t.Log("\n" + b.String())
	if rep.CallsConnected != calls || rep.CallsFailed != 0 {
		t.Fatalf("%d calls connected, %d failed (errors %q); want %d connected", rep.CallsConnected, rep.CallsFailed, rep.Errors, calls)
	}
	checkSanePackets(t, rep, calls, groupSize)
	checkSaneTiming(t, rep)
	checkSaneServer(t, rep)
}

// outside reports whether v is below lo or above hi.
func outside(v, lo, hi float64) bool { return v < lo || v > hi }

// checkSanePackets is checkSane for the packets sent, received and lost.
func checkSanePackets(t *testing.T, rep *Report, calls, groupSize int) {
	t.Helper()
	// Audio: 50 packets a second per sender, each forwarded to the
	// groupSize-1 others.
	want := float64(calls*groupSize) * 50 * rep.WindowSeconds
	// (A starved sender loop skips frames it is late for: the floor is low.)
	if s := float64(rep.PacketsSent); outside(s, 0.6*want, 1.1*want) {
		t.Errorf("sent %d packets in %.1f s; want about %.0f", rep.PacketsSent, rep.WindowSeconds, want)
	}
	if r, s := float64(rep.PacketsReceived), float64(rep.PacketsSent*uint64(groupSize-1)); outside(r, 0.8*s, 1.02*s) {
		t.Errorf("received %d packets; sent %d, each to %d others", rep.PacketsReceived, rep.PacketsSent, groupSize-1)
	}
	if rep.LossPercent > 2 {
		t.Errorf("loss %.2f%% on loopback", rep.LossPercent)
	}
}

// checkSaneTiming is checkSane for jitter, interarrival, setup and media
// times.
func checkSaneTiming(t *testing.T, rep *Report) {
	t.Helper()
	if rep.JitterMeanMs <= 0 || rep.JitterMeanMs > 500 {
		t.Errorf("mean jitter %.2f ms", rep.JitterMeanMs)
	}
	// About 20 ms (audio) on a quiet machine; a busy one delivers in bursts.
	if rep.InterarrivalMs.P50 < 1 || rep.InterarrivalMs.P50 > 100 || rep.InterarrivalMs.P99 < rep.InterarrivalMs.P50 || rep.InterarrivalMs.Max <= 0 {
		t.Errorf("interarrival %+v ms", rep.InterarrivalMs)
	}
	if rep.SetupMs.P50 <= 0 || rep.MediaMs.P50 < rep.SetupMs.P50 || rep.MediaMs.P99 > 30000 {
		t.Errorf("setup %+v, media %+v", rep.SetupMs, rep.MediaMs)
	}
}

// checkSaneServer is checkSane for what the server's /metrics said.
func checkSaneServer(t *testing.T, rep *Report) {
	t.Helper()
	if rep.ForwardedSource != "metrics" {
		t.Errorf("forwarded packets from %q; want the server's /metrics", rep.ForwardedSource)
	}
	if f, r := float64(rep.ForwardedPackets), float64(rep.PacketsReceived); outside(f, 0.9*r, 1.1*r) {
		t.Errorf("server forwarded %d packets, clients received %d", rep.ForwardedPackets, rep.PacketsReceived)
	}
	if rep.ServerCPUSeconds <= 0 || rep.ServerCPUPerCallSecond <= 0 || rep.ForwardedPerCPUSecond <= 0 {
		t.Errorf("server CPU %.3f s (%s), per call-second %.4f, forwarded per CPU-second %.0f",
			rep.ServerCPUSeconds, rep.ServerCPUSource, rep.ServerCPUPerCallSecond, rep.ForwardedPerCPUSecond)
	}
	if rep.ServerRSSBytes < 1<<20 {
		t.Errorf("server RSS %d bytes", rep.ServerRSSBytes)
	}
}

// TestLoadTest1v1 runs four 1v1 audio calls for three seconds against a
// real server; the server is this process, found by the port it listens
// on.
func TestLoadTest1v1(t *testing.T) {
	url := startServer(t)
	rep, err := Run(context.Background(), Options{
		Server: url, SDKAppID: testAppID, Secret: testSecret,
		Calls: 4, Audio: true, Rate: 20, Duration: 3 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("proc:%d", os.Getpid()); rep.ServerCPUSource != want {
		t.Errorf("server CPU from %q; want %q (found by its port)", rep.ServerCPUSource, want)
	}
	checkSane(t, rep, 4, 2)
}

// TestLoadTestGroupWorkers runs two group calls of three over two worker
// processes (this test binary), with the server's CPU from its /metrics.
func TestLoadTestGroupWorkers(t *testing.T) {
	url := startServer(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), Options{
		Server: url, SDKAppID: testAppID, Secret: testSecret,
		Calls: 2, GroupSize: 3, Audio: true, Rate: 10, Duration: 3 * time.Second,
		Workers: 2, Exe: exe, ServerPID: -1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ServerCPUSource != "metrics" {
		t.Errorf("server CPU from %q; want metrics", rep.ServerCPUSource)
	}
	checkSane(t, rep, 2, 3)
}

func TestOptionsRefused(t *testing.T) {
	for _, o := range []Options{
		{Secret: "s"},
		{Server: "http://x"},
		{Server: "http://x", Secret: "s", Calls: -1},
		{Server: "http://x", Secret: "s", GroupSize: 1},
		{Server: "http://x", Secret: "s", Rate: -1},
		{Server: "http://x", Secret: "s", Duration: time.Millisecond},
		{Server: "http://x", Secret: "s", Calls: 2, Workers: 3},
		{Server: "http://x", Secret: "s", Calls: 4, Workers: 2},
	} {
		if _, err := Run(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
