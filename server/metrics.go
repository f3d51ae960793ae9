package server

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server/sfu"
	"github.com/termcall/termcall/server/store"
)

// Metrics. Every Server has its own Prometheus registry (tests run many
// servers in one process), served at GET /metrics on the main listener, or
// on Config.MetricsListen alone when that is set. The full list, with what
// each one means, is in docs/operations.md ("Metrics and readiness").
//
// What can be read from the server's state at scrape time (users, devices,
// calls, the SFU's and the store's counters) is: a collector takes the
// server mutex (or the SFU's) once per scrape. Only events — a call set up,
// a call ended, a refusal, a store commit, an invitation rung — are counted
// as they happen. Labels are bounded: scene, media type, end reason, error
// code, device state; never a call, user or device ID.

// inviteBuckets are the invite-to-ring latency buckets, in seconds: the
// server's own work is well under a millisecond; a slow store, a busy lock
// or a loaded box show up in the upper ones.
var inviteBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// storeBuckets are the store commit latency buckets, in seconds.
var storeBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type metrics struct {
	reg *prometheus.Registry

	wsConns      prometheus.Gauge
	wsConnsTotal prometheus.Counter
	logins       *prometheus.CounterVec // resumed
	callSetups   *prometheus.CounterVec // scene, media_type
	callEnds     *prometheus.CounterVec // scene, media_type, reason
	inviteRing   prometheus.Histogram
	refusals     *prometheus.CounterVec // code, via
	storeCommit  prometheus.Histogram
	storeFailed  prometheus.Counter
	storeRows    *prometheus.CounterVec // result
}

func newMetrics(s *Server) *metrics {
	reg := prometheus.NewRegistry()
	m := &metrics{
		reg: reg,
		wsConns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "termcall_websocket_connections",
			Help: "WebSocket connections open now (logged in or not).",
		}),
		wsConnsTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "termcall_websocket_connections_total",
			Help: "WebSocket connections accepted.",
		}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "termcall_logins_total",
			Help: "Successful logins; resumed=true when a device came back within its grace period.",
		}, []string{"resumed"}),
		callSetups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "termcall_call_setups_total",
			Help: "Calls set up (a call or groupCall request accepted), by scene and media type.",
		}, []string{"scene", "media_type"}),
		callEnds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "termcall_calls_ended_total",
			Help: "Calls ended, by scene, media type at the end, end reason, and whether anyone answered.",
		}, []string{"scene", "media_type", "reason", "answered"}),
		inviteRing: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "termcall_invite_to_ring_seconds",
			Help:    "Per rung device: from the server reading the call/groupCall/inviteUser request off the caller's socket to the onCallReceived event written to the callee device's socket.",
			Buckets: inviteBuckets,
		}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "termcall_refusals_total",
			Help: "Requests refused, by error code (docs/errors.md); via=ws for WebSocket error replies, via=http for the HTTP API and the listener.",
		}, []string{"code", "via"}),
		storeCommit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "termcall_store_commit_seconds",
			Help:    "Duration of the record writer's batch commits, failed ones included.",
			Buckets: storeBuckets,
		}),
		storeFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "termcall_store_commit_failures_total",
			Help: "Record batch commits that failed.",
		}),
		storeRows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "termcall_store_commit_rows_total",
			Help: "Record rows in batch commits, by result (ok, failed).",
		}, []string{"result"}),
	}
	reg.MustRegister(m.wsConns, m.wsConnsTotal, m.logins, m.callSetups, m.callEnds, m.inviteRing,
		m.refusals, m.storeCommit, m.storeFailed, m.storeRows)
	reg.MustRegister(&stateCollector{s: s})
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// handler serves the registry in the Prometheus text (or OpenMetrics)
// format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, MaxRequestsInFlight: 4})
}

// ringWritten observes an invite-to-ring latency: the request that rang
// was read at at, and its onCallReceived is now written.
func (m *metrics) ringWritten(at time.Time) { m.inviteRing.Observe(time.Since(at).Seconds()) }

