package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/usersig"
)

const (
	benchUsers = 1000 // logged-in engines on the one server
	benchPairs = benchUsers / 2
	benchWait  = 15 * time.Second // bound on any single wait; a stuck call fails the benchmark
)

// setupProfile names a file for a CPU profile of Throughput's timed region
// alone (-test.cpuprofile also covers the 1,000 logins). Its samples carry
// the label side=server (the server's goroutines: connections, handlers,
// the store's writer), side=engine (the engines' goroutines) or
// side=harness (the benchmark's goroutines, which call the engines' API),
// so that `go tool pprof -tagfocus side=server` gives the server's share.
var setupProfile = flag.String("callsetup.cpuprofile", "", "write a CPU profile of BenchmarkCallSetup/Throughput's timed region to this file")

// BenchmarkCallSetup measures 1v1 call setup with benchUsers engines logged
// in to one in-process server:
//
//   - InviteLatency: one call at a time; per call, the time from just
//     before Call() to the callee's observer receiving CallReceived
//     (median-ms, p99-ms).
//   - Throughput: benchPairs caller/callee pairs in parallel, each looping
//     Call, Accept on CallReceived, CallBegin at the caller, Hangup, CallEnd
//     at both; the records are flushed to the store inside the timed region
//     (setups/s, plus the invite latency under that load).
//
// Run it with, e.g.,
//
//	go test -run x -bench BenchmarkCallSetup -benchtime 3000x ./e2e/
func BenchmarkCallSetup(b *testing.B) {
	if testing.Short() {
		b.Skip("logs in 1,000 engines")
	}
	be := newBenchEnv(b, benchUsers)
	b.Run("InviteLatency", be.inviteLatency)
	b.Run("Throughput", be.throughput)
}

// benchEnv is one server with n logged-in engines.
type benchEnv struct {
	srv   *server.Server
	url   string
	http  *http.Client
	users []*benchUser
}

// benchUser is one engine and what its observer saw, time-stamped.
type benchUser struct {
	id  string
	eng *engine.Engine
	evs chan benchEvent
}

type benchEvent struct {
	ev engine.Event
	at time.Time
}

func newBenchEnv(b *testing.B, n int) *benchEnv {
	b.Helper()
	// Goroutines inherit their creator's profile labels: the server's
	// (its store's writer, its listener and every connection) carry
	// side=server, the engines' side=engine.
	var (
		srv *server.Server
		err error
	)
	pprof.Do(context.Background(), pprof.Labels("side", "server"), func(context.Context) {
		srv, err = server.New(context.Background(), server.Config{
			SDKAppID: appID, Secret: secret, DataDir: b.TempDir(),
			Logger: slog.New(slog.DiscardHandler),
			// Every engine connects from 127.0.0.1: no per-IP cap (the
			// automatic one is an eighth of the open-file limit).
			MaxConnectionsPerIP: -1,
			// Signaling and records only: this measures the call server's
			// setup path. With media every call also costs four
			// PeerConnections and two DTLS handshakes (about 60 setups/s
			// here); `termcall loadtest` measures setup to media.
			NoMedia: true,
		})
	})
	if err != nil {
		b.Fatalf("server.New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatalf("listen: %v", err)
	}
	served := make(chan struct{})
	go pprof.Do(context.Background(), pprof.Labels("side", "server"), func(context.Context) {
		_ = srv.Serve(ln)
		close(served)
	})
	be := &benchEnv{srv: srv, url: "http://" + ln.Addr().String(), http: &http.Client{Transport: &http.Transport{}}}
	b.Cleanup(func() {
		be.destroyEngines()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Close(ctx); err != nil {
			b.Errorf("server close: %v", err)
		}
		<-served
		be.http.CloseIdleConnections()
	})

	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("u%04d", i)
	}
	// Known users log in without a store write each.
	if err := be.admin("POST", "/v1/users", fmt.Sprintf(`{"userIds":["%s"]}`, strings.Join(ids, `","`))); err != nil {
		b.Fatalf("add users: %v", err)
	}
	be.users = make([]*benchUser, n)
	for i, id := range ids {
		eng, err := engine.New(engine.Options{Server: be.url})
		if err != nil {
			b.Fatalf("engine.New: %v", err)
		}
		u := &benchUser{id: id, eng: eng, evs: make(chan benchEvent, 256)}
		eng.AddObserver(engine.NewObserver(func(ev engine.Event) {
			u.evs <- benchEvent{ev: ev, at: time.Now()}
		}))
		be.users[i] = u
	}
	err = benchParallel(32, n, func(i int) error {
		var err error
		pprof.Do(context.Background(), pprof.Labels("side", "engine"), func(context.Context) { err = benchLogin(be.users[i]) })
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return be
}

// benchLogin logs one engine in.
func benchLogin(u *benchUser) error {
	sig, err := usersig.Gen(appID, secret, u.id, 24*time.Hour)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), benchWait)
	defer cancel()
	if err := u.eng.Init(ctx, appID, u.id, sig); err != nil {
		return fmt.Errorf("%s: Init: %w", u.id, err)
	}
	return nil
}

