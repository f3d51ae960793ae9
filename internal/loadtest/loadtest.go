// Package loadtest is `termcall loadtest`: a load generator a deployer
// runs against their own termcall server (or any node of a cluster), in
// the spirit of LiveKit's `lk load-test`.
//
// It keeps N calls up at once (1v1, or groups of K), placed at a given
// rate. Every participant is a light client: a real WebSocket speaking
// termcall's signaling protocol (login, call/groupCall, accept, the SFU's
// offer/answer, hangup, logout) and a real pion PeerConnection to the
// SFU, with no interceptors. Each sends pre-encoded media (Opus every
// 20 ms, and with video VP8 at 15 fps; see media.go) and counts what it
// receives without decoding it: packets, losses from the sequence
// numbers, RFC 3550 interarrival jitter, and the gaps between arrivals.
//
// A run: log every user in (the users are added with the admin API
// first, and with --group-size the groups created); place the calls at
// --rate per second, the callees accepting as soon as they ring; wait
// until media flows on every leg of every call; then measure for
// --duration; then hang up and log out. Setup latency is per call, from
// the call request to the caller's onCallBegin ("setup") and to the first
// packet having arrived at every participant from every other one
// ("media"). Packet figures cover the measurement window only.
//
// The server's side: its CPU time over the window (from /proc/<pid> when
// the server is a process on this machine — --server-pid, or found by
// the port it listens on —, otherwise process_cpu_seconds_total from its
// Prometheus /metrics), divided by the connected calls' seconds (CPU per
// call-second), and the packets its SFU forwarded in the window
// (termcall_sfu_rtp_packets_forwarded_total, or what the clients
// received when /metrics is not reachable) per CPU second; and its
// resident memory at the end.
//
// With --workers W the calls are split over W child processes (the same
// executable, run with TERMCALL_LOADTEST_WORKER set) so that the
// generator's own CPU is not the bottleneck; the parent collects their
// figures and measures the server.
package loadtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configure Run.
type Options struct {
	Server    string // the server's URL (http(s):// or ws(s)://)
	CAFile    string // PEM CAs for a private wss:// server (passed to workers)
	TLSConfig *tls.Config
	SDKAppID  uint64
	Secret    string // signs every load-test user's userSig and the admin calls

	Calls     int           // concurrent calls; default 10
	GroupSize int           // participants per call; default 2 (1v1)
	Audio     bool          // send Opus
	Video     bool          // send VP8
	Rate      float64       // calls placed per second while ramping up; default 10
	Duration  time.Duration // the measurement window once every call is up; default 30 s
	Workers   int           // generator processes; default 1 (this one)
	Exe       string        // the executable workers run (os.Executable())
	ExeArgs   []string      // its arguments (for termcall: "loadtest")

	ServerPID  int    // the server's process on this machine; 0: find it by its port
	MetricsURL string // default: Server's origin + /metrics
	// SetupTimeout bounds the ramp plus the wait for media on every call;
	// default Calls/Rate + 30 s.
	SetupTimeout time.Duration

	Logger *slog.Logger
	Say    func(string) // progress lines (stderr); nil: quiet
}

// Latency summarizes per-call times in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Report is what Run measured.
type Report struct {
	Server    string `json:"server"`
	Calls     int    `json:"calls"`
	GroupSize int    `json:"groupSize"`
	Audio     bool   `json:"audio"`
	Video     bool   `json:"video"`
	Workers   int    `json:"workers"`

	CallsConnected int      `json:"callsConnected"`
	CallsFailed    int      `json:"callsFailed"`
	Errors         []string `json:"errors,omitempty"`
	Warnings       int      `json:"warnings"`

	SetupMs Latency `json:"setupMs"` // call request -> the caller's onCallBegin
	MediaMs Latency `json:"mediaMs"` // call request -> media from everyone at everyone

	WindowSeconds   float64 `json:"windowSeconds"`
	PacketsSent     uint64  `json:"packetsSent"`
	PacketsReceived uint64  `json:"packetsReceived"`
	PacketsExpected uint64  `json:"packetsExpected"` // from the received sequence numbers
	LossPercent     float64 `json:"lossPercent"`
	JitterMeanMs    float64 `json:"jitterMeanMs"` // RFC 3550, mean over the inbound streams
	JitterMaxMs     float64 `json:"jitterMaxMs"`
	InterarrivalMs  Latency `json:"interarrivalMs"` // gaps between a stream's packets (frames for video)

	ServerCPUSource        string  `json:"serverCpuSource"` // "proc:<pid>", "metrics" or "" (unknown)
	ServerCPUSeconds       float64 `json:"serverCpuSeconds"`
	ServerCPUPerCallSecond float64 `json:"serverCpuPerCallSecond"`
	ForwardedSource        string  `json:"forwardedSource"` // "metrics" or "clients"
	ForwardedPackets       uint64  `json:"forwardedPackets"`
	ForwardedPerCPUSecond  float64 `json:"forwardedPerCpuSecond"`
	ServerRSSBytes         uint64  `json:"serverRssBytes"`

	GeneratorCPUSeconds float64 `json:"generatorCpuSeconds"`
	LoadAverage         string  `json:"loadAverage"` // /proc/loadavg at the end
}