func (m *metrics) connOpened() { m.wsConns.Inc(); m.wsConnsTotal.Inc() }
func (m *metrics) connClosed() { m.wsConns.Dec() }

// refused counts one refusal. via is "ws" or "http".
func (m *metrics) refused(code protocol.Code, via string) {
	m.refusals.WithLabelValues(strconv.Itoa(int(code)), via).Inc()
}

// storeCommit observes one batch commit of the record writer: rows rows,
// taking took, failed if err is not nil. The store calls it through
// store.SetCommitObserver.
func (m *metrics) storeCommitted(rows int, took time.Duration, err error) {
	m.storeCommit.Observe(took.Seconds())
	if err != nil {
		m.storeFailed.Inc()
		m.storeRows.WithLabelValues("failed").Add(float64(rows))
		return
	}
	m.storeRows.WithLabelValues("ok").Add(float64(rows))
}

// RegisterMetrics adds collectors to the server's registry (served at
// /metrics with the rest), e.g. gauges of another part of the server.
func (s *Server) RegisterMetrics(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := s.metrics.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// sceneLabel and mediaLabel name the label values.
func sceneLabel(sc protocol.Scene) string {
	switch sc {
	case protocol.SceneSingleCall:
		return "single"
	case protocol.SceneGroupCall:
		return "group"
	}
	return "unknown"
}

func mediaLabel(mt protocol.MediaType) string {
	switch mt {
	case protocol.MediaTypeAudio:
		return "audio"
	case protocol.MediaTypeVideo:
		return "video"
	}
	return "unknown"
}

// stateCollector reads gauges from the server's state at scrape time.
type stateCollector struct{ s *Server }

var (
	descUsers = prometheus.NewDesc("termcall_users_logged_in",
		"Users with at least one logged-in device (connected, or disconnected within its grace period).", nil, nil)
	descDevices = prometheus.NewDesc("termcall_devices",
		"Logged-in devices, by state: connected, or disconnected and within the grace period.", []string{"state"}, nil)
	descCalls = prometheus.NewDesc("termcall_calls_active",
		"Calls in progress (ringing or connected), by scene and media type.", []string{"scene", "media_type"}, nil)
	descSFUCalls = prometheus.NewDesc("termcall_sfu_calls",
		"Calls with at least one media peer.", nil, nil)
	descSFUPeers = prometheus.NewDesc("termcall_sfu_peers",
		"Media PeerConnections (one per device per call, ringing devices included).", nil, nil)
	descPktIn = prometheus.NewDesc("termcall_sfu_rtp_packets_received_total",
		"RTP packets received from devices.", nil, nil)
	descPktFwd = prometheus.NewDesc("termcall_sfu_rtp_packets_forwarded_total",
		"RTP packets forwarded, one per destination.", nil, nil)
	descBytesFwd = prometheus.NewDesc("termcall_sfu_rtp_forwarded_bytes_total",
		"RTP bytes forwarded, one copy per destination.", nil, nil)
	descPktDropped = prometheus.NewDesc("termcall_sfu_rtp_packets_dropped_total",
		"Received RTP packets forwarded nowhere (no one to send to yet, or the gate closed).", nil, nil)
	descPktLost = prometheus.NewDesc("termcall_sfu_rtp_packets_lost_total",
		"RTP packets lost between devices and the SFU, from gaps in the sequence numbers of what it received (reordered packets count as lost).", nil, nil)
	descKeyframes = prometheus.NewDesc("termcall_sfu_keyframe_requests_total",
		"Picture loss indications sent to video sources.", nil, nil)
	descDirectOpened = prometheus.NewDesc("termcall_sfu_direct_sockets_opened_total",
		"Connected UDP sockets opened for devices on the media port (direct sockets).", nil, nil)
	descPktDirect = prometheus.NewDesc("termcall_sfu_packets_direct_total",
		"Packets from devices that came in through their direct socket rather than the shared one.", nil, nil)
	descRecWritten = prometheus.NewDesc("termcall_store_records_written_total",
		"Call record writes committed.", nil, nil)
	descRecErrors = prometheus.NewDesc("termcall_store_record_write_errors_total",
		"Call record rows that could not be written at all (rejected by the database, or still unwritten at shutdown).", nil, nil)
	descTCPConns = prometheus.NewDesc("termcall_tcp_connections",
		"TCP connections open on the main listener (HTTP and WebSocket).", nil, nil)
	descTCPCap = prometheus.NewDesc("termcall_tcp_connections_cap",
		"Connection caps in force (0: none), by limit: max_connections or max_connections_per_ip.", []string{"limit"}, nil)
	descTCPRefused = prometheus.NewDesc("termcall_tcp_connections_refused_total",
		"Connections refused over a cap (HTTP 503, code 7001), by limit.", []string{"limit"}, nil)
	descRecPending = prometheus.NewDesc("termcall_store_pending_records",
		"Call records not yet committed: normally a handful; they pile up while the database cannot be written (disk full, I/O error).", nil, nil)
	descRecRetries = prometheus.NewDesc("termcall_store_commit_retries_total",
		"Commits retried after a storage fault.", nil, nil)
	descRecDropped = prometheus.NewDesc("termcall_store_records_dropped_total",
		"Call records discarded: past the pending cap during a long storage fault, or written after shutdown.", nil, nil)
)

func (sc *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descUsers, descDevices, descCalls, descSFUCalls, descSFUPeers, descPktIn,
		descPktFwd, descBytesFwd, descPktDropped, descPktLost, descKeyframes, descDirectOpened, descPktDirect, descRecWritten, descRecErrors,
		descRecPending, descRecRetries, descRecDropped, descTCPConns, descTCPCap, descTCPRefused} {
		ch <- d
	}
}

