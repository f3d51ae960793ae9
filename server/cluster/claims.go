package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Owner is who holds a claim: a node and, for busy locks and rooms, the
// call that needs it.
type Owner struct {
	Node string `json:"node"`
	Call string `json:"call,omitempty"`
}

// Claim is a held key: a user's busy lock, a room ID, or a call's
// ownership. Rev is the revision it was written at; only a Release with
// that revision removes it, so a stale holder cannot release a later
// holder's claim.
type Claim struct {
	Key   string // the claimed name (user ID, room key, call ID), not encoded
	Owner Owner
	Rev   uint64
}

// TakenError is Claim's answer when someone else holds the key. It wraps
// ErrTaken. Holder is who held it when we looked (zero if it was released
// in between).
type TakenError struct {
	Key    string
	Holder Claim
}

func (e *TakenError) Error() string {
	return fmt.Sprintf("cluster: %q is held by node %q (call %q)", e.Key, e.Holder.Owner.Node, e.Holder.Owner.Call)
}

func (e *TakenError) Unwrap() error { return ErrTaken }

// Claims is a set of exclusive claims in one bucket: create-if-absent to
// take, delete at the taken revision to release.
type Claims struct {
	kv KV
	// markers: keys this process released, with the revision of the
	// delete marker their release left (NATS only): claiming one again
	// is an update at that revision, one round trip instead of three.
	mu      sync.Mutex
	markers map[string]uint64
}

// markedDeleter is a KV whose Delete can report the marker's revision.
type markedDeleter interface {
	DeleteMarked(ctx context.Context, key string, rev uint64) (uint64, error)
}

// maxMarkers bounds the marker cache (it is only a shortcut).
const maxMarkers = 100000

// Bucket names of the three claim sets.
const (
	BucketBusy   = "busy"     // user ID -> (node, call): the per-user busy lock
	BucketRooms  = "rooms"    // room key -> (node, call): room-ID uniqueness
	BucketCalls  = "calls"    // call ID -> (node): call ownership
	BucketNodes  = "nodes"    // node ID -> NodeInfo: the registry
	BucketPres   = "presence" // user.device -> Device
	BucketLogins = "logins"   // user -> Device: the single-device login slot
)

// NewClaims uses the bucket kv.
func NewClaims(kv KV) *Claims { return &Claims{kv: kv} }

// Claim takes key for o if no one holds it; otherwise a *TakenError.
// Of any number of concurrent Claims of one key, exactly one succeeds.
func (c *Claims) Claim(ctx context.Context, key string, o Owner) (Claim, error) {
	val, err := json.Marshal(o)
	if err != nil {
		return Claim{}, err
	}
	tok := Token(key)
	var rev uint64
	err = ErrRevision
	c.mu.Lock()
	marker, ok := c.markers[tok]
	delete(c.markers, tok)
	c.mu.Unlock()
	if ok {
		rev, err = c.kv.Update(ctx, tok, val, marker)
	}
	if errors.Is(err, ErrRevision) {
		// Never released here, or changed since: create-if-absent.
		rev, err = c.kv.Create(ctx, tok, val)
	}
	if errors.Is(err, ErrExists) || errors.Is(err, ErrRevision) {
		te := &TakenError{Key: key}
		if h, gerr := c.Get(ctx, key); gerr == nil {
			te.Holder = h
		}
		return Claim{}, te
	}
	if err != nil {
		return Claim{}, fmt.Errorf("cluster: claim %q: %w", key, err)
	}
	return Claim{Key: key, Owner: o, Rev: rev}, nil
}

// Release gives the claim up if it is still the one taken: ErrNotOwner
// (wrapped) if the key was released or taken again since.
func (c *Claims) Release(ctx context.Context, cl Claim) error {
	tok := Token(cl.Key)
	var err error
	if md, ok := c.kv.(markedDeleter); ok {
		var marker uint64
		if marker, err = md.DeleteMarked(ctx, tok, cl.Rev); err == nil {
			c.mu.Lock()
			if c.markers == nil || len(c.markers) >= maxMarkers {
				c.markers = make(map[string]uint64)
			}
			c.markers[tok] = marker
			c.mu.Unlock()
		}
	} else {
		err = c.kv.Delete(ctx, tok, cl.Rev)
	}
	if errors.Is(err, ErrRevision) {
		return fmt.Errorf("cluster: release %q at %d: %w", cl.Key, cl.Rev, ErrNotOwner)
	}
	return err
}

// Get returns the current holder of key: ErrNotFound (wrapped) if none.
func (c *Claims) Get(ctx context.Context, key string) (Claim, error) {
	e, err := c.kv.Get(ctx, Token(key))
	if err != nil {
		return Claim{}, err
	}
	return decodeClaim(e)
}

func decodeClaim(e Entry) (Claim, error) {
	key, err := Untoken(e.Key)
	if err != nil {
		return Claim{}, fmt.Errorf("cluster: bad claim key %q: %w", e.Key, err)
	}
	var o Owner
	if err := json.Unmarshal(e.Value, &o); err != nil {
		return Claim{}, fmt.Errorf("cluster: bad claim %q: %w", key, err)
	}
	return Claim{Key: key, Owner: o, Rev: e.Rev}, nil
}

// ByNode lists the claims node holds, sorted by key. It reads the whole
// bucket once.
func (c *Claims) ByNode(ctx context.Context, node string) ([]Claim, error) {
	es, err := c.kv.List(ctx, "")
	if err != nil {
		return nil, err
	}
	var cs []Claim
	for _, e := range es {
		cl, err := decodeClaim(e)
		if err != nil {
			return nil, err
		}
		if cl.Owner.Node == node {
			cs = append(cs, cl)
		}
	}
	slices.SortFunc(cs, func(a, b Claim) int { return strings.Compare(a.Key, b.Key) })
	return cs, nil
}

// ReleaseNode releases every claim node holds (it died) and returns those
// it released, sorted by key. A claim that changed meanwhile is left
// alone. Safe to run on several nodes at once: each claim is released
// once.
func (c *Claims) ReleaseNode(ctx context.Context, node string) ([]Claim, error) {
	cs, err := c.ByNode(ctx, node)
	if err != nil {
		return nil, err
	}
	var done []Claim
	for _, cl := range cs {
		err := c.Release(ctx, cl)
		if errors.Is(err, ErrNotOwner) {
			continue
		}
		if err != nil {
			return done, err
		}
		done = append(done, cl)
	}
	return done, nil
}