// WorkerEnv, when set in a process's environment, makes it a worker of a
// load test (see RunWorker); the value is the worker's share as JSON.
const WorkerEnv = "TERMCALL_LOADTEST_WORKER"

func (o *Options) defaults() error {
	orDefault(&o.Calls, 10)
	orDefault(&o.GroupSize, 2)
	orDefault(&o.Rate, 10)
	orDefault(&o.Duration, 30*time.Second)
	orDefault(&o.Workers, 1)
	if !o.Audio && !o.Video {
		o.Audio = true
	}
	orDefault(&o.Logger, slog.New(slog.DiscardHandler))
	if o.Say == nil {
		o.Say = func(string) {}
	}
	if err := o.check(); err != nil {
		return err
	}
	orDefault(&o.SetupTimeout, time.Duration(float64(o.Calls)/o.Rate*float64(time.Second))+30*time.Second)
	return nil
}

// orDefault sets *v to def if it is the zero value.
func orDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// check rejects options out of their ranges (after the defaults).
func (o *Options) check() error {
	switch {
	case o.Server == "":
		return errors.New("loadtest: no server URL")
	case o.Secret == "":
		return errors.New("loadtest: no secret: the load-test users' userSigs are signed with it")
	case o.Calls < 1 || o.Calls > 10000:
		return fmt.Errorf("loadtest: %d calls: must be 1..10000", o.Calls)
	case o.GroupSize < 2 || o.GroupSize > 16:
		return fmt.Errorf("loadtest: group size %d: must be 2..16", o.GroupSize)
	case o.Rate <= 0 || o.Rate > 10000 || math.IsNaN(o.Rate):
		return fmt.Errorf("loadtest: rate %v: must be above 0 and at most 10000 calls/s", o.Rate)
	case o.Duration < time.Second || o.Duration > 24*time.Hour:
		return fmt.Errorf("loadtest: duration %s: must be 1s..24h", o.Duration)
	}
	return o.checkWorkers()
}

func (o *Options) checkWorkers() error {
	switch {
	case o.Workers < 1 || o.Workers > 64 || o.Workers > o.Calls:
		return fmt.Errorf("loadtest: %d workers: must be 1..64 and at most --calls", o.Workers)
	case o.Workers > 1 && o.Exe == "":
		return errors.New("loadtest: workers need the executable to run")
	}
	return nil
}

// Run runs a load test and reports on it. Calls that fail are counted and
// their first errors reported; Run fails only when the test cannot run at
// all (bad options, the server unreachable, a login refused).
func Run(ctx context.Context, o Options) (*Report, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	u, err := url.Parse(o.Server)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("loadtest: server URL %q is not a URL like http://host:port", o.Server)
	}
	runID := randomID()
	adm := &admin{o: &o, hc: httpClient(&o)}
	if err := adm.prepare(ctx, runID); err != nil {
		return nil, err
	}
	srv := newServerProbe(&o, u)
	specs := o.split(runID, isLoopbackHost(u.Hostname()))
	o.Say(fmt.Sprintf("logging in %d users and placing %d calls at %g/s on %d worker(s)", o.Calls*o.GroupSize, o.Calls, o.Rate, o.Workers))
	ws, err := o.startWorkers(specs)
	defer func() {
		for _, w := range ws {
			w.abort()
		}
	}()
	if err != nil {
		return nil, err
	}
	// Setup on every worker at once.
	if err := forAll(ws, func(w workerHandle) error { return w.setup(ctx) }); err != nil {
		return nil, err
	}
	o.Say(fmt.Sprintf("calls up; measuring for %s", o.Duration))
	m, err := measure(ctx, &o, ws, srv)
	if err != nil {
		return nil, err
	}
	o.Say("hanging up")
	_ = forAll(ws, func(w workerHandle) error { return w.teardown() })
	ws = nil

	rep := merge(&o, m.results, m.window)
	rep.GeneratorCPUSeconds += m.genCPU
	srv.fill(rep, m.s0, m.s1)
	rep.LoadAverage = loadAverage()
	return rep, nil
}

