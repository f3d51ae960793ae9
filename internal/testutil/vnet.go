package testutil

import (
	"sync"

	"github.com/pion/transport/v5/vnet"
)

// vnetMu serialises making pion vnet routers and hosts: vnet hands out
// MAC addresses from an unsynchronised package counter (transport v5,
// vnet/net.go newMACAddress), which the race detector catches when
// parallel tests build their networks at the same time.
var vnetMu sync.Mutex

// NewVNetRouter is vnet.NewRouter, one at a time.
func NewVNetRouter(c *vnet.RouterConfig) (*vnet.Router, error) {
	vnetMu.Lock()
	defer vnetMu.Unlock()
	return vnet.NewRouter(c)
}

// NewVNetNet is vnet.NewNet, one at a time.
func NewVNetNet(c *vnet.NetConfig) (*vnet.Net, error) {
	vnetMu.Lock()
	defer vnetMu.Unlock()
	return vnet.NewNet(c)
}
