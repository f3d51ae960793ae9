//go:build unix

package pgtest

import "syscall"

// detached puts the watchdog in its own process group, out of reach of a
// signal to the test's group.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
