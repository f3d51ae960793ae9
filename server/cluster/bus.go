package cluster

import (
	"context"
	"fmt"
	"sync"
)

// Bus carries messages between nodes: a request to one node with its reply
// (a request about a call, to the call's owner), and a one-way message to
// one node (an event for a device whose WebSocket that node holds). Each
// node serves its own subjects, one per kind; see Subject.
type Bus interface {
	// Serve makes h answer node's messages of one kind until stop is
	// called. Messages of one (node, kind) reach h one at a time, in the
	// order each sender sent them. A request's reply is h's result; a
	// Publish's result is dropped.
	Serve(node, kind string, h Handler) (stop func(), err error)
	// Request sends data to node's kind handler and waits for its reply
	// until ctx ends: ErrNoNode (wrapped) if no one serves it.
	Request(ctx context.Context, node, kind string, data []byte) ([]byte, error)
	// Publish sends data to node's kind handler without waiting. Delivery
	// is at most once: a message to a dead node is lost.
	Publish(ctx context.Context, node, kind string, data []byte) error
}

// Handler answers one message sent to a node.
type Handler func(data []byte) []byte

// Kinds of bus messages.
const (
	KindCall  = "call"  // a request about a call, to its owner node
	KindEvent = "event" // events for devices, to the node holding them
)

// Subject is the NATS subject of node's messages of one kind:
// termcall.node.<Token(node)>.<kind>.
func Subject(node, kind string) string {
	return "termcall.node." + Token(node) + "." + kind
}

// memBus delivers in process: Request and Publish call the handler on the
// caller's goroutine, under a per-subject mutex (one at a time, in order).
type memBus struct {
	mu   sync.Mutex
	subs map[string]*memSub
}

type memSub struct {
	mu sync.Mutex // serializes calls of h
	h  Handler
}

func newMemBus() *memBus { return &memBus{subs: make(map[string]*memSub)} }

func (b *memBus) Serve(node, kind string, h Handler) (func(), error) {
	subj := Subject(node, kind)
	s := &memSub{h: h}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs[subj] != nil {
		return nil, fmt.Errorf("cluster: %s is already served in this process", subj)
	}
	b.subs[subj] = s
	return func() {
		b.mu.Lock()
		if b.subs[subj] == s {
			delete(b.subs, subj)
		}
		b.mu.Unlock()
	}, nil
}

func (b *memBus) call(ctx context.Context, node, kind string, data []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	subj := Subject(node, kind)
	b.mu.Lock()
	s := b.subs[subj]
	b.mu.Unlock()
	if s == nil {
		return nil, fmt.Errorf("%s: %w", subj, ErrNoNode)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.h(data), nil
}

func (b *memBus) Request(ctx context.Context, node, kind string, data []byte) ([]byte, error) {
	return b.call(ctx, node, kind, data)
}

func (b *memBus) Publish(ctx context.Context, node, kind string, data []byte) error {
	_, err := b.call(ctx, node, kind, data)
	return err
}
