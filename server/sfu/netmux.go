package sfu

import (
	"errors"
	"fmt"
	"net"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/transport/v5"
)

// --- test: vnet ---

// listenNetMux binds the media port on Config.Net (a pion vnet in tests)
// instead of the host's network: one socket on ip, which must be one of
// that network's addresses (with a Net, ListenIP is required). Writes are
// not batched: sendmmsg is for OS sockets.
func listenNetMux(nw transport.Net, ip net.IP, port int, newLogger func(string) logging.LeveledLogger) (ice.UDPMux, net.Addr, error) {
	if ip.IsUnspecified() {
		return nil, nil, errors.New("sfu: a Config.Net needs a ListenIP on that network")
	}
	conn, err := nw.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: port})
	if err != nil {
		return nil, nil, fmt.Errorf("sfu: listen: %w", err)
	}
	return ice.NewUDPMuxDefault(ice.UDPMuxParams{Logger: newLogger("ice-mux"), UDPConn: conn, Net: nw}), conn.LocalAddr(), nil
}
