//go:build !unix

package server

// nofileLimit is a conservative open-file limit where there is no
// RLIMIT_NOFILE.
func nofileLimit() int { return 1024 }
