package bench

import (
	"os"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSummarize(t *testing.T) {
	calls := []Call{{DialToBeginMs: 3, ServerCPUSecPerSec: -1}, {DialToBeginMs: 1, ServerCPUSecPerSec: -1}, {DialToBeginMs: 10, ServerCPUSecPerSec: -1}, {DialToBeginMs: 2, ServerCPUSecPerSec: -1}}
	s := summarize(calls)
	if diff := cmp.Diff(Stat{Median: 2.5, Min: 1, Max: 10}, s["dialToEstablishedMs"]); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, ok := s["serverCpuSecondsPerCallSecond"]; ok {
		t.Error("unknown figures summarized")
	}
}

func TestCPU(t *testing.T) {
	if _, ok := processCPU(); !ok && runtime.GOOS != "windows" {
		t.Error("no process CPU time")
	}
	if runtime.GOOS != "linux" {
		t.Skip("/proc")
	}
	x := 0
	for i := 0; i < 50_000_000; i++ {
		x += i
	}
	if c, ok := childCPU(os.Getpid()); !ok || c <= 0 {
		t.Errorf("childCPU(self) = %v, %v (%d)", c, ok, x)
	}
	if _, ok := childCPU(0); ok {
		t.Error("childCPU(0) ok")
	}
}
