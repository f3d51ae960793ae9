//go:build !unix

package rnnoise_test

import (
	"testing"
	"time"
)

// cpuTime is not measured here (getrusage is Unix's): the benchmark then
// reports 0.
func cpuTime(*testing.B) time.Duration { return 0 }