// split shares the calls out over the workers (the first Calls%Workers
// take one more), each placing its calls at its share of the rate.
func (o *Options) split(runID string, loopback bool) []spec {
	specs := make([]spec, o.Workers)
	first := 0
	for i := range specs {
		n := o.Calls / o.Workers
		if i < o.Calls%o.Workers {
			n++
		}
		specs[i] = spec{
			Server: o.Server, CAFile: o.CAFile, SDKAppID: o.SDKAppID, Secret: o.Secret, RunID: runID,
			FirstCall: first, Calls: n, GroupSize: o.GroupSize, Audio: o.Audio, Video: o.Video,
			Rate: o.Rate / float64(o.Workers), Loopback: loopback, SetupTimeout: o.SetupTimeout,
		}
		first += n
	}
	return specs
}

// startWorkers starts the workers: this process's own with one worker,
// else a child process per spec. On an error it returns those started,
// for the caller to abort.
func (o *Options) startWorkers(specs []spec) ([]workerHandle, error) {
	if o.Workers == 1 {
		w, err := newWorker(specs[0], *o)
		if err != nil {
			return nil, err
		}
		return []workerHandle{&localWorker{w: w}}, nil
	}
	var ws []workerHandle
	for _, sp := range specs {
		w, err := startChild(o.Exe, o.ExeArgs, sp)
		if err != nil {
			return ws, err
		}
		ws = append(ws, w)
	}
	return ws, nil
}

// window is what was measured over the measurement window.
type window struct {
	results []*workerResult // per worker
	window  time.Duration
	s0, s1  serverSample // the server at its start and end
	genCPU  float64      // this process's CPU seconds over it
}

