package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/engine"
	"github.com/termcall/termcall/internal/natstest"
	"github.com/termcall/termcall/internal/pgtest"
	"github.com/termcall/termcall/server"
	"github.com/termcall/termcall/usersig"
)

// benchClusterUsers engines are logged in, spread over the nodes so that
// every caller/callee pair (2p, 2p+1) is on two different nodes.
const benchClusterUsers = 120

// BenchmarkClusterCallSetup compares, in one run, 1v1 call setup on a
// single node (no NATS) and across a 3-node cluster (embedded NATS), both
// on the same PostgreSQL server, with the measurements of
// BenchmarkCallSetup: InviteLatency (one call at a time, Call() to the
// callee's CallReceived: median-ms, p99-ms) and Throughput (every pair in
// parallel: call, accept, hangup; setups/s). The cluster runs also report
// the NATS operations per setup (KV round trips, node-to-node requests,
// published messages), summed over the nodes.
//
//	go test -run x -bench BenchmarkClusterCallSetup -benchtime 1000x ./e2e/
func BenchmarkClusterCallSetup(b *testing.B) {
	if testing.Short() {
		b.Skip("starts four servers and logs in 240 engines")
	}
	for _, nodes := range []int{1, 3} {
		name := "single"
		if nodes > 1 {
			name = fmt.Sprintf("cluster%d", nodes)
		}
		b.Run(name, func(b *testing.B) {
			be, srvs := newClusterBenchEnv(b, nodes, benchClusterUsers)
			ops := func() (kv, req, pub uint64) {
				for _, s := range srvs {
					k, r, p := s.ClusterOps()
					kv, req, pub = kv+k, req+r, pub+p
				}
				return
			}
			measure := func(f func(*testing.B)) func(*testing.B) {
				return func(b *testing.B) {
					b.Helper()
					k0, r0, p0 := ops()
					f(b)
					if nodes > 1 {
						k, r, p := ops()
						n := float64(b.N)
						b.ReportMetric(float64(k-k0)/n, "kv-ops/setup")
						b.ReportMetric(float64(r-r0)/n, "requests/setup")
						b.ReportMetric(float64(p-p0)/n, "publishes/setup")
					}
				}
			}
			b.Run("InviteLatency", measure(be.inviteLatency))
			b.Run("Throughput", measure(be.throughput))
		})
	}
}

// newClusterBenchEnv starts nodes servers (one without NATS) on one
// database and logs n engines in, user i on node i mod nodes.
func newClusterBenchEnv(b *testing.B, nodes, n int) (*benchEnv, []*server.Server) {
	b.Helper()
	dsn := pgtest.NewDB(b)
	var natsURL string
	if nodes > 1 {
		natsURL = natstest.Start(b).URL
	}
	var urls []string
	var srvs []*server.Server
	for i := range nodes {
		cfg := server.Config{
			SDKAppID: appID, Secret: secret, DataDir: b.TempDir(), Database: dsn,
			Logger: slog.New(slog.DiscardHandler), MaxConnectionsPerIP: -1, MediaIP: "127.0.0.1",
			CallRate: -1, MaxPendingInvitations: -1, // each user places (and cancels) many calls
		}
		if natsURL != "" {
			cfg.NATS, cfg.NodeID = natsURL, fmt.Sprintf("b%d", i+1)
			// Saturated on purpose: a heartbeat (bounded by its interval)
			// that takes over 1 s would make the node refuse calls.
			cfg.ClusterHeartbeat, cfg.ClusterDeadAfter = 3*time.Second, 10*time.Second
		}
		srv, err := server.New(context.Background(), cfg)
		if err != nil {
			b.Fatalf("server.New: %v", err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatalf("listen: %v", err)
		}
		served := make(chan struct{})
		go func() { _ = srv.Serve(ln); close(served) }()
		b.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Close(ctx); err != nil {
				b.Errorf("server close: %v", err)
			}
			<-served
		})
		urls = append(urls, "http://"+ln.Addr().String())
		srvs = append(srvs, srv)
	}
	be := &benchEnv{srv: srvs[0], url: urls[0], http: &http.Client{Transport: &http.Transport{}}}
	b.Cleanup(func() { be.destroyEngines(); be.http.CloseIdleConnections() })
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("u%04d", i)
	}
	if err := be.admin("POST", "/v1/users", fmt.Sprintf(`{"userIds":["%s"]}`, strings.Join(ids, `","`))); err != nil {
		b.Fatalf("add users: %v", err)
	}
	be.users = make([]*benchUser, n)
	for i, id := range ids {
		eng, err := engine.New(engine.Options{Server: urls[i%nodes]})
		if err != nil {
			b.Fatalf("engine.New: %v", err)
		}
		u := &benchUser{id: id, eng: eng, evs: make(chan benchEvent, 256)}
		eng.AddObserver(engine.NewObserver(func(ev engine.Event) {
			u.evs <- benchEvent{ev: ev, at: time.Now()}
		}))
		be.users[i] = u
	}
	err := benchParallel(16, n, func(i int) error {
		u := be.users[i]
		sig, err := usersig.Gen(appID, secret, u.id, 24*time.Hour)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), benchWait)
		defer cancel()
		return u.eng.Init(ctx, appID, u.id, sig)
	})
	if err != nil {
		b.Fatal(err)
	}
	// Wait until every node knows every user (the broadcast of the
	// admin's addition) before the clock starts.
	time.Sleep(200 * time.Millisecond)
	return be, srvs
}
