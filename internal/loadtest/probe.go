package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// serverProbe reads the server's CPU time, memory and forwarded packets.
type serverProbe struct {
	pid     int
	metrics string
	hc      *http.Client
}

type serverSample struct {
	cpu        float64
	cpuOK      bool
	rss        uint64
	fwd        float64
	fwdOK      bool
	metricsCPU bool
}

func newServerProbe(o *Options, u *url.URL) *serverProbe {
	p := &serverProbe{pid: o.ServerPID, metrics: o.MetricsURL, hc: httpClient(o)}
	if p.metrics == "" {
		p.metrics = httpOrigin(o.Server) + "/metrics"
	}
	if p.pid == 0 && isLocalHost(u.Hostname()) {
		port := u.Port()
		if port == "" {
			port = map[string]string{"http": "80", "ws": "80", "https": "443", "wss": "443"}[u.Scheme]
		}
		if n, err := strconv.Atoi(port); err == nil {
			p.pid = listenerPID(n)
		}
	}
	return p
}

func (p *serverProbe) sample(ctx context.Context) serverSample {
	var s serverSample
	if p.pid > 0 {
		s.cpu, s.rss, s.cpuOK = procStat(p.pid)
	}
	m := p.scrape(ctx)
	if v, ok := m["termcall_sfu_rtp_packets_forwarded_total"]; ok {
		s.fwd, s.fwdOK = v, true
	}
	if !s.cpuOK {
		if v, ok := m["process_cpu_seconds_total"]; ok {
			s.cpu, s.cpuOK, s.metricsCPU = v, true, true
		}
		if v, ok := m["process_resident_memory_bytes"]; ok {
			s.rss = uint64(v)
		}
	}
	return s
}

// scrape reads the unlabelled series of a Prometheus text exposition.
func (p *serverProbe) scrape(ctx context.Context) map[string]float64 {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", p.metrics, nil)
	if err != nil {
		return nil
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok || strings.ContainsRune(name, '{') {
			continue
		}
		if f, err := strconv.ParseFloat(strings.Fields(val)[0], 64); err == nil {
			out[name] = f
		}
	}
	return out
}

// fill puts the server's figures over the window into rep.
func (p *serverProbe) fill(rep *Report, s0, s1 serverSample) {
	if s0.fwdOK && s1.fwdOK && s1.fwd >= s0.fwd {
		rep.ForwardedPackets, rep.ForwardedSource = uint64(s1.fwd-s0.fwd), "metrics"
	} else {
		rep.ForwardedPackets, rep.ForwardedSource = rep.PacketsReceived, "clients"
	}
	rep.ServerRSSBytes = s1.rss
	if !s0.cpuOK || !s1.cpuOK || s0.metricsCPU != s1.metricsCPU {
		return
	}
	rep.ServerCPUSource = "metrics"
	if !s1.metricsCPU {
		rep.ServerCPUSource = fmt.Sprintf("proc:%d", p.pid)
	}
	rep.ServerCPUSeconds = s1.cpu - s0.cpu
	if callSec := float64(rep.CallsConnected) * rep.WindowSeconds; callSec > 0 {
		rep.ServerCPUPerCallSecond = rep.ServerCPUSeconds / callSec
	}
	if rep.ServerCPUSeconds > 0 {
		rep.ForwardedPerCPUSecond = float64(rep.ForwardedPackets) / rep.ServerCPUSeconds
	}
}

// isLocalHost says whether h names this machine: loopback, or one of its
// interfaces' addresses.
func isLocalHost(h string) bool {
	if isLoopbackHost(h) {
		return true
	}
	ip := net.ParseIP(h)
	if ip == nil {
		return false
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}