// measure marks the window's start on every worker, waits o.Duration and
// collects every worker's result.
func measure(ctx context.Context, o *Options, ws []workerHandle, srv *serverProbe) (*window, error) {
	m := &window{s0: srv.sample(ctx)}
	genCPU0 := ownCPU()
	t0 := time.Now()
	if err := forAll(ws, func(w workerHandle) error { return w.mark() }); err != nil {
		return nil, err
	}
	select {
	case <-time.After(o.Duration):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	m.results = make([]*workerResult, len(ws))
	if err := forAll(ws, func(w workerHandle) error {
		r, err := w.result()
		for i := range ws {
			if ws[i] == w {
				m.results[i] = r
			}
		}
		return err
	}); err != nil {
		return nil, err
	}
	m.window = time.Since(t0)
	m.s1 = srv.sample(ctx)
	m.genCPU = ownCPU() - genCPU0
	return m, nil
}

func forAll(ws []workerHandle, f func(workerHandle) error) error {
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = f(w) }()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func merge(o *Options, rs []*workerResult, window time.Duration) *Report {
	rep := &Report{Server: o.Server, Calls: o.Calls, GroupSize: o.GroupSize, Audio: o.Audio, Video: o.Video,
		Workers: o.Workers, WindowSeconds: window.Seconds()}
	var setup, media []float64
	var gaps [gapBuckets]uint64
	var jitterSum float64
	streams := 0
	for _, r := range rs {
		rep.CallsConnected += r.Connected
		rep.CallsFailed += r.Failed
		for _, e := range r.Errors {
			if len(rep.Errors) < 10 {
				rep.Errors = append(rep.Errors, e)
			}
		}
		rep.Warnings += r.WarningCount
		setup = append(setup, r.SetupMs...)
		media = append(media, r.MediaMs...)
		rep.PacketsSent += r.Sent
		rep.PacketsReceived += r.Received
		rep.PacketsExpected += r.Expected
		jitterSum += r.JitterSumMs
		streams += r.Streams
		rep.JitterMaxMs = max(rep.JitterMaxMs, r.JitterMaxMs)
		rep.InterarrivalMs.Max = max(rep.InterarrivalMs.Max, r.MaxGapMs)
		for i, n := range r.Gaps {
			gaps[i] += n
		}
		rep.GeneratorCPUSeconds += r.CPUSeconds
	}
	rep.SetupMs = summarize(setup)
	rep.MediaMs = summarize(media)
	if streams > 0 {
		rep.JitterMeanMs = jitterSum / float64(streams)
	}
	if rep.PacketsExpected > 0 && rep.PacketsExpected > rep.PacketsReceived {
		rep.LossPercent = 100 * float64(rep.PacketsExpected-rep.PacketsReceived) / float64(rep.PacketsExpected)
	}
	rep.InterarrivalMs.P50 = histPct(gaps[:], 0.50)
	rep.InterarrivalMs.P99 = histPct(gaps[:], 0.99)
	return rep
}

func summarize(v []float64) Latency {
	if len(v) == 0 {
		return Latency{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	pct := func(p float64) float64 { return s[int(math.Ceil(p*float64(len(s))))-1] }
	return Latency{P50: pct(0.5), P99: pct(0.99), Max: s[len(s)-1]}
}

// histPct is a percentile of 1 ms buckets (the bucket's upper edge).
func histPct(h []uint64, p float64) float64 {
	var total uint64
	for _, n := range h {
		total += n
	}
	if total == 0 {
		return 0
	}
	want := uint64(math.Ceil(p * float64(total)))
	var acc uint64
	for i, n := range h {
		acc += n
		if acc >= want {
			return float64(i + 1)
		}
	}
	return float64(len(h))
}

func randomID() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// WriteTable prints the report for people.
func (r *Report) WriteTable(w io.Writer) {
	kind := "audio"
	switch {
	case r.Audio && r.Video:
		kind = "audio+video"
	case r.Video:
		kind = "video"
	}
	shape := "1v1"
	if r.GroupSize > 2 {
		shape = fmt.Sprintf("groups of %d", r.GroupSize)
	}
	fmt.Fprintf(w, "load test of %s: %d %s %s calls, %d worker(s), %.1f s measured\n", r.Server, r.Calls, shape, kind, r.Workers, r.WindowSeconds)
	fmt.Fprintf(w, "  calls connected      %d of %d (%d failed)\n", r.CallsConnected, r.Calls, r.CallsFailed)
	fmt.Fprintf(w, "  setup (-> begin)     p50 %.1f ms  p99 %.1f ms  max %.1f ms\n", r.SetupMs.P50, r.SetupMs.P99, r.SetupMs.Max)
	fmt.Fprintf(w, "  setup (-> media)     p50 %.1f ms  p99 %.1f ms  max %.1f ms\n", r.MediaMs.P50, r.MediaMs.P99, r.MediaMs.Max)
	fmt.Fprintf(w, "  packets              sent %d  received %d  loss %.3f%%\n", r.PacketsSent, r.PacketsReceived, r.LossPercent)
	fmt.Fprintf(w, "  jitter               mean %.2f ms  max %.2f ms\n", r.JitterMeanMs, r.JitterMaxMs)
	fmt.Fprintf(w, "  interarrival         p50 %.0f ms  p99 %.0f ms  max %.1f ms\n", r.InterarrivalMs.P50, r.InterarrivalMs.P99, r.InterarrivalMs.Max)
	if r.ServerCPUSource != "" {
		fmt.Fprintf(w, "  server CPU           %.2f s (%s): %.4f s per call-second\n", r.ServerCPUSeconds, r.ServerCPUSource, r.ServerCPUPerCallSecond)
		fmt.Fprintf(w, "  forwarded            %d packets (%s): %.0f per server CPU-second\n", r.ForwardedPackets, r.ForwardedSource, r.ForwardedPerCPUSecond)
	} else {
		fmt.Fprintf(w, "  server CPU           unknown (no --server-pid, not found locally, /metrics unreachable)\n")
		fmt.Fprintf(w, "  forwarded            %d packets (%s)\n", r.ForwardedPackets, r.ForwardedSource)
	}
	if r.ServerRSSBytes > 0 {
		fmt.Fprintf(w, "  server RSS           %.1f MiB\n", float64(r.ServerRSSBytes)/(1<<20))
	}
	fmt.Fprintf(w, "  generator CPU        %.2f s   load average %s\n", r.GeneratorCPUSeconds, r.LoadAverage)
	for _, e := range r.Errors {
		fmt.Fprintf(w, "  error: %s\n", e)
	}
}

// workerHandle is a worker in this process or a child.
type workerHandle interface {
	setup(ctx context.Context) error
	mark() error
	result() (*workerResult, error)
	teardown() error
	abort()
}

type localWorker struct {
	w       *worker
	tornOff bool
}

func (l *localWorker) setup(ctx context.Context) error { return l.w.setup(ctx) }
func (l *localWorker) mark() error                     { l.w.mark(); return nil }
func (l *localWorker) result() (*workerResult, error)  { return l.w.result(), nil }
func (l *localWorker) teardown() error {
	if !l.tornOff {
		l.tornOff = true
		l.w.teardown()
	}
	return nil
}
func (l *localWorker) abort() { _ = l.teardown() }

// childWorker is a worker process. Lines on its stdin: "mark", "result",
// "teardown"; on its stdout, one JSON childMsg per step.
type childWorker struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	mu    sync.Mutex
	ended bool
}

type childMsg struct {
	Step   string        `json:"step"` // ready, marked, result, done
	Err    string        `json:"err,omitempty"`
	Result *workerResult `json:"result,omitempty"`
}

func startChild(exe string, args []string, sp spec) (*childWorker, error) {
	b, _ := json.Marshal(sp)
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), WorkerEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("loadtest: starting a worker: %w", err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	return &childWorker{cmd: cmd, in: in, out: sc}, nil
}

func (c *childWorker) await(step string) (*childMsg, error) {
	if !c.out.Scan() {
		return nil, fmt.Errorf("loadtest: worker %d exited before %q", c.cmd.Process.Pid, step)
	}
	var m childMsg
	if err := json.Unmarshal(c.out.Bytes(), &m); err != nil {
		return nil, fmt.Errorf("loadtest: worker %d: %w", c.cmd.Process.Pid, err)
	}
	if m.Err != "" {
		return nil, fmt.Errorf("loadtest: worker %d: %s", c.cmd.Process.Pid, m.Err)
	}
	if m.Step != step {
		return nil, fmt.Errorf("loadtest: worker %d said %q, want %q", c.cmd.Process.Pid, m.Step, step)
	}
	return &m, nil
}

func (c *childWorker) say(cmd string) error {
	_, err := io.WriteString(c.in, cmd+"\n")
	return err
}

func (c *childWorker) setup(ctx context.Context) error {
	_, err := c.await("ready")
	return err
}

func (c *childWorker) mark() error {
	if err := c.say("mark"); err != nil {
		return err
	}
	_, err := c.await("marked")
	return err
}

func (c *childWorker) result() (*workerResult, error) {
	if err := c.say("result"); err != nil {
		return nil, err
	}
	m, err := c.await("result")
	if err != nil {
		return nil, err
	}
	if m.Result == nil {
		return nil, errors.New("loadtest: a worker sent no result")
	}
	return m.Result, nil
}

func (c *childWorker) teardown() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return nil
	}
	c.ended = true
	_ = c.say("teardown")
	_, err := c.await("done")
	_ = c.in.Close()
	_ = c.cmd.Wait()
	return err
}

