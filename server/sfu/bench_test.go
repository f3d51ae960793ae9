package sfu

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/termcall/termcall/protocol"
)

// The benchmark runs the clients in a child process (this test binary,
// re-executed with SFU_BENCH_HELPER set) so that the CPU time and the
// allocations measured are the SFU's alone. Signals go over the child's
// stdin and stdout as JSON lines.

const benchHelperEnv = "SFU_BENCH_HELPER"

type benchMsg struct {
	Dev  string                `json:"dev,omitempty"`
	Sig  *protocol.MediaSignal `json:"sig,omitempty"`
	Cmd  string                `json:"cmd,omitempty"` // to the child: warmup, run, quit; from it: ready, done, error
	N    int                   `json:"n,omitempty"`
	Recv int64                 `json:"recv,omitempty"`
	Err  string                `json:"err,omitempty"`
}

type lockedEncoder struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (e *lockedEncoder) write(m benchMsg) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.enc.Encode(m)
}

// BenchmarkForward: one op is one RTP packet (100-byte Opus payload) from
// the source, forwarded to every destination. fwd-pkts/cpu-s is forwarded
// packets per second of the SFU process's CPU time, i.e. per busy core.
func BenchmarkForward(b *testing.B) {
	for _, dests := range []int{1, 4} {
		b.Run(fmt.Sprintf("dests=%d", dests), func(b *testing.B) { benchForward(b, dests) })
	}
}

func benchForward(b *testing.B, dests int) {
	s := newTestSFU(b, nil)
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), benchHelperEnv+"="+strconv.Itoa(dests))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	enc := &lockedEncoder{enc: json.NewEncoder(stdin)}
	ctrl := make(chan benchMsg, 4)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(ctrl)
		dec := json.NewDecoder(stdout)
		for {
			var m benchMsg
			if dec.Decode(&m) != nil {
				return
			}
			if m.Sig != nil {
				if err := s.HandleSignal("bench", m.Dev, *m.Sig); err != nil {
					b.Errorf("%s: %v", m.Dev, err)
				}
				continue
			}
			ctrl <- m
		}
	}()
	b.Cleanup(func() {
		_ = enc.write(benchMsg{Cmd: "quit"})
		_ = stdin.Close()
		_ = cmd.Wait()
		<-readerDone
	})
	await := func(want string) benchMsg {
		select {
		case m, ok := <-ctrl:
			if !ok {
				b.Fatal("helper died")
			}
			if m.Cmd != want {
				b.Fatalf("helper: got %q (%s), want %q", m.Cmd, m.Err, want)
			}
			return m
		case <-time.After(60 * time.Second):
			b.Fatalf("helper: no %q", want)
		}
		return benchMsg{}
	}

	devs := []string{"src"}
	for i := range dests {
		devs = append(devs, fmt.Sprintf("dst%d", i))
	}
	for _, dev := range devs {
		send := func(sig protocol.MediaSignal) { _ = enc.write(benchMsg{Dev: dev, Sig: &sig}) }
		if err := s.AddPeer("bench", dev, dev, send); err != nil {
			b.Fatal(err)
		}
		s.SetConnected("bench", dev, true)
	}
	if err := enc.write(benchMsg{Cmd: "warmup"}); err != nil {
		b.Fatal(err)
	}
	await("ready")

	b.ReportAllocs()
	st0, cpu0, t0 := s.Stats(), cpuTime(), time.Now()
	b.ResetTimer()
	if err := enc.write(benchMsg{Cmd: "run", N: b.N}); err != nil {
		b.Fatal(err)
	}
	done := await("done")
	b.StopTimer()
	elapsed, cpu, st1 := time.Since(t0), cpuTime()-cpu0, s.Stats()

	fwd := st1.PacketsForwarded - st0.PacketsForwarded
	if os.Getenv("SFU_BENCH_DEBUG") != "" {
		b.Logf("N=%d dests=%d forwarded=%d in=%d dropped=%d recv=%d", b.N, dests, fwd, st1.PacketsIn-st0.PacketsIn, st1.PacketsDropped-st0.PacketsDropped, done.Recv)
	}
	b.ReportMetric(float64(fwd)/elapsed.Seconds(), "fwd-pkts/s")
	if cpu > 0 {
		b.ReportMetric(float64(fwd)/cpu.Seconds(), "fwd-pkts/cpu-s")
	}
	if want := int64(b.N) * int64(dests); want > 0 {
		b.ReportMetric(100*float64(want-done.Recv)/float64(want), "loss-%")
	}
}

