//go:build unix

package server

import "syscall"

// nofileLimit is the process's soft RLIMIT_NOFILE (Go raises it to the hard
// limit at start-up), or 1024 when it cannot be read.
func nofileLimit() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur == 0 {
		return 1024
	}
	if r.Cur > 1<<20 {
		return 1 << 20
	}
	return int(r.Cur)
}