func (be *benchEnv) destroyEngines() {
	_ = benchParallel(64, len(be.users), func(i int) error {
		if u := be.users[i]; u != nil {
			u.eng.Destroy()
		}
		return nil
	})
}

// admin calls the admin REST API; a GET of /v1/calls flushes the record
// store first.
func (be *benchEnv) admin(method, path, body string) error {
	sig, err := usersig.Gen(appID, secret, "administrator", time.Hour)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, be.url+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+sig)
	resp, err := be.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d", method, path, resp.StatusCode)
	}
	return nil
}

// benchParallel runs f(0..n-1) on at most workers goroutines and returns
// the first error.
func benchParallel(workers, n int, f func(i int) error) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for w := 0; w < min(workers, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// benchWaitFor returns the user's next event of type E, skipping others.
func benchWaitFor[E engine.Event](u *benchUser) (E, time.Time, error) {
	timer := time.NewTimer(benchWait)
	defer timer.Stop()
	for {
		select {
		case be := <-u.evs:
			if ev, ok := be.ev.(E); ok {
				return ev, be.at, nil
			}
		case <-timer.C:
			var zero E
			return zero, time.Time{}, fmt.Errorf("%s: no %s within %v", u.id, zero.Name(), benchWait)
		}
	}
}

// inviteLatency places one call at a time, rotating over the pairs, and
// cancels it once the callee rings.
func (be *benchEnv) inviteLatency(b *testing.B) {
	b.ReportAllocs()
	lats := make([]time.Duration, 0, b.N)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := i % (len(be.users) / 2)
		caller, callee := be.users[2*p], be.users[2*p+1]
		start := time.Now()
		info, err := caller.eng.Call(ctx, callee.id, engine.MediaTypeAudio, engine.CallParams{})
		if err != nil {
			b.Fatalf("%s: Call: %v", caller.id, err)
		}
		ev, at, err := benchWaitFor[engine.CallReceived](callee)
		if err != nil {
			b.Fatal(err)
		}
		if ev.CallID != info.CallID {
			b.Fatalf("%s: CallReceived for %s, want %s", callee.id, ev.CallID, info.CallID)
		}
		lats = append(lats, at.Sub(start))
		if err := caller.eng.Hangup(ctx); err != nil {
			b.Fatalf("%s: Hangup: %v", caller.id, err)
		}
		for _, u := range []*benchUser{caller, callee} {
			if _, _, err := benchWaitFor[engine.CallCancelled](u); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	reportLatency(b, lats, "")
}

// throughput runs complete call setups on all pairs in parallel.
func (be *benchEnv) throughput(b *testing.B) {
	b.ReportAllocs()
	lats := make([]time.Duration, b.N)
	var (
		next    atomic.Int64
		failed  atomic.Bool
		errOnce sync.Once
		first   error
		wg      sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { first = err })
		failed.Store(true)
	}
	stopProfile := startSetupProfile(b)
	cpu0 := benchCPU()
	b.ResetTimer()
	for p := 0; p < len(be.users)/2; p++ {
		wg.Add(1)
		go func(caller, callee *benchUser) {
			defer wg.Done()
			pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("side", "harness")))
			for !failed.Load() {
				n := next.Add(1)
				if n > int64(b.N) {
					return
				}
				lat, err := setupOne(caller, callee)
				if err != nil {
					fail(err)
					return
				}
				lats[n-1] = lat
			}
		}(be.users[2*p], be.users[2*p+1])
	}
	wg.Wait()
	if first != nil {
		b.Fatal(first)
	}
	// The records of every call are committed before the clock stops.
	if err := be.admin("GET", "/v1/calls?limit=1", ""); err != nil {
		b.Fatalf("flush records: %v", err)
	}
	b.StopTimer()
	cpu := benchCPU() - cpu0
	stopProfile()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "setups/s")
	// The machine may be shared: CPU per setup (of this process: the
	// engines and the server) is the figure that does not depend on how
	// much of it the benchmark got; setups per CPU-second is its inverse.
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/setup")
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "setups/cpu-s")
	}
	reportLatency(b, lats, "load-")
}

