//go:build linux || darwin || freebsd || netbsd || openbsd

package video

import "golang.org/x/sys/unix"

// TerminalCellSize returns the size of one character cell in pixels of
// the terminal on fd (from TIOCGWINSZ), for Renderer.CellWidth and
// CellHeight. ok is false when the terminal does not report pixel sizes.
func TerminalCellSize(fd uintptr) (w, h int, ok bool) {
	ws, err := unix.IoctlGetWinsize(int(fd), unix.TIOCGWINSZ)
	if err != nil || ws.Col == 0 || ws.Row == 0 || ws.Xpixel == 0 || ws.Ypixel == 0 {
		return 0, 0, false
	}
	return int(ws.Xpixel) / int(ws.Col), int(ws.Ypixel) / int(ws.Row), true
}