// benchHelper is the child: one source and n destination clients.
func benchHelper(n int) error {
	api, err := makeClientAPI()
	if err != nil {
		return err
	}
	enc := &lockedEncoder{enc: json.NewEncoder(os.Stdout)}
	answer := func(dev string) func(protocol.MediaSignal) error {
		return func(sig protocol.MediaSignal) error { return enc.write(benchMsg{Dev: dev, Sig: &sig}) }
	}
	clients := map[string]*testClient{}
	src, err := startClient(api, answer("src"), "bench", "src", "src", withRTPAudio())
	if err != nil {
		return err
	}
	clients["src"] = src
	recv := make([]atomic.Int64, n)
	for i := range n {
		dev := fmt.Sprintf("dst%d", i)
		c, err := startClient(api, answer(dev), "bench", dev, dev, withOnPacket(func() { recv[i].Add(1) }), withSilence())
		if err != nil {
			return err
		}
		clients[dev] = c
	}
	defer func() {
		for _, c := range clients {
			c.close()
		}
	}()
	minRecv := func() int64 {
		m := recv[0].Load()
		for i := 1; i < n; i++ {
			m = min(m, recv[i].Load())
		}
		return m
	}
	sum := func() int64 {
		var t int64
		for i := range recv {
			t += recv[i].Load()
		}
		return t
	}
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: OpusPayloadType}, Payload: make([]byte, 100)}
	write := func() {
		pkt.SequenceNumber++
		pkt.Timestamp += 960
		_ = src.rtpAudio.WriteRTP(pkt)
	}

	// Signals are dispatched at once; commands run one at a time here.
	cmds := make(chan benchMsg, 4)
	var readErr error
	go func() {
		defer close(cmds)
		dec := json.NewDecoder(os.Stdin)
		for {
			var m benchMsg
			if err := dec.Decode(&m); err != nil {
				if !errors.Is(err, io.EOF) {
					readErr = err
				}
				return
			}
			if m.Sig != nil {
				if c := clients[m.Dev]; c != nil {
					c.sendFunc(*m.Sig)
				}
				continue
			}
			cmds <- m
		}
	}()
	for m := range cmds {
		switch m.Cmd {
		case "warmup":
			deadline := time.Now().Add(30 * time.Second)
			for minRecv() < 50 && time.Now().Before(deadline) {
				write()
				time.Sleep(time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
			if minRecv() < 50 {
				_ = enc.write(benchMsg{Cmd: "error", Err: "no media after 30 s"})
				continue
			}
			_ = enc.write(benchMsg{Cmd: "ready"})
		case "run":
			base := make([]int64, n)
			for i := range recv {
				base[i] = recv[i].Load()
			}
			got := func() (lo int64) {
				lo = -1
				for i := range recv {
					if d := recv[i].Load() - base[i]; lo < 0 || d < lo {
						lo = d
					}
				}
				return lo
			}
			const window = 64 // packets in flight per destination
			for i := int64(1); i <= int64(m.N); i++ {
				write()
				var stall time.Time
				for i-got() > window {
					if stall.IsZero() {
						stall = time.Now()
					} else if time.Since(stall) > 100*time.Millisecond {
						break // lost; go on
					}
					time.Sleep(20 * time.Microsecond)
				}
			}
			// Wait for the tail (or give up after a quiet 200 ms).
			last, quiet := sum(), time.Now()
			for got() < int64(m.N) && time.Since(quiet) < 200*time.Millisecond {
				time.Sleep(time.Millisecond)
				if t := sum(); t != last {
					last, quiet = t, time.Now()
				}
			}
			var total int64
			for i := range recv {
				total += recv[i].Load() - base[i]
			}
			_ = enc.write(benchMsg{Cmd: "done", Recv: total})
		case "quit":
			return nil
		}
	}
	return readErr
}
