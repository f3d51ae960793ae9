package server

// Offline push: when an invitee has no device online, the invitation is
// pushed to the endpoints the user registered (registerPush; termcall push
// register) and to the operator's webhook (Config.Push.Webhook), so that
// the call reaches a phone or a desktop. The ringing path calls
// pushOffline under the server mutex; it only builds the push and queues
// it. Workers deliver it with a timeout per attempt and retry failures
// with exponential backoff from timers, so that neither the call, nor the
// mutex, nor other pushes ever wait for a slow or dead endpoint. The queue
// is bounded: when it is full, pushes are dropped and counted. Formats and
// headers are in docs/protocol.md ("Offline push").

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server/store"
)

// PushConfig configures offline push (Config.Push). A zero Queue turns it
// off: invitations then only wait for a device to log in.
type PushConfig struct {
	// Webhook, if set, receives every offline push as a webhook.
	Webhook string
	// Secret signs webhook pushes: X-Termcall-Signature is
	// "sha256=" + hex(HMAC-SHA256(Secret, X-Termcall-Timestamp + "." + body)).
	Secret string
	// Timeout bounds one attempt; default 5 s.
	Timeout time.Duration
	// Retries is how many more attempts a failed delivery gets.
	Retries int
	// Backoff is the wait before the first retry, doubling after each;
	// default 1 s.
	Backoff time.Duration
	// Queue bounds the deliveries waiting; 0 turns push off.
	Queue int
	// AllowPrivate lets pushes reach loopback, private and link-local
	// addresses (tests, a push gateway inside the network).
	AllowPrivate bool
}

// PushStore keeps the registered endpoints; *store.Store is one. A Store
// without it has no registration (the operator webhook still works).
type PushStore interface {
	SetPushEndpoint(ctx context.Context, e store.PushEndpoint) error
	DeletePushEndpoint(ctx context.Context, userID, url string) (int, error)
	PushEndpoints(ctx context.Context, userID string) ([]store.PushEndpoint, error)
}

var _ PushStore = (*store.Store)(nil)

// PushPayload is the JSON a webhook or UnifiedPush endpoint receives.
type PushPayload struct {
	Type           string                   `json:"type"` // "termcall.offlinePush"
	Version        int                      `json:"version"`
	PushID         string                   `json:"pushId"`
	SDKAppID       uint64                   `json:"sdkAppId"`
	UserID         string                   `json:"userId"` // the invitee
	CallID         string                   `json:"callId"`
	CallerID       string                   `json:"callerId"`
	CallerNickname string                   `json:"callerNickname,omitempty"`
	CallerAvatar   string                   `json:"callerAvatar,omitempty"`
	InviterID      string                   `json:"inviterId"` // who invited (inviteUser), else the caller
	GroupID        string                   `json:"groupId,omitempty"`
	Scene          protocol.Scene           `json:"scene"`
	MediaType      protocol.MediaType       `json:"mediaType"`
	RoomID         protocol.RoomID          `json:"roomId"`
	CalleeIDList   []string                 `json:"calleeIdList"`
	UserData       string                   `json:"userData,omitempty"`
	CreatedAt      int64                    `json:"createdAt"` // unix ms, the invitation
	ExpiresAt      int64                    `json:"expiresAt"` // unix ms, when it stops ringing
	Info           protocol.OfflinePushInfo `json:"offlinePushInfo"`
}

type pushTarget struct {
	url, kind string
	user      string // registered by this user; "" for the operator webhook
}

type pushJob struct {
	payload []byte // JSON of p
	p       *PushPayload
	target  *pushTarget // nil: resolve the user's endpoints first
	attempt int
}

type pusher struct {
	cfg    PushConfig
	s      *Server
	st     PushStore // nil without registration
	client *http.Client
	tr     *http.Transport
	queue  chan pushJob
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	timers map[*time.Timer]struct{}

	delivered *prometheus.CounterVec // kind, result: ok, failed, dropped, retried
}

// pushWorkers deliver in parallel, so one slow endpoint delays few others.
const pushWorkers = 4