func (sc *stateCollector) Collect(ch chan<- prometheus.Metric) {
	sc.collectSessions(ch)
	if sc.s.sfu != nil {
		collectSFU(ch, sc.s.sfu.Stats())
	}
	collectStore(ch, sc.s.store.Stats())
	collectConns(ch, sc.s.ConnStats())
}

// collectSessions reports the users, devices and calls of the server's
// state.
func (sc *stateCollector) collectSessions(ch chan<- prometheus.Metric) {
	s := sc.s
	type key struct{ scene, media string }
	calls := map[key]int{}
	// Every combination is reported, zeros included, so that dashboards
	// and alerts see the series before the first call.
	for _, scene := range []protocol.Scene{protocol.SceneSingleCall, protocol.SceneGroupCall} {
		for _, mt := range []protocol.MediaType{protocol.MediaTypeAudio, protocol.MediaTypeVideo} {
			calls[key{sceneLabel(scene), mediaLabel(mt)}] = 0
		}
	}
	var users, connected, away int
	s.mu.Lock()
	for _, u := range s.users {
		if len(u.devices) > 0 {
			users++
		}
		for _, d := range u.devices {
			if d.conn != nil {
				connected++
			} else {
				away++
			}
		}
	}
	for _, c := range s.calls {
		calls[key{sceneLabel(c.scene), mediaLabel(c.mediaType)}]++
	}
	s.mu.Unlock()

	ch <- prometheus.MustNewConstMetric(descUsers, prometheus.GaugeValue, float64(users))
	ch <- prometheus.MustNewConstMetric(descDevices, prometheus.GaugeValue, float64(connected), "connected")
	ch <- prometheus.MustNewConstMetric(descDevices, prometheus.GaugeValue, float64(away), "disconnected")
	for k, n := range calls {
		ch <- prometheus.MustNewConstMetric(descCalls, prometheus.GaugeValue, float64(n), k.scene, k.media)
	}
}

