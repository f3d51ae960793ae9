package cluster

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATSOptions configures NewNATS.
type NATSOptions struct {
	// Replicas of each bucket's stream: 1 for a single NATS server, 3 for
	// a production 3-node NATS cluster. 0 means 1.
	Replicas int
	// Memory keeps buckets in memory instead of files (tests; state is
	// lost when NATS restarts).
	Memory bool
	// BucketPrefix is put before every bucket name; default "termcall_".
	BucketPrefix string
}

// NATS is the cluster Backend: JetStream key-value buckets and core NATS
// subjects on one connection. It needs a NATS server with JetStream, 2.9
// or later: it uses create-if-absent, compare-and-set by revision, deletes
// at a revision and watches, and no per-key TTL (2.11+).
type NATS struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	opts NATSOptions
	bus  *natsBus
}

// NewNATS uses the connection nc; Close does not close it.
func NewNATS(nc *nats.Conn, opts NATSOptions) (*NATS, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("cluster: jetstream: %w", err)
	}
	if opts.Replicas == 0 {
		opts.Replicas = 1
	}
	if opts.BucketPrefix == "" {
		opts.BucketPrefix = "termcall_"
	}
	return &NATS{nc: nc, js: js, opts: opts, bus: &natsBus{nc: nc}}, nil
}

// Bucket opens the named bucket, creating it (history 1) if needed. Nodes
// may race to create it; all get the same bucket.
func (n *NATS) Bucket(ctx context.Context, name string) (KV, error) {
	cfg := jetstream.KeyValueConfig{
		Bucket:   n.opts.BucketPrefix + name,
		History:  1,
		Storage:  jetstream.FileStorage,
		Replicas: n.opts.Replicas,
	}
	if n.opts.Memory {
		cfg.Storage = jetstream.MemoryStorage
	}
	kv, err := n.js.CreateKeyValue(ctx, cfg)
	if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		kv, err = n.js.KeyValue(ctx, cfg.Bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: bucket %s: %w", cfg.Bucket, natsErr(err, nil))
	}
	return &natsKV{kv: kv, js: n.js, bucket: cfg.Bucket}, nil
}

// Bus returns the bus on the same connection.
func (n *NATS) Bus() Bus { return n.bus }

// Close is a no-op: the connection belongs to the caller.
func (n *NATS) Close() error { return nil }

// natsErr maps nats.go errors onto the package's: a wrong-last-sequence
// (10071, or 10164 on replicated streams) becomes conflict.
func natsErr(err, conflict error) error {
	if err == nil {
		return nil
	}
	var api *jetstream.APIError
	switch {
	case conflict != nil && (errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) ||
		errors.As(err, &api) && (api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)):
		return fmt.Errorf("%w (%w)", conflict, err)
	case errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted):
		return fmt.Errorf("%w (%w)", ErrNotFound, err)
	case errors.Is(err, nats.ErrConnectionClosed):
		return fmt.Errorf("%w (%w)", ErrClosed, err)
	}
	return err
}

type natsKV struct {
	kv     jetstream.KeyValue
	js     jetstream.JetStream
	bucket string
}

// DeleteMarked is Delete returning the revision of the delete marker it
// leaves (the KV's own Delete does not say): a claim of the key at that
// revision is one round trip, where a create over a marker is three.
func (b *natsKV) DeleteMarked(ctx context.Context, key string, rev uint64) (uint64, error) {
	m := nats.NewMsg("$KV." + b.bucket + "." + key)
	m.Header.Set("KV-Operation", "DEL")
	if rev != 0 {
		m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(rev, 10))
	}
	ack, err := b.js.PublishMsg(ctx, m)
	if err != nil {
		return 0, natsErr(err, ErrRevision)
	}
	return ack.Sequence, nil
}

func (b *natsKV) Create(ctx context.Context, key string, val []byte) (uint64, error) {
	rev, err := b.kv.Create(ctx, key, val)
	return rev, natsErr(err, ErrExists)
}

func (b *natsKV) Update(ctx context.Context, key string, val []byte, rev uint64) (uint64, error) {
	r, err := b.kv.Update(ctx, key, val, rev)
	return r, natsErr(err, ErrRevision)
}

func (b *natsKV) Put(ctx context.Context, key string, val []byte) (uint64, error) {
	rev, err := b.kv.Put(ctx, key, val)
	return rev, natsErr(err, nil)
}

func (b *natsKV) Get(ctx context.Context, key string) (Entry, error) {
	e, err := b.kv.Get(ctx, key)
	if err != nil {
		return Entry{}, natsErr(err, nil)
	}
	return Entry{Key: key, Value: e.Value(), Rev: e.Revision()}, nil
}

