//go:build !linux

package sfu

import (
	"net"

	"github.com/pion/ice/v4"
)

// Direct sockets (direct_linux.go) rely on Linux's SO_REUSEPORT and
// reuseport BPF; elsewhere every packet goes through the mux.

func wrapDirect(m ice.UDPMux) ice.UDPMux { return m }

func listenShared(ip net.IP, port int) (*net.UDPConn, error) {
	return net.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: port})
}

// directMux: none here (direct_linux.go).
type directMux struct{ ice.UDPMux }

type directStats struct{ opened, packets uint64 }

func (*directMux) stats() directStats { return directStats{} }