// collectSFU reports the media relay's counters.
func collectSFU(ch chan<- prometheus.Metric, st sfu.Stats) {
	ch <- prometheus.MustNewConstMetric(descSFUCalls, prometheus.GaugeValue, float64(st.Calls))
	ch <- prometheus.MustNewConstMetric(descSFUPeers, prometheus.GaugeValue, float64(st.Peers))
	ch <- prometheus.MustNewConstMetric(descPktIn, prometheus.CounterValue, float64(st.PacketsIn))
	ch <- prometheus.MustNewConstMetric(descPktFwd, prometheus.CounterValue, float64(st.PacketsForwarded))
	ch <- prometheus.MustNewConstMetric(descBytesFwd, prometheus.CounterValue, float64(st.BytesForwarded))
	ch <- prometheus.MustNewConstMetric(descPktDropped, prometheus.CounterValue, float64(st.PacketsDropped))
	ch <- prometheus.MustNewConstMetric(descPktLost, prometheus.CounterValue, float64(st.PacketsLost))
	ch <- prometheus.MustNewConstMetric(descKeyframes, prometheus.CounterValue, float64(st.KeyframeRequests))
	ch <- prometheus.MustNewConstMetric(descDirectOpened, prometheus.CounterValue, float64(st.DirectSockets))
	ch <- prometheus.MustNewConstMetric(descPktDirect, prometheus.CounterValue, float64(st.PacketsDirect))
}

// collectStore reports the record writer's counters.
func collectStore(ch chan<- prometheus.Metric, st store.Stats) {
	ch <- prometheus.MustNewConstMetric(descRecWritten, prometheus.CounterValue, float64(st.Written))
	ch <- prometheus.MustNewConstMetric(descRecErrors, prometheus.CounterValue, float64(st.WriteErrors))
	ch <- prometheus.MustNewConstMetric(descRecPending, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(descRecRetries, prometheus.CounterValue, float64(st.Retries))
	ch <- prometheus.MustNewConstMetric(descRecDropped, prometheus.CounterValue, float64(st.Dropped))
}

// collectConns reports the main listener's connections and caps.
func collectConns(ch chan<- prometheus.Metric, cs ConnStats) {
	ch <- prometheus.MustNewConstMetric(descTCPConns, prometheus.GaugeValue, float64(cs.Open))
	ch <- prometheus.MustNewConstMetric(descTCPCap, prometheus.GaugeValue, float64(cs.MaxTotal), "max_connections")
	ch <- prometheus.MustNewConstMetric(descTCPCap, prometheus.GaugeValue, float64(cs.MaxPerIP), "max_connections_per_ip")
	ch <- prometheus.MustNewConstMetric(descTCPRefused, prometheus.CounterValue, float64(cs.RefusedGlobal), "max_connections")
	ch <- prometheus.MustNewConstMetric(descTCPRefused, prometheus.CounterValue, float64(cs.RefusedPerIP), "max_connections_per_ip")
}

// metricsRoutes serves /metrics on the main listener, unless
// Config.MetricsListen moves it to a listener of its own (started by
// startMetricsListener).
func (s *Server) metricsRoutes() {
	if s.cfg.MetricsListen == "" {
		s.mux.Handle("GET /metrics", s.metrics.handler())
	}
}

// startMetricsListener binds Config.MetricsListen, if set, and serves
// /metrics there (and nothing else) until Close.
func (s *Server) startMetricsListener() error {
	if s.cfg.MetricsListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.cfg.MetricsListen)
	if err != nil {
		return fmt.Errorf("server: metrics listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.handler())
	s.metricsLn = ln
	s.metricsHTTP = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	s.metricsDone = make(chan struct{})
	go func() {
		defer close(s.metricsDone)
		if err := s.metricsHTTP.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics listener stopped", "err", err)
		}
	}()
	return nil
}

// MetricsAddr is the address of the separate metrics listener, or nil when
// /metrics is served on the main listener.
func (s *Server) MetricsAddr() net.Addr {
	if s.metricsLn == nil {
		return nil
	}
	return s.metricsLn.Addr()
}

// closeMetricsListener stops the separate metrics listener, if any.
func (s *Server) closeMetricsListener() {
	if s.metricsHTTP == nil {
		return
	}
	_ = s.metricsHTTP.Close()
	<-s.metricsDone
}
