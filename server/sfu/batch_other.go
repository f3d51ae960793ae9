//go:build !linux

package sfu

import "net"

// newBatchConn: batched writes (sendmmsg) are Linux-only; elsewhere the
// mux writes to the socket directly.
func newBatchConn(c *net.UDPConn) net.PacketConn { return c }