func (c *childWorker) abort() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	c.ended = true
	_ = c.in.Close() // the worker tears down when its stdin closes
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// RunWorker is a worker process's whole life: its share comes from
// WorkerEnv, steps from in, figures go to out.
func RunWorker(ctx context.Context, in io.Reader, out io.Writer) error {
	var sp spec
	if err := json.Unmarshal([]byte(os.Getenv(WorkerEnv)), &sp); err != nil {
		return fmt.Errorf("loadtest worker: %s: %w", WorkerEnv, err)
	}
	enc := json.NewEncoder(out)
	o := Options{Logger: slog.New(slog.DiscardHandler)}
	if sp.CAFile != "" {
		tc, err := tlsFromCAFile(sp.CAFile)
		if err != nil {
			_ = enc.Encode(childMsg{Err: err.Error()})
			return err
		}
		o.TLSConfig = tc
	}
	w, err := newWorker(sp, o)
	if err == nil {
		err = w.setup(ctx)
	}
	if err != nil {
		_ = enc.Encode(childMsg{Err: err.Error()})
		if w != nil {
			w.teardown()
		}
		return err
	}
	_ = enc.Encode(childMsg{Step: "ready"})
	sc := bufio.NewScanner(in)
	var cpu0 float64
	defer w.teardown()
	for sc.Scan() {
		switch strings.TrimSpace(sc.Text()) {
		case "mark":
			cpu0 = ownCPU()
			w.mark()
			_ = enc.Encode(childMsg{Step: "marked"})
		case "result":
			r := w.result()
			r.CPUSeconds = ownCPU() - cpu0
			_ = enc.Encode(childMsg{Step: "result", Result: r})
		case "teardown":
			w.teardown()
			_ = enc.Encode(childMsg{Step: "done"})
			return nil
		}
	}
	return nil
}
