//go:build !linux

package engine

import "github.com/pion/transport/v5"

// Only Linux has gated sockets (recvgate.go); elsewhere the engine uses
// pion's standard network and the send clock's gate does nothing.

type recvGate struct{}

func (*recvGate) Tick() {}
func (*recvGate) Stop() {}

func newGatedNet(*recvGate, func() bool) (transport.Net, error) { return nil, nil }