func newPusher(s *Server, cfg PushConfig) *pusher {
	if cfg.Queue <= 0 {
		return nil
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	d := &net.Dialer{Timeout: cfg.Timeout}
	if !cfg.AllowPrivate {
		d.Control = refusePrivate
	}
	tr := &http.Transport{DialContext: d.DialContext, TLSHandshakeTimeout: cfg.Timeout,
		MaxIdleConnsPerHost: 2, IdleConnTimeout: 30 * time.Second}
	p := &pusher{cfg: cfg, s: s, tr: tr, queue: make(chan pushJob, cfg.Queue), timers: make(map[*time.Timer]struct{}),
		client: &http.Client{Transport: tr, Timeout: cfg.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a push is not followed elsewhere
		}}}
	p.st, _ = s.store.(PushStore)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.delivered = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "termcall_offline_pushes_total",
		Help: "Offline push deliveries, by endpoint kind and result: ok, failed (gave up), retried (an attempt failed and will be tried again), dropped (queue full or server closing).",
	}, []string{"kind", "result"})
	s.metrics.reg.MustRegister(p.delivered)
	for range pushWorkers {
		p.wg.Add(1)
		go p.work()
	}
	return p
}

// refusePrivate refuses connections to addresses inside the network.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return fmt.Errorf("push to %s refused: not a public address (serve.push_allow_private)", host)
	}
	return nil
}

func (p *pusher) close() {
	if p == nil {
		return
	}
	p.cancel()
	p.mu.Lock()
	for t := range p.timers {
		t.Stop()
	}
	p.timers = nil
	p.mu.Unlock()
	p.wg.Wait()
	p.tr.CloseIdleConnections()
}

// enqueue never blocks.
func (p *pusher) enqueue(j pushJob) {
	if p.ctx.Err() != nil {
		return
	}
	select {
	case p.queue <- j:
	default:
		kind := "any"
		if j.target != nil {
			kind = j.target.kind
		}
		p.delivered.WithLabelValues(kind, "dropped").Inc()
		p.s.log.Warn("offline push dropped: queue full", "user", j.p.UserID, "call", j.p.CallID)
	}
}

func (p *pusher) work() {
	defer p.wg.Done()
	for {
		select {
		case <-p.ctx.Done():
			return
		case j := <-p.queue:
			if j.target == nil {
				p.resolve(j)
			} else {
				p.deliver(j)
			}
		}
	}
}

// resolve turns a push into one delivery per endpoint.
func (p *pusher) resolve(j pushJob) {
	var targets []pushTarget
	if p.cfg.Webhook != "" {
		targets = append(targets, pushTarget{url: p.cfg.Webhook, kind: protocol.PushWebhook})
	}
	if p.st != nil {
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.Timeout)
		eps, err := p.st.PushEndpoints(ctx, j.p.UserID)
		cancel()
		if err != nil {
			p.s.log.Warn("offline push: reading the endpoints", "user", j.p.UserID, "err", err)
		}
		for _, e := range eps {
			targets = append(targets, pushTarget{url: e.URL, kind: e.Kind, user: e.UserID})
		}
	}
	// One delivery per endpoint, each taken by the next free worker: a
	// slow endpoint holds up only its own delivery.
	for i := range targets {
		p.enqueue(pushJob{payload: j.payload, p: j.p, target: &targets[i]})
	}
}

// endpointGone forgets a UnifiedPush / ntfy endpoint that no longer
// exists.
func (p *pusher) endpointGone(t *pushTarget, status int) {
	if p.st != nil {
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.Timeout)
		p.st.DeletePushEndpoint(ctx, t.user, t.url) //nolint:errcheck // best effort
		cancel()
	}
	p.delivered.WithLabelValues(t.kind, "failed").Inc()
	p.s.log.Info("offline push endpoint gone; unregistered", "user", t.user, "status", status)
}

