//go:build !linux

package engine

import "github.com/pion/transport/v5"

// newGatedNet: only Linux has gated sockets (recvgate.go); elsewhere the
// engine uses pion's standard network.
func newGatedNet(*recvGate, func() bool) (transport.Net, error) { return nil, nil }
