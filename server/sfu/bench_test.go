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
	"github.com/pion/webrtc/v4"

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
	p := startBenchHelper(b, s, dests)

	devs := []string{"src"}
	for i := range dests {
		devs = append(devs, fmt.Sprintf("dst%d", i))
	}
	for _, dev := range devs {
		send := func(sig protocol.MediaSignal) { _ = p.enc.write(benchMsg{Dev: dev, Sig: &sig}) }
		if err := s.AddPeer("bench", dev, dev, send); err != nil {
			b.Fatal(err)
		}
		s.SetConnected("bench", dev, true)
	}
	if err := p.enc.write(benchMsg{Cmd: "warmup"}); err != nil {
		b.Fatal(err)
	}
	p.await("ready")

	b.ReportAllocs()
	st0, cpu0, t0 := s.Stats(), cpuTime(), time.Now()
	b.ResetTimer()
	if err := p.enc.write(benchMsg{Cmd: "run", N: b.N}); err != nil {
		b.Fatal(err)
	}
	done := p.await("done")
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

// benchParent is the benchmark's end of the helper process: signals from
// the helper go to the SFU, commands' replies to ctrl.
type benchParent struct {
	b    *testing.B
	enc  *lockedEncoder
	ctrl chan benchMsg
}

// startBenchHelper starts the helper process with dests destinations;
// cleanup tells it to quit and waits for it.
func startBenchHelper(b *testing.B, s *SFU, dests int) *benchParent {
	b.Helper()
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
	p := &benchParent{b: b, enc: &lockedEncoder{enc: json.NewEncoder(stdin)}, ctrl: make(chan benchMsg, 4)}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer close(p.ctrl)
		p.readStdout(s, stdout)
	}()
	b.Cleanup(func() {
		_ = p.enc.write(benchMsg{Cmd: "quit"})
		_ = stdin.Close()
		_ = cmd.Wait()
		<-readerDone
	})
	return p
}

// readStdout hands the helper's signals to s and its replies to ctrl.
func (p *benchParent) readStdout(s *SFU, stdout io.Reader) {
	dec := json.NewDecoder(stdout)
	for {
		var m benchMsg
		if dec.Decode(&m) != nil {
			return
		}
		if m.Sig != nil {
			if err := s.HandleSignal("bench", m.Dev, *m.Sig); err != nil {
				p.b.Errorf("%s: %v", m.Dev, err)
			}
			continue
		}
		p.ctrl <- m
	}
}

// await waits for the helper's reply want.
func (p *benchParent) await(want string) benchMsg {
	b := p.b
	b.Helper()
	select {
	case m, ok := <-p.ctrl:
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

// benchChild is the helper's state: one source and n destination clients.
type benchChild struct {
	enc     *lockedEncoder
	src     *testClient
	clients map[string]*testClient
	recv    []atomic.Int64 // packets received by each destination
	pkt     *rtp.Packet
}

// benchHelper is the child: one source and n destination clients.
func benchHelper(n int) error {
	api, err := makeClientAPI()
	if err != nil {
		return err
	}
	h := &benchChild{
		enc:     &lockedEncoder{enc: json.NewEncoder(os.Stdout)},
		clients: map[string]*testClient{},
		recv:    make([]atomic.Int64, n),
		pkt:     &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: OpusPayloadType}, Payload: make([]byte, 100)},
	}
	defer func() {
		for _, c := range h.clients {
			c.close()
		}
	}()
	if err := h.startClients(api); err != nil {
		return err
	}

	// Signals are dispatched at once; commands run one at a time here.
	cmds := make(chan benchMsg, 4)
	var readErr error
	go func() {
		defer close(cmds)
		readErr = h.readStdin(cmds)
	}()
	for m := range cmds {
		switch m.Cmd {
		case "warmup":
			h.warmup()
		case "run":
			h.run(m.N)
		case "quit":
			return nil
		}
	}
	return readErr
}

// startClients starts the source and the destination clients.
func (h *benchChild) startClients(api *webrtc.API) error {
	answer := func(dev string) func(protocol.MediaSignal) error {
		return func(sig protocol.MediaSignal) error { return h.enc.write(benchMsg{Dev: dev, Sig: &sig}) }
	}
	src, err := startClient(api, answer("src"), "bench", "src", "src", withRTPAudio())
	if err != nil {
		return err
	}
	h.src = src
	h.clients["src"] = src
	for i := range h.recv {
		dev := fmt.Sprintf("dst%d", i)
		c, err := startClient(api, answer(dev), "bench", dev, dev, withOnPacket(func() { h.recv[i].Add(1) }), withSilence())
		if err != nil {
			return err
		}
		h.clients[dev] = c
	}
	return nil
}

// readStdin hands signals to their clients and commands to cmds, until
// stdin ends (nil at EOF).
func (h *benchChild) readStdin(cmds chan<- benchMsg) error {
	dec := json.NewDecoder(os.Stdin)
	for {
		var m benchMsg
		if err := dec.Decode(&m); err != nil {
			if !errors.Is(err, io.EOF) {
				return err
			}
			return nil
		}
		if m.Sig != nil {
			if c := h.clients[m.Dev]; c != nil {
				c.sendFunc(*m.Sig)
			}
			continue
		}
		cmds <- m
	}
}

func (h *benchChild) write() {
	h.pkt.SequenceNumber++
	h.pkt.Timestamp += 960
	_ = h.src.rtpAudio.WriteRTP(h.pkt)
}

func (h *benchChild) minRecv() int64 {
	m := h.recv[0].Load()
	for i := 1; i < len(h.recv); i++ {
		m = min(m, h.recv[i].Load())
	}
	return m
}

func (h *benchChild) sum() int64 {
	var t int64
	for i := range h.recv {
		t += h.recv[i].Load()
	}
	return t
}

// warmup sends until every destination has 50 packets, then says ready.
func (h *benchChild) warmup() {
	deadline := time.Now().Add(30 * time.Second)
	for h.minRecv() < 50 && time.Now().Before(deadline) {
		h.write()
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if h.minRecv() < 50 {
		_ = h.enc.write(benchMsg{Cmd: "error", Err: "no media after 30 s"})
		return
	}
	_ = h.enc.write(benchMsg{Cmd: "ready"})
}

// run sends n packets, at most window in flight per destination, and
// reports how many arrived in all.
func (h *benchChild) run(n int) {
	base := make([]int64, len(h.recv))
	for i := range h.recv {
		base[i] = h.recv[i].Load()
	}
	got := func() (lo int64) {
		lo = -1
		for i := range h.recv {
			if d := h.recv[i].Load() - base[i]; lo < 0 || d < lo {
				lo = d
			}
		}
		return lo
	}
	const window = 64 // packets in flight per destination
	for i := int64(1); i <= int64(n); i++ {
		h.write()
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
	last, quiet := h.sum(), time.Now()
	for got() < int64(n) && time.Since(quiet) < 200*time.Millisecond {
		time.Sleep(time.Millisecond)
		if t := h.sum(); t != last {
			last, quiet = t, time.Now()
		}
	}
	var total int64
	for i := range h.recv {
		total += h.recv[i].Load() - base[i]
	}
	_ = h.enc.write(benchMsg{Cmd: "done", Recv: total})
}