func (b *natsKV) Delete(ctx context.Context, key string, rev uint64) error {
	var opts []jetstream.KVDeleteOpt
	if rev != 0 {
		opts = append(opts, jetstream.LastRevision(rev))
	}
	return natsErr(b.kv.Delete(ctx, key, opts...), ErrRevision)
}

// pattern turns a List/Watch prefix into a NATS subject filter.
func pattern(prefix string) (string, error) {
	if prefix == "" {
		return ">", nil
	}
	if !strings.HasSuffix(prefix, ".") {
		return "", fmt.Errorf("cluster: prefix %q does not end with a dot", prefix)
	}
	return prefix + ">", nil
}

func toEntry(e jetstream.KeyValueEntry) Entry {
	d := e.Operation() != jetstream.KeyValuePut
	en := Entry{Key: e.Key(), Rev: e.Revision(), Deleted: d}
	if !d {
		en.Value = e.Value()
	}
	return en
}

// List reads the live keys in one pass of an ordered consumer (no Get per
// key).
func (b *natsKV) List(ctx context.Context, prefix string) ([]Entry, error) {
	pat, err := pattern(prefix)
	if err != nil {
		return nil, err
	}
	w, err := b.kv.Watch(ctx, pat, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, natsErr(err, nil)
	}
	defer func() { _ = w.Stop() }()
	var es []Entry
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("cluster: list %s: watcher closed: %w", prefix, ErrClosed)
			}
			if e == nil {
				return es, nil
			}
			es = append(es, toEntry(e))
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (b *natsKV) Watch(ctx context.Context, prefix string) ([]Entry, <-chan Entry, error) {
	pat, err := pattern(prefix)
	if err != nil {
		return nil, nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	w, err := b.kv.Watch(wctx, pat)
	if err != nil {
		cancel()
		return nil, nil, natsErr(err, nil)
	}
	initial, err := initialEntries(ctx, w, prefix)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	ch := make(chan Entry)
	go relayUpdates(wctx, cancel, w, ch)
	return initial, ch, nil
}

// initialEntries reads a watch's initial values: the latest of each key,
// deletes included (a deleted key's marker is its latest entry), up to
// the nil marker. It keeps the puts.
func initialEntries(ctx context.Context, w jetstream.KeyWatcher, prefix string) ([]Entry, error) {
	var initial []Entry
	for {
		select {
		case e, ok := <-w.Updates():
			switch {
			case !ok:
				return nil, fmt.Errorf("cluster: watch %s: watcher closed: %w", prefix, ErrClosed)
			case e == nil:
				return initial, nil
			case e.Operation() == jetstream.KeyValuePut:
				initial = append(initial, toEntry(e))
			}
		case <-ctx.Done():
			_ = w.Stop()
			return nil, ctx.Err()
		}
	}
}

// relayUpdates passes a watch's updates on to ch until wctx ends or the
// watcher closes; then it stops the watch and closes ch.
func relayUpdates(wctx context.Context, cancel context.CancelFunc, w jetstream.KeyWatcher, ch chan<- Entry) {
	defer close(ch)
	defer cancel()
	defer func() { _ = w.Stop() }()
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil {
				continue
			}
			select {
			case ch <- toEntry(e):
			case <-wctx.Done():
				return
			}
		case <-wctx.Done():
			return
		}
	}
}

// natsBus is the Bus on core NATS: a request is a NATS request on the
// node's subject (no responders: ErrNoNode), an event a plain publish.
type natsBus struct{ nc *nats.Conn }

func (b *natsBus) Serve(node, kind string, h Handler) (func(), error) {
	sub, err := b.nc.Subscribe(Subject(node, kind), func(m *nats.Msg) {
		reply := h(m.Data)
		if m.Reply != "" {
			_ = m.Respond(reply)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: serve %s: %w", Subject(node, kind), err)
	}
	// Make sure the server has the subscription before anyone is told
	// this node serves it.
	if err := b.nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("cluster: serve %s: %w", Subject(node, kind), err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}

func (b *natsBus) Request(ctx context.Context, node, kind string, data []byte) ([]byte, error) {
	m, err := b.nc.RequestWithContext(ctx, Subject(node, kind), data)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, fmt.Errorf("%s: %w", Subject(node, kind), ErrNoNode)
	}
	if err != nil {
		return nil, natsErr(err, nil)
	}
	return m.Data, nil
}

func (b *natsBus) Publish(_ context.Context, node, kind string, data []byte) error {
	return natsErr(b.nc.Publish(Subject(node, kind), data), nil)
}
