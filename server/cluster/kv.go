// Package cluster holds the distributed primitives cluster mode stands on:
// the node registry with heartbeats and failure detection, presence (user
// -> devices -> node), claims (the per-user busy lock, room-ID uniqueness,
// call ownership) and a bus that routes requests to a call's owner node and
// events to the node that holds a device's WebSocket.
//
// Every primitive is written once on two small interfaces, KV and Bus, that
// have two implementations each: in-process (NewMemory, the single-node
// behaviour: maps under a mutex, direct function calls) and NATS (NewNATS:
// JetStream key-value buckets with create-if-absent and compare-and-set by
// revision, and core NATS subjects per node). The same behavioural tests
// run against both.
//
// Nothing here is wired into the call state machine yet.
package cluster

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
)

// Errors of the KV layer. Implementations wrap them; test with errors.Is.
var (
	ErrExists   = errors.New("cluster: key exists")             // Create found a live key
	ErrRevision = errors.New("cluster: revision mismatch")      // Update/Delete: the key changed
	ErrNotFound = errors.New("cluster: key not found")          // Get: no live key
	ErrClosed   = errors.New("cluster: backend closed")         // the backend was closed
	ErrNoNode   = errors.New("cluster: node unreachable")       // Bus: nobody serves that node
	ErrTaken    = errors.New("cluster: claimed by another")     // Claims.Claim lost
	ErrNotOwner = errors.New("cluster: not the claim's holder") // Claims.Release with a stale claim
	ErrFenced   = errors.New("cluster: node was declared dead") // Nodes.Beat after being reaped
)

// Entry is one key's value at a revision. Revisions grow per bucket.
type Entry struct {
	Key     string
	Value   []byte
	Rev     uint64
	Deleted bool // in a watch: the key was deleted (Value is nil)
}

// KV is a key-value bucket with create-if-absent and compare-and-set by
// revision: all that the primitives need, and no per-key TTL, so that it
// runs on any JetStream (2.9 and later). Keys are tokens separated by dots
// of the characters [-_=A-Za-z0-9] (use Token to build one from any string).
type KV interface {
	// Create stores the key only if it does not exist (or was deleted):
	// ErrExists otherwise. It returns the new revision.
	Create(ctx context.Context, key string, val []byte) (uint64, error)
	// Update stores the key only if its revision is still rev: ErrRevision
	// otherwise (also when it was deleted).
	Update(ctx context.Context, key string, val []byte, rev uint64) (uint64, error)
	// Put stores the key unconditionally.
	Put(ctx context.Context, key string, val []byte) (uint64, error)
	// Get reads a live key: ErrNotFound if absent or deleted.
	Get(ctx context.Context, key string) (Entry, error)
	// Delete removes the key if its revision is still rev (rev 0: whatever
	// it is): ErrRevision otherwise. Deleting an absent key with rev 0 is
	// not an error.
	Delete(ctx context.Context, key string, rev uint64) error
	// List returns the live keys under prefix ("" for all, "a." for the
	// keys a.*), in no particular order.
	List(ctx context.Context, prefix string) ([]Entry, error)
	// Watch returns the live keys under prefix now, then the later changes
	// (puts, and deletes with Deleted set) on the channel, in revision
	// order, until ctx ends; then the channel is closed. A change that a
	// newer one of the same key replaced before the watch was handed it
	// may be skipped (NATS keeps one revision per key: with both cores of
	// a test machine busy, TestKV's watch skipped a put or a delete in 4
	// of 200 runs). A watch always ends at each key's latest state, but a
	// delete and a create after it can arrive as the create alone. A
	// delete of an absent key may arrive as a delete.
	Watch(ctx context.Context, prefix string) ([]Entry, <-chan Entry, error)
}

// Backend opens buckets. Buckets of one name are shared by all the
// backend's users: every node connected to one NATS, or every user of one
// Memory.
type Backend interface {
	Bucket(ctx context.Context, name string) (KV, error)
	Bus() Bus
	// Ready is nil while the backend can serve (NATS: connected).
	Ready() error
	Close() error
}

// Token encodes any string (a user ID, a room key) as one key token:
// unpadded base64url, so "." and other characters cannot split or break a
// key. An empty string becomes "=".
func Token(s string) string {
	if s == "" {
		return "="
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// Untoken reverses Token.
func Untoken(t string) (string, error) {
	if t == "=" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(t)
	return string(b), err
}

// underPrefix reports whether key falls under a List/Watch prefix.
func underPrefix(key, prefix string) bool {
	return prefix == "" || strings.HasPrefix(key, prefix)
}
