package server

import (
	"context"
	"time"

	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server/store"
)

// Store is the durable state the server needs: users and profiles, groups
// and members, call records with their asynchronous writer, and whether
// it can write. *store.Store implements it on SQLite (the default, in
// Config.DataDir) and on PostgreSQL (Config.Database); cluster mode keeps
// using it for everything durable, while presence, locks and call
// ownership go to other interfaces.
type Store interface {
	AddUsers(ctx context.Context, ids []string) error
	Users(ctx context.Context) ([]string, error)
	SetProfile(ctx context.Context, p store.Profile) error
	Profiles(ctx context.Context) ([]store.Profile, error)

	CreateGroup(ctx context.Context, g store.Group) error
	DeleteGroup(ctx context.Context, groupID string) error
	AddMembers(ctx context.Context, groupID string, ids []string) error
	RemoveMembers(ctx context.Context, groupID string, ids []string) error
	Groups(ctx context.Context) ([]store.Group, error)

	// StartRecords and FinishRecords enqueue and return at once; a finish
	// wins over a start of the same (call, user) enqueued before it.
	StartRecords(recs []store.Record)
	FinishRecords(recs []store.Record)
	// Flush waits until everything enqueued before it is written (or
	// answers CodeStoreUnavailable at once while the store cannot write).
	Flush(ctx context.Context) error
	QueryRecords(ctx context.Context, userID string, f protocol.RecentCallsFilter) ([]store.Record, error)
	AdminRecords(ctx context.Context, f store.AdminFilter) ([]store.Record, error)
	HideRecords(ctx context.Context, userID string, callIDs []string) ([]string, error)
	// CloseLive ends the records a previous run of this node left live
	// (records carry the node that wrote them: store.Options.NodeID,
	// Config.NodeID; "" in single-node mode). Other nodes' are untouched.
	CloseLive(ctx context.Context, now int64) (int, error)
	// CloseLiveOf ends a dead node's live records (endByServer, at its
	// last heartbeat), unless a run of it newer than seenStart (unix ms)
	// opened the store; LiveNodes lists the nodes with live records.
	CloseLiveOf(ctx context.Context, node string, seenStart int64) (int, error)
	LiveNodes(ctx context.Context) ([]store.NodeRun, error)

	// Writable is nil while the store can write, CodeStoreUnavailable
	// while it cannot (records are kept and retried).
	Writable() error
	Stats() store.Stats
	SetCommitObserver(f func(rows int, took time.Duration, err error))
	Close() error
}

var _ Store = (*store.Store)(nil)

// storeLockedTimeout bounds a store call made under the server's mutex
// (a new user's AddUsers at login).
const storeLockedTimeout = 5 * time.Second
