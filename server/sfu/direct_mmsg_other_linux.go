//go:build linux && !(amd64 || arm64)

package sfu

import (
	"net"
	"net/netip"
)

// mmsgReader: raw system calls only on amd64 and arm64
// (direct_mmsg_linux.go); elsewhere a direct socket is read with the net
// package.
type mmsgReader struct{}

func newMmsgReader(*net.UDPConn) *mmsgReader { return nil }

func (*mmsgReader) read([]byte) (int, netip.AddrPort, error) { panic("unreachable") }
