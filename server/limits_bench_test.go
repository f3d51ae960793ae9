package server_test

import (
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/termcall/termcall/protocol"
)

// BenchmarkConnectedDevice measures what a connected, idle device costs the
// server: benchDevices devices log in, each pair places benchRounds calls
// with 1 KiB of userData (answered, then hung up), and once everyone has
// been idle for a few keepalive intervals the heap is measured after a GC.
// Metrics, per device:
//
//   - history-B/device: live heap the finished calls left behind (before the
//     bounded backlog: the replay backlog of up to 512 events);
//   - server-B/device: live heap allocated by the server's side of the
//     connection (the allocation stack goes through the server package or
//     net/http's server), from the heap profile;
//   - total-B/device: live heap of one logged-in device, the test's
//     in-process WebSocket client included.
//
// Goroutine stacks are not heap; each device has three on the server.
// Run it with
//
//	go test -run x -bench BenchmarkConnectedDevice -benchtime 1x ./server/
func BenchmarkConnectedDevice(b *testing.B) {
	const (
		benchDevices = 200
		benchRounds  = 20
	)
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 512
	defer func() { runtime.MemProfileRate = old }()
	for i := 0; i < b.N; i++ {
		s := startLimitsServer(b, nil)
		m0 := heapAlloc()
		s0 := serverHeap()
		cs := make([]*rawClient, benchDevices)
		for j := range cs {
			cs[j] = s.loginRaw(b, fmt.Sprintf("dev%04d", j))
		}
		time.Sleep(2500 * time.Millisecond)
		m1 := heapAlloc()
		data := strings.Repeat("x", 1024)
		for r := 0; r < benchRounds; r++ {
			for j := 0; j < benchDevices; j += 2 {
				caller, callee := cs[j], cs[j+1]
				id := uint64(10 + 3*r)
				m := caller.request(b, id, fmt.Sprintf(`{"type":"call","id":%d,"data":{"userIds":[%q],"mediaType":1,"params":{"userData":%q}}}`,
					id, fmt.Sprintf("dev%04d", j+1), data))
				var rep protocol.CallReply
				if err := json.Unmarshal(m.Data, &rep); err != nil {
					b.Fatal(err)
				}
				callee.awaitEvent(b, protocol.EventCallReceived)
				callee.request(b, id+1, fmt.Sprintf(`{"type":"accept","id":%d,"data":{"callId":%q}}`, id+1, rep.Call.CallID))
				caller.awaitEvent(b, protocol.EventCallBegin)
				caller.request(b, id+2, fmt.Sprintf(`{"type":"hangup","id":%d,"data":{"callId":%q}}`, id+2, rep.Call.CallID))
				caller.awaitEvent(b, protocol.EventCallEnd)
				callee.awaitEvent(b, protocol.EventCallEnd)
			}
		}
		// Idle for a few keepalive intervals (the bench server pings every second).
		time.Sleep(3500 * time.Millisecond)
		m2 := heapAlloc()
		s2 := serverHeap()
		b.ReportMetric(float64(int64(m2)-int64(m1))/benchDevices, "history-B/device")
		b.ReportMetric(float64(s2-s0)/benchDevices, "server-B/device")
		b.ReportMetric(float64(int64(m2)-int64(m0))/benchDevices, "total-B/device")
		for _, c := range cs {
			c.close()
		}
	}
}

func heapAlloc() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// serverHeap sums the live heap whose allocation stack runs through the
// server package (not its tests) or net/http's server side, as sampled by
// the heap profile.
func serverHeap() int64 {
	runtime.GC()
	runtime.GC()
	n, _ := runtime.MemProfile(nil, true)
	recs := make([]runtime.MemProfileRecord, n+100)
	n, _ = runtime.MemProfile(recs, true)
	var total int64
	for _, r := range recs[:n] {
		frames := runtime.CallersFrames(r.Stack())
		for {
			f, more := frames.Next()
			fn := f.Function
			if (strings.HasPrefix(fn, "github.com/termcall/termcall/server.") && !strings.Contains(fn, "server_test")) ||
				strings.HasPrefix(fn, "net/http.(*conn)") {
				// Scale the sampled bytes as pprof does.
				total += scaleSample(r.InUseBytes(), r.InUseObjects())
				break
			}
			if !more {
				break
			}
		}
	}
	return total
}

func scaleSample(bytes, objects int64) int64 {
	if objects == 0 || runtime.MemProfileRate <= 1 {
		return bytes
	}
	avg := float64(bytes) / float64(objects)
	scale := 1 / (1 - math.Exp(-avg/float64(runtime.MemProfileRate)))
	return int64(float64(bytes) * scale)
}