// startSetupProfile starts the -callsetup.cpuprofile profile (of the
// largest b.N only: each run overwrites the file) and returns its stop.
func startSetupProfile(b *testing.B) func() {
	b.Helper()
	if *setupProfile == "" {
		return func() {}
	}
	f, err := os.Create(*setupProfile)
	if err != nil {
		b.Fatalf("profile: %v", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		b.Fatalf("profile: %v", err)
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			b.Errorf("profile: %v", err)
		}
	}
}

// setupOne runs one complete call and returns its invite latency.
func setupOne(caller, callee *benchUser) (time.Duration, error) {
	ctx := context.Background()
	start := time.Now()
	info, err := caller.eng.Call(ctx, callee.id, engine.MediaTypeAudio, engine.CallParams{})
	if err != nil {
		return 0, fmt.Errorf("%s: Call: %w", caller.id, err)
	}
	ev, at, err := benchWaitFor[engine.CallReceived](callee)
	if err != nil {
		return 0, err
	}
	if ev.CallID != info.CallID {
		return 0, fmt.Errorf("%s: CallReceived for %s, want %s", callee.id, ev.CallID, info.CallID)
	}
	if err := callee.eng.Accept(ctx); err != nil {
		return 0, fmt.Errorf("%s: Accept: %w", callee.id, err)
	}
	if _, _, err := benchWaitFor[engine.CallBegin](caller); err != nil {
		return 0, err
	}
	if err := caller.eng.Hangup(ctx); err != nil {
		return 0, fmt.Errorf("%s: Hangup: %w", caller.id, err)
	}
	var errs []error
	for _, u := range []*benchUser{caller, callee} {
		end, _, err := benchWaitFor[engine.CallEnd](u)
		if err == nil && (end.CallID != info.CallID || end.Reason != engine.ReasonHangup) {
			err = fmt.Errorf("%s: CallEnd %+v, want the end of %s by hangup", u.id, end, info.CallID)
		}
		errs = append(errs, err)
	}
	return at.Sub(start), errors.Join(errs...)
}

func reportLatency(b *testing.B, lats []time.Duration, prefix string) {
	b.Helper()
	if len(lats) == 0 {
		return
	}
	s := slices.Clone(lats)
	slices.Sort(s)
	pct := func(p float64) float64 {
		i := int(p * float64(len(s)-1))
		return float64(s[i]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), prefix+"median-ms")
	b.ReportMetric(pct(0.99), prefix+"p99-ms")
}
