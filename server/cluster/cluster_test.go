package cluster_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"

	"github.com/termcall/termcall/internal/natstest"
	"github.com/termcall/termcall/server/cluster"
)

// TestMain fails the package's tests on leaked goroutines.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fleet makes backends that share one cluster state, one per simulated
// node: on NATS each has its own connection to one embedded server.
type fleet struct {
	t    testing.TB
	kind string
	mem  *cluster.Memory
	url  string // the NATS server's
	pfx  string // NATS bucket prefix: a separate cluster state per lane
	mst  bool   // NATS buckets in memory storage
}

// lane is a fleet with its own, empty cluster state (own buckets) on the
// same NATS server.
func (f *fleet) lane(t testing.TB, i int) *fleet {
	t.Helper()
	return &fleet{t: t, kind: f.kind, mem: cluster.NewMemory(), url: f.url, pfx: fmt.Sprintf("%slane%d_", f.pfx, i), mst: f.mst}
}

// node is one simulated node's backend; kill cuts it off (closes its NATS
// connection; for memory, nothing: the caller stops its heartbeats).
type node struct {
	cluster.Backend
	nc *nats.Conn
}

func (n *node) kill() {
	if n.nc != nil {
		n.nc.Close()
	}
}

func (f *fleet) node() *node {
	f.t.Helper()
	n, err := f.tryNode()
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// tryNode is node for other goroutines than the test's.
func (f *fleet) tryNode() (*node, error) {
	if f.kind == "memory" {
		return &node{Backend: f.mem}, nil
	}
	nc, err := nats.Connect(f.url, nats.MaxReconnects(0))
	if err != nil {
		return nil, err
	}
	f.t.Cleanup(nc.Close)
	b, err := cluster.NewNATS(nc, cluster.NATSOptions{BucketPrefix: f.pfx, Memory: f.mst})
	if err != nil {
		return nil, err
	}
	return &node{Backend: b, nc: nc}, nil
}

func (f *fleet) state(n *node, id string) *cluster.State {
	f.t.Helper()
	s, err := cluster.Open(ctxT(f.t), n, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// eachBackend runs the test against the in-memory and the NATS backends.
func eachBackend(t *testing.T, test func(t *testing.T, f *fleet)) {
	t.Helper()
	t.Run("memory", func(t *testing.T) {
		test(t, &fleet{t: t, kind: "memory", mem: cluster.NewMemory()})
	})
	t.Run("nats", func(t *testing.T) {
		test(t, &fleet{t: t, kind: "nats", url: natstest.Start(t).URL})
	})
	// TERMCALL_TEST_NATS=nats://host:port runs the tests against another
	// NATS server too (e.g. Debian's nats-server 2.9 started with -js), in
	// buckets of their own (memory storage, a fresh prefix per test).
	if url := os.Getenv("TERMCALL_TEST_NATS"); url != "" {
		t.Run("nats-external", func(t *testing.T) {
			test(t, &fleet{t: t, kind: "nats", url: url, pfx: freshPrefix(), mst: true})
		})
	}
}

// freshPrefix names a new set of buckets on an external NATS.
func freshPrefix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:]) + "_"
}

// ctxT is a context bounded by 60 s and the test.
func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

func must(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