// deliver makes one attempt and schedules the next on failure.
func (p *pusher) deliver(j pushJob) {
	t := j.target
	status, err := p.send(t, j)
	switch {
	case err == nil:
		p.delivered.WithLabelValues(t.kind, "ok").Inc()
		p.s.log.Debug("offline push delivered", "user", j.p.UserID, "call", j.p.CallID, "kind", t.kind, "attempt", j.attempt+1)
		return
	case (status == http.StatusNotFound || status == http.StatusGone) && t.user != "" && t.kind != protocol.PushWebhook:
		p.endpointGone(t, status)
		return
	case !retryable(status) || j.attempt >= p.cfg.Retries || time.Now().UnixMilli() >= j.p.ExpiresAt:
		p.delivered.WithLabelValues(t.kind, "failed").Inc()
		p.s.log.Warn("offline push failed", "user", j.p.UserID, "call", j.p.CallID, "kind", t.kind, "attempts", j.attempt+1, "err", err)
		return
	}
	p.delivered.WithLabelValues(t.kind, "retried").Inc()
	p.retry(j)
}

// retry delivers the job again after its backoff, unless the pusher is
// closing by then.
func (p *pusher) retry(j pushJob) {
	wait := p.cfg.Backoff << j.attempt
	j.attempt++
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timers == nil {
		return // closing
	}
	var tm *time.Timer
	tm = time.AfterFunc(wait, func() {
		p.mu.Lock()
		if p.timers != nil {
			delete(p.timers, tm)
		}
		p.mu.Unlock()
		p.enqueue(j)
	})
	p.timers[tm] = struct{}{}
}

