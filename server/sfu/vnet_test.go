package sfu

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"

	"github.com/termcall/termcall/internal/testutil"
)

// vnetLAN is a pion vnet router (10.0.0.0/24) with a filter that can cut
// one host off, both ways, as a network partition does.
type vnetLAN struct {
	router *vnet.Router
	cut    sync.Map // IP string -> struct{}: hosts cut off
	rtp    atomic.Int64
}

func newVNetLAN(t *testing.T) *vnetLAN {
	t.Helper()
	r, err := testutil.NewVNetRouter(&vnet.RouterConfig{CIDR: "10.0.0.0/24", LoggerFactory: logging.NewDefaultLoggerFactory()})
	if err != nil {
		t.Fatal(err)
	}
	l := &vnetLAN{router: r}
	r.AddChunkFilter(func(c vnet.Chunk) bool {
		for _, a := range []net.Addr{c.SourceAddr(), c.DestinationAddr()} {
			if ua, ok := a.(*net.UDPAddr); ok {
				if _, off := l.cut.Load(ua.IP.String()); off {
					return false
				}
			}
		}
		if b := c.UserData(); len(b) >= 2 && b[0] >= 128 && b[0] <= 191 && (b[1] < 192 || b[1] > 223) {
			l.rtp.Add(1)
		}
		return true
	})
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop() })
	return l
}

// host adds a host at ip, before or after the router started.
func (l *vnetLAN) host(t *testing.T, ip string) *vnet.Net {
	t.Helper()
	n, err := testutil.NewVNetNet(&vnet.NetConfig{StaticIPs: []string{ip}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.router.AddNet(n); err != nil {
		t.Fatal(err)
	}
	return n
}

// vnetClientAPI is clientAPI on a vnet host instead of loopback.
func vnetClientAPI(t *testing.T, n *vnet.Net) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetNet(n)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.LoggerFactory = pionLoggerFactory{log: testLogger()}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// TestConfigNet: with Config.Net the SFU's media runs on that network (a
// vnet here: every RTP packet crosses its router); a partition cutting
// alice off stops what bob gets from her, and when it heals her audio
// flows again on the same PeerConnections.
func TestConfigNet(t *testing.T) {
	l := newVNetLAN(t)
	s := newTestSFU(t, func(c *Config) { c.Net, c.ListenIP = l.host(t, "10.0.0.1"), "10.0.0.1" })
	if a := s.Addr().(*net.UDPAddr); a.IP.String() != "10.0.0.1" {
		t.Fatalf("SFU address %v, want one on the vnet", a)
	}
	a := newClient(t, s, vnetClientAPI(t, l.host(t, "10.0.0.2")), "call1", "alice", "devA")
	b := newClient(t, s, vnetClientAPI(t, l.host(t, "10.0.0.3")), "call1", "bob", "devB")
	s.SetConnected("call1", "devA", true)
	s.SetConnected("call1", "devB", true)
	testutil.Until(t, "audio both ways", flowTimeout, func() bool { return a.count("bob") >= 20 && b.count("alice") >= 20 })
	if n := l.rtp.Load(); n < 80 {
		t.Fatalf("%d RTP packets crossed the vnet router, want every one of the 80+ exchanged", n)
	}

	l.cut.Store("10.0.0.2", struct{}{})
	// What was on its way when the cut came may still arrive; then
	// nothing crosses, either way (both send every 5 ms).
	var stalled int
	testutil.WithTimeout(t, func() string {
		fromAlice, fromBob := b.count("alice"), a.count("bob")
		time.Sleep(200 * time.Millisecond)
		stalled = b.count("alice")
		if stalled != fromAlice || a.count("bob") != fromBob {
			return fmt.Sprintf("packets still cross the partition: %d to bob, %d to alice in 200 ms", stalled-fromAlice, a.count("bob")-fromBob)
		}
		return ""
	}, flowTimeout)
	l.cut.Delete("10.0.0.2")
	testutil.Until(t, "alice's audio to reach bob again after the partition healed", flowTimeout, func() bool { return b.count("alice") >= stalled+20 })
	for _, c := range []*testClient{a, b} {
		if err := c.err(); err != nil {
			t.Fatalf("%s: %v", c.userID, err)
		}
	}
}

// TestConfigNetNeedsListenIP: a Net without a ListenIP is refused, with a
// message naming what is missing.
func TestConfigNetNeedsListenIP(t *testing.T) {
	l := newVNetLAN(t)
	_, err := New(Config{Net: l.host(t, "10.0.0.1"), Logger: testLogger()})
	if err == nil || err.Error() != "sfu: a Config.Net needs a ListenIP on that network" {
		t.Fatalf("New with a Net and no ListenIP: %v", err)
	}
}
