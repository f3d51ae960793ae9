//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package video

// TerminalCellSize is not available on this platform.
func TerminalCellSize(fd uintptr) (w, h int, ok bool) { return 0, 0, false }
