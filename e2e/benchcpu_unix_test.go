//go:build unix

package e2e

import (
	"syscall"
	"time"
)

// benchCPU is this process's CPU time (user + system).
func benchCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
