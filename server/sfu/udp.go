package sfu

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
)

// listenMux binds the media port the way pion/ice wants it. pion's
// UDPMuxDefault on an unspecified address (0.0.0.0) works but warns ("should
// not listening on unspecified address, use NewMultiUDPMuxFromPort"): it
// cannot tell which local address a packet came to. So with ListenIP "" the
// SFU binds the port on every IPv4 address of the host's interfaces that are
// up (loopback included) — one socket each, all on the same port, one
// UDPMuxDefault per socket, joined in a MultiUDPMuxDefault — and with a
// ListenIP it binds that address alone. Port 0 picks a free port on the
// first address and binds the others on the same one (retrying a few times
// if one of them already has it).
//
// Addresses added to the host after the SFU started are not listened on.
//
// Each socket's writes are batched (batch_linux.go: sendmmsg), and on
// Linux a device that sends media gets a socket of its own on the port
// for its inbound packets with direct (direct_linux.go).
func listenMux(ip net.IP, port int, direct bool, newLogger func(string) logging.LeveledLogger) (ice.UDPMux, net.Addr, error) {
	wrap := func(m ice.UDPMux) ice.UDPMux { return m }
	if direct {
		wrap = wrapDirect
	}
	if !ip.IsUnspecified() {
		conn, err := listenUDP(ip, port, direct)
		if err != nil {
			return nil, nil, err
		}
		return wrap(ice.NewUDPMuxDefault(ice.UDPMuxParams{Logger: newLogger("ice-mux"), UDPConn: newBatchConn(conn)})), conn.LocalAddr(), nil
	}
	ips, err := localIPv4s()
	if err != nil {
		return nil, nil, err
	}
	if len(ips) == 0 {
		return nil, nil, errors.New("sfu: listen: no IPv4 address on any interface that is up")
	}
	const attempts = 8
	for try := 0; ; try++ {
		conns, err := listenAll(ips, port, direct)
		if err == nil {
			muxes := make([]ice.UDPMux, len(conns))
			for i, c := range conns {
				muxes[i] = ice.NewUDPMuxDefault(ice.UDPMuxParams{Logger: newLogger("ice-mux"), UDPConn: newBatchConn(c)})
			}
			addr := &net.UDPAddr{IP: net.IPv4zero, Port: conns[0].LocalAddr().(*net.UDPAddr).Port}
			return wrap(ice.NewMultiUDPMuxDefault(muxes...)), addr, nil
		}
		if port != 0 || try == attempts-1 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, err
		}
	}
}

// listenAll binds port on every address; with port 0, on the port the
// first address got.
func listenAll(ips []net.IP, port int, direct bool) ([]*net.UDPConn, error) {
	var conns []*net.UDPConn
	for _, ip := range ips {
		c, err := listenUDP(ip, port, direct)
		if err != nil {
			for _, o := range conns {
				o.Close()
			}
			return nil, err
		}
		conns = append(conns, c)
		port = c.LocalAddr().(*net.UDPAddr).Port
	}
	return conns, nil
}

// listenUDP binds one media socket; with direct, so that direct sockets
// can join its port (direct_linux.go).
func listenUDP(ip net.IP, port int, direct bool) (*net.UDPConn, error) {
	listen := func(ip net.IP, port int) (*net.UDPConn, error) {
		return net.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: port})
	}
	if direct {
		listen = listenShared
	}
	conn, err := listen(ip, port)
	if err != nil {
		return nil, fmt.Errorf("sfu: listen: %w", err)
	}
	// Room for bursts: every device's media comes through this port.
	_ = conn.SetReadBuffer(4 << 20)
	_ = conn.SetWriteBuffer(4 << 20)
	return conn, nil
}

// localIPv4s lists the IPv4 addresses of the interfaces that are up:
// loopback and unicast ones (link-local 169.254/16 is left out, as pion's
// own gathering does).
func localIPv4s() ([]net.IP, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("sfu: interfaces: %w", err)
	}
	var ips []net.IP
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip := n.IP.To4()
			if ip == nil || ip.IsLinkLocalUnicast() {
				continue
			}
			if ip.IsLoopback() || ip.IsGlobalUnicast() {
				ips = append(ips, ip)
			}
		}
	}
	return ips, nil
}