// retryable: network errors (status 0), 408, 429 and 5xx.
func retryable(status int) bool {
	return status == 0 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// send makes one HTTP request; status is 0 when none came back.
func (p *pusher) send(t *pushTarget, j pushJob) (int, error) {
	ctx, cancel := context.WithTimeout(p.ctx, p.cfg.Timeout)
	defer cancel()
	var req *http.Request
	var err error
	switch t.kind {
	case protocol.PushNtfy:
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewBufferString(j.p.Info.Desc))
		if err == nil {
			req.Header.Set("Content-Type", "text/plain; charset=utf-8")
			req.Header.Set("Title", j.p.Info.Title)
			req.Header.Set("Priority", "urgent")
			req.Header.Set("Tags", "telephone_receiver")
			req.Header.Set("X-Termcall-Call-Id", j.p.CallID)
		}
	default: // webhook, unifiedpush: the JSON
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(j.payload))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			if t.kind == protocol.PushUnifiedPush {
				req.Header.Set("TTL", strconv.FormatInt(max(0, (j.p.ExpiresAt-time.Now().UnixMilli())/1000), 10))
				req.Header.Set("Urgency", "high")
			}
		}
	}
	if err != nil {
		return -1, err // a bad URL is not retried
	}
	req.Header.Set("User-Agent", "termcall-push/1")
	req.Header.Set("X-Termcall-Push-Id", j.p.PushID)
	req.Header.Set("X-Termcall-Attempt", strconv.Itoa(j.attempt+1))
	if t.kind == protocol.PushWebhook && p.cfg.Secret != "" {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		req.Header.Set("X-Termcall-Timestamp", ts)
		req.Header.Set("X-Termcall-Signature", SignPush(p.cfg.Secret, ts, j.payload))
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err // network error, refused address, timeout: retried
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("HTTP %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// SignPush is a webhook push's X-Termcall-Signature for its timestamp
// header and body.
func SignPush(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// pushOffline queues the push of p's invitation if p's user has no device
// online. Called from the ringing path under s.mu; it never blocks.
func (s *Server) pushOffline(c *call, p *part, timeout time.Duration) {
	if s.push == nil || (c.push != nil && c.push.IsDisablePush) {
		return
	}
	for _, d := range p.user.devices {
		if d.conn != nil {
			return // it rings there
		}
	}
	if len(p.user.remote) > 0 {
		return // cluster mode: presence has it on another node, where it rings
	}
	now := time.Now()
	pl := &PushPayload{
		Type: "termcall.offlinePush", Version: 1, PushID: newPushID(), SDKAppID: s.cfg.SDKAppID,
		UserID: p.user.id, CallID: c.id, CallerID: c.inviter, InviterID: p.inviter, GroupID: c.groupID,
		Scene: c.scene, MediaType: c.mediaType, RoomID: c.room, CalleeIDList: c.invitees(), UserData: c.userData,
		CreatedAt: now.UnixMilli(), ExpiresAt: now.Add(timeout).UnixMilli(),
	}
	who := c.inviter
	if inv := s.users[c.inviter]; inv != nil {
		pl.CallerNickname, pl.CallerAvatar = inv.nickname, inv.avatar
		if inv.nickname != "" {
			who = inv.nickname
		}
	}
	kind := "call"
	if c.groupID != "" {
		kind = "group call"
	}
	pl.Info = c.push.Defaults(fmt.Sprintf("%s is calling", who), fmt.Sprintf("Incoming %s %s from %s", c.mediaType, kind, who))
	b, err := json.Marshal(pl)
	if err != nil {
		return
	}
	s.push.enqueue(pushJob{payload: b, p: pl})
}

func newPushID() string {
	var b [12]byte
	rand.Read(b[:]) //nolint:errcheck // never fails
	return hex.EncodeToString(b[:])
}

// --- registration (registerPush, unregisterPush, listPush) ---

func (s *Server) pushStore() (PushStore, error) {
	if ps, ok := s.store.(PushStore); ok {
		return ps, nil
	}
	return nil, protocol.Errorf(protocol.CodeInvalidArgument, "this server's store keeps no push endpoints")
}

// pushEndpointsReply runs the store work f and then lists u's endpoints,
// without the server mutex, and replies.
func (s *Server) pushRequest(d *device, m *protocol.Message, f func(ctx context.Context, ps PushStore) error) error {
	ps, err := s.pushStore()
	if err != nil {
		return err
	}
	c, user := d.conn, d.user.id
	s.unlocked(func() {
		ctx, cancel := context.WithTimeout(context.Background(), storeLockedTimeout)
		defer cancel()
		var eps []store.PushEndpoint
		err := f(ctx, ps)
		if err == nil {
			eps, err = ps.PushEndpoints(ctx, user)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			var pe *protocol.Error
			if !errors.As(err, &pe) || pe.Code == protocol.CodeStorage {
				err = storageError("push endpoints", err)
			}
			s.refuse(c, m.ID, m.Type, err)
			return
		}
		rep := protocol.PushEndpointsReply{Endpoints: []protocol.PushEndpoint{}}
		for _, e := range eps {
			rep.Endpoints = append(rep.Endpoints, protocol.PushEndpoint{URL: e.URL, Kind: e.Kind, CreatedAt: e.CreatedAt.UnixMilli()})
		}
		reply(c, m.ID, rep)
	})
	return nil
}

func (s *Server) handleRegisterPush(d *device, m *protocol.Message) error {
	var req protocol.RegisterPushRequest
	if err := protocol.DecodeData(m.Data, &req); err != nil {
		return err
	}
	kind, err := protocol.ValidatePushEndpoint(req.URL, req.Kind)
	if err != nil {
		return err
	}
	if !s.cfg.Push.AllowPrivate {
		u, _ := url.Parse(req.URL)
		if ip := net.ParseIP(u.Hostname()); ip != nil && refusePrivate("", net.JoinHostPort(ip.String(), "0"), nil) != nil {
			return protocol.Errorf(protocol.CodeInvalidPushEndpoint, "push URL %q is not a public address", req.URL)
		}
	}
	e := store.PushEndpoint{UserID: d.user.id, URL: req.URL, Kind: kind}
	return s.pushRequest(d, m, func(ctx context.Context, ps PushStore) error { return ps.SetPushEndpoint(ctx, e) })
}

func (s *Server) handleUnregisterPush(d *device, m *protocol.Message) error {
	var req protocol.UnregisterPushRequest
	if err := protocol.DecodeData(m.Data, &req); err != nil {
		return err
	}
	user := d.user.id
	return s.pushRequest(d, m, func(ctx context.Context, ps PushStore) error {
		_, err := ps.DeletePushEndpoint(ctx, user, req.URL)
		return err
	})
}

func (s *Server) handleListPush(d *device, m *protocol.Message) error {
	return s.pushRequest(d, m, func(context.Context, PushStore) error { return nil })
}
