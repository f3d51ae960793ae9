package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/termcall/termcall/internal/natstest"
	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server/cluster"
)

// Benchmarks of the operations a call setup does, on both backends. On
// NATS one embedded server over loopback TCP, one replica, file storage
// (nats) or memory storage (nats-memstore).

func eachBackendB(b *testing.B, bench func(b *testing.B, f *fleet)) {
	b.Helper()
	b.Run("memory", func(b *testing.B) { bench(b, &fleet{t: b, kind: "memory", mem: cluster.NewMemory()}) })
	b.Run("nats", func(b *testing.B) { bench(b, &fleet{t: b, kind: "nats", url: natstest.Start(b).URL}) })
	b.Run("nats-memstore", func(b *testing.B) { bench(b, &fleet{t: b, kind: "nats", url: natstest.Start(b).URL, mst: true}) })
	if url := os.Getenv("TERMCALL_TEST_NATS"); url != "" {
		b.Run("nats-external", func(b *testing.B) { bench(b, &fleet{t: b, kind: "nats", url: url, pfx: freshPrefix(), mst: true}) })
	}
}

// BenchmarkKVCreate: create-if-absent of a new key (taking a busy lock).
func BenchmarkKVCreate(b *testing.B) {
	eachBackendB(b, func(b *testing.B, f *fleet) {
		b.Helper()
		ctx := context.Background()
		kv, err := f.node().Bucket(ctx, "bench")
		must(b, "bucket", err)
		b.ResetTimer()
		for i := range b.N {
			if _, err := kv.Create(ctx, fmt.Sprintf("k%d", i), []byte(`{"node":"A","call":"c"}`)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkKVCAS: compare-and-set by revision of one key (a heartbeat).
func BenchmarkKVCAS(b *testing.B) {
	eachBackendB(b, func(b *testing.B, f *fleet) {
		b.Helper()
		ctx := context.Background()
		kv, err := f.node().Bucket(ctx, "bench")
		must(b, "bucket", err)
		rev, err := kv.Create(ctx, "k", []byte("0"))
		must(b, "create", err)
		b.ResetTimer()
		for range b.N {
			if rev, err = kv.Update(ctx, "k", []byte(`{"id":"A","beat":1}`), rev); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkClaimRelease: take and release a busy lock (two KV writes).
func BenchmarkClaimRelease(b *testing.B) {
	eachBackendB(b, func(b *testing.B, f *fleet) {
		b.Helper()
		ctx := context.Background()
		s := f.state(f.node(), "A")
		o := cluster.Owner{Node: "A", Call: "c1"}
		b.ResetTimer()
		for i := range b.N {
			c, err := s.Busy.Claim(ctx, fmt.Sprintf("u%d", i%1000), o)
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Busy.Release(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRequestReply: one bus round trip between two nodes (two
// connections), 100-byte payload.
func BenchmarkRequestReply(b *testing.B) {
	eachBackendB(b, func(b *testing.B, f *fleet) {
		b.Helper()
		ctx := context.Background()
		bus := f.node().Bus()
		stop, err := f.node().Bus().Serve("A", cluster.KindCall, func(d []byte) []byte { return d })
		must(b, "serve", err)
		defer stop()
		payload := make([]byte, 100)
		b.ResetTimer()
		for range b.N {
			if _, err := bus.Request(ctx, "A", cluster.KindCall, payload); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkToOwner: a call request routed to its owner: the ownership
// lookup (a KV get) plus the round trip, with JSON both ways.
func BenchmarkToOwner(b *testing.B) {
	eachBackendB(b, func(b *testing.B, f *fleet) {
		b.Helper()
		ctx := context.Background()
		a, o := f.state(f.node(), "A"), f.state(f.node(), "B")
		stop, err := o.Router.ServeCalls(func(req cluster.CallRequest) (json.RawMessage, error) { return json.RawMessage(`{}`), nil })
		must(b, "serve", err)
		defer stop()
		_, err = o.Calls.Claim(ctx, "c1", cluster.Owner{Node: "B"})
		must(b, "own", err)
		req := cluster.CallRequest{CallID: "c1", User: "alice", Device: "d1", Msg: protocol.Message{Type: "accept", ID: 1, Data: []byte(`{"callId":"c1"}`)}}
		b.ResetTimer()
		for range b.N {
			if _, err := a.Router.ToOwner(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkClaimParallel: busy locks taken concurrently by one node (one
// connection, 8 goroutines per core): throughput, not latency.
func BenchmarkClaimParallel(b *testing.B) {
	eachBackendB(b, func(b *testing.B, f *fleet) {
		b.Helper()
		ctx := context.Background()
		s := f.state(f.node(), "A")
		var next atomic.Int64
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Busy.Claim(ctx, fmt.Sprintf("u%d", next.Add(1)), cluster.Owner{Node: "A", Call: "c"}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkRequestReplyParallel: concurrent requests from one node to
// another (one connection each side): throughput.
func BenchmarkRequestReplyParallel(b *testing.B) {
	eachBackendB(b, func(b *testing.B, f *fleet) {
		b.Helper()
		ctx := context.Background()
		bus := f.node().Bus()
		stop, err := f.node().Bus().Serve("A", cluster.KindCall, func(d []byte) []byte { return d })
		must(b, "serve", err)
		defer stop()
		payload := make([]byte, 100)
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := bus.Request(ctx, "A", cluster.KindCall, payload); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
