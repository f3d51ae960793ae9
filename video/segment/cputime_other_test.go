//go:build !unix

package segment

import (
	"testing"
	"time"
)

// cpuTime is not measured off Unix (no getrusage): the benchmarks then
// report a CPU time of 0.
func cpuTime(testing.TB) time.Duration { return 0 }
