//go:build linux && !(amd64 || arm64)

package sfu

import (
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
)

// rawSock: raw system calls only on amd64 and arm64 (rawsock_linux.go);
// elsewhere batchConn uses x/net and the net package.
type rawSock struct{}

func newRawSock(*net.UDPConn) *rawSock { return nil }

func (*rawSock) writeBatch([]ipv4.Message) error { panic("unreachable") }

func (*rawSock) readFrom([]byte) (int, netip.AddrPort, error) { panic("unreachable") }
