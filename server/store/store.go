// Package store keeps the call server's durable state: known users and
// profiles, groups and members, and call records, in a SQLite file (Open)
// or a PostgreSQL database (OpenPostgres), behind the same API; the two
// backends share everything but their SQL dialect's few differences
// (backend.go, sqlite.go, pg.go).
//
// Record writes are asynchronous and batched: StartRecords and FinishRecords
// enqueue and return at once; one writer goroutine commits them in
// transactions. Flush waits until everything enqueued before it is written.
// A commit that fails for a storage fault (disk full, I/O error, the
// PostgreSQL server unreachable) loses nothing: its records are kept
// (bounded by Options.MaxPending) and retried with backoff, and Writable
// reports the fault meanwhile; see writer.go. A heartbeat lets CloseLive
// end the records of a crashed server at the time it was last alive.
//
// With SQLite, the data directory's owner takes LockDir; Open refuses a
// file that is not a termcall database (empty, not SQLite, another
// program's).
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/termcall/termcall/protocol"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Group is an IM group: calls in it are limited to its members.
type Group struct {
	GroupID   string   `json:"groupId"`
	Name      string   `json:"name,omitempty"`
	Owner     string   `json:"owner,omitempty"`
	Members   []string `json:"members"`
	CreatedAt int64    `json:"createdAt"` // unix s
}

// Profile is a user's nickname and avatar.
type Profile struct {
	UserID   string
	Nickname string
	Avatar   string
}

// Record is one participant's record of one call.
type Record = protocol.CallRecord

// AdminFilter selects records for the admin listing (GET /v1/calls).
type AdminFilter struct {
	UserID string // "" = everyone
	CallID string // "" = all calls
	Begin  int64  // unix s, inclusive; 0 = unbounded
	End    int64  // unix s, exclusive; 0 = unbounded
	Limit  int    // 0 = 1000
}

// Stats are the record writer's counters since Open.
type Stats struct {
	Written     uint64 // record writes committed (a start ignored after a finish included)
	WriteErrors uint64 // record writes that failed for good: rejected by the database, or still unwritten at Close
	Dropped     uint64 // record rows discarded: enqueued after Close, or past Options.MaxPending
	Pending     int    // records not yet committed (after a failed commit: waiting for a retry)
	Retries     uint64 // commit attempts retried after a storage fault
}

// Options tune the record writer; zero fields take the defaults.
type Options struct {
	MaxPending int           // records kept in memory while the database cannot be written; DefaultMaxPending
	Heartbeat  time.Duration // how often "last alive" is written for CloseLive; DefaultHeartbeat
	// NodeID is the node this store writes as: every record row it writes
	// gets it (records.node_id: the node that owns the call), and its
	// heartbeat is the row of this ID. "" in single-node mode.
	NodeID string
	// Logger gets the store's warnings (database faults, records lost),
	// with component=store; default slog.Default().
	Logger *slog.Logger
}

// ErrClosed is returned by Flush after Close.
var ErrClosed = errors.New("store: closed")

const (
	queueLen = 4096 // ops (one StartRecords/FinishRecords call each)
	maxBatch = 512  // rows per transaction
)

var errEmptyPath = protocol.Errorf(protocol.CodeInvalidArgument, "store: empty database path")

// Store is the server's database. Its methods are safe for concurrent use.
type Store struct {
	db backend

	opt       Options
	prevAlive int64 // this node's heartbeat found at Open (unix s; 0 = none)

	mu     sync.RWMutex // held (read) while sending on ch; (write) by Close
	closed bool
	ch     chan op
	done   chan struct{} // closed when the writer has exited

	closeOnce sync.Once
	closeErr  error

	errMu      sync.Mutex
	pendingErr error // last write error not yet returned by Flush

	written, writeErrors, dropped atomic.Uint64

	// Owned by the writer goroutine.
	pend    pendingSet
	lostErr error // rows not written by Close; read after done

	isClosed   atomic.Bool // closed, for Writable without the lock
	pendingN   atomic.Int64
	retries    atomic.Uint64
	unwritable atomic.Pointer[protocol.Error] // non-nil while commits fail
	kick       chan struct{}                  // a write outside the writer hit a storage fault
	observer   atomic.Pointer[func(rows int, took time.Duration, err error)]
}

// Open opens (creating if needed) the database at path, creates or migrates
// its schema and starts the record writer, with the default Options.
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with options. An existing file must be a termcall
// database: a 0-byte file, a file that is not SQLite and an SQLite
// database of another program are errors (ErrNotTermcall), never silently
// replaced by a new database.
func OpenWith(ctx context.Context, path string, opt Options) (*Store, error) {
	db, err := openSQLite(ctx, path)
	if err != nil {
		return nil, err
	}
	prevAlive, err := beginRun(ctx, db, opt.NodeID)
	if err != nil {
		db.close()
		return nil, fmt.Errorf("store: %s: heartbeat: %w", path, err)
	}
	return start(db, prevAlive, opt), nil
}

// start starts the record writer of a store on db.
func start(db backend, prevAlive int64, opt Options) *Store {
	if opt.MaxPending <= 0 {
		opt.MaxPending = DefaultMaxPending
	}
	if opt.Heartbeat <= 0 {
		opt.Heartbeat = DefaultHeartbeat
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	opt.Logger = opt.Logger.With("component", "store")
	s := &Store{db: db, ch: make(chan op, queueLen), done: make(chan struct{}),
		opt: opt, prevAlive: prevAlive, kick: make(chan struct{}, 1), pend: pendingSet{rows: map[rowKey]*pendingRow{}}}
	go s.writer()
	return s
}

// Close flushes pending record writes, stops the writer and closes the
// database. If the database still cannot be written after one last
// attempt, the records not written are logged (with their callIds) and
// Close returns an error saying how many; they are lost. Calling it again
// returns the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.isClosed.Store(true)
		close(s.ch)
		s.mu.Unlock()
		<-s.done
		s.closeErr = errors.Join(s.lostErr, s.db.close())
	})
	return s.closeErr
}

// Stats returns the record writer's counters.
func (s *Store) Stats() Stats {
	return Stats{Written: s.written.Load(), WriteErrors: s.writeErrors.Load(), Dropped: s.dropped.Load(),
		Pending: int(s.pendingN.Load()), Retries: s.retries.Load()}
}

// dbErr wraps a database error so that it carries CodeStorage for
// protocol.CodeOf and errors.As, and still unwraps to the cause.
func dbErr(what string, err error) error {
	if err == nil {
		return nil
	}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return err
	}
	return fmt.Errorf("%w: %w", &protocol.Error{Code: protocol.CodeStorage, Message: what}, err)
}

// inTx runs f in a write transaction.
func (s *Store) inTx(ctx context.Context, what string, f func(querier) error) error {
	err := s.db.inTx(ctx, f)
	if s.noteFault(err) {
		// A storage fault (disk full, database down): the same code as
		// Writable, so clients see one answer for one condition.
		return fmt.Errorf("%w: %w", unavailable(errors.New(what)), err)
	}
	return dbErr(what, err)
}

func checkIDs(ids []string) error {
	for _, id := range ids {
		if id == "" {
			return protocol.Errorf(protocol.CodeInvalidUserID, "empty userId")
		}
	}
	return nil
}

func addUsers(ctx context.Context, tx querier, ids []string) error {
	for _, id := range ids {
		if _, err := tx.exec(ctx, `INSERT INTO users(user_id) VALUES(?) ON CONFLICT DO NOTHING`, id); err != nil {
			return err
		}
	}
	return nil
}

// AddUsers makes users known. It is idempotent.
func (s *Store) AddUsers(ctx context.Context, ids []string) error {
	if err := checkIDs(ids); err != nil {
		return err
	}
	return s.inTx(ctx, "add users", func(tx querier) error { return addUsers(ctx, tx, ids) })
}

// Users returns every known user, sorted.
func (s *Store) Users(ctx context.Context) ([]string, error) {
	rows, err := s.db.reader().query(ctx, `SELECT user_id FROM users ORDER BY user_id`)
	if err != nil {
		return nil, dbErr("list users", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, dbErr("list users", err)
		}
		ids = append(ids, id)
	}
	return ids, dbErr("list users", rows.Err())
}

// SetProfile sets a user's nickname and avatar; the user becomes known.
func (s *Store) SetProfile(ctx context.Context, p Profile) error {
	if err := checkIDs([]string{p.UserID}); err != nil {
		return err
	}
	return s.inTx(ctx, "set profile", func(tx querier) error {
		_, err := tx.exec(ctx, `INSERT INTO users(user_id, nickname, avatar) VALUES(?, ?, ?)
			ON CONFLICT(user_id) DO UPDATE SET nickname = excluded.nickname, avatar = excluded.avatar`,
			p.UserID, p.Nickname, p.Avatar)
		return err
	})
}

// Profiles returns the profiles of the users that have a nickname or an
// avatar, sorted by user id.
func (s *Store) Profiles(ctx context.Context) ([]Profile, error) {
	rows, err := s.db.reader().query(ctx, `SELECT user_id, nickname, avatar FROM users
		WHERE nickname <> '' OR avatar <> '' ORDER BY user_id`)
	if err != nil {
		return nil, dbErr("list profiles", err)
	}
	defer rows.Close()
	var ps []Profile
	for rows.Next() {
		var p Profile
		if err := rows.Scan(&p.UserID, &p.Nickname, &p.Avatar); err != nil {
			return nil, dbErr("list profiles", err)
		}
		ps = append(ps, p)
	}
	return ps, dbErr("list profiles", rows.Err())
}

func groupExists(ctx context.Context, tx querier, groupID string) error {
	var one int
	err := tx.queryRow(ctx, `SELECT 1 FROM groups WHERE group_id = ?`, groupID).Scan(&one)
	if isNoRows(err) {
		return protocol.Errorf(protocol.CodeGroupNotFound, "group %q not found", groupID)
	}
	return err
}

func addMembers(ctx context.Context, tx querier, groupID string, ids []string) error {
	if err := addUsers(ctx, tx, ids); err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := tx.exec(ctx, `INSERT INTO group_members(group_id, user_id) VALUES(?, ?) ON CONFLICT DO NOTHING`, groupID, id); err != nil {
			return err
		}
	}
	return nil
}

// CreateGroup creates a group; its members become known users. CreatedAt
// is set to now if zero. It fails with CodeGroupExists if the group exists.
func (s *Store) CreateGroup(ctx context.Context, g Group) error {
	if g.GroupID == "" {
		return protocol.Errorf(protocol.CodeInvalidGroupID, "empty groupId")
	}
	if err := checkIDs(g.Members); err != nil {
		return err
	}
	if g.CreatedAt == 0 {
		g.CreatedAt = time.Now().Unix()
	}
	return s.inTx(ctx, "create group", func(tx querier) error {
		// ON CONFLICT: two servers creating the same group at once
		// settle it in the database, not by the check before.
		n, err := tx.exec(ctx, `INSERT INTO groups(group_id, name, owner, created_at) VALUES(?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, g.GroupID, g.Name, g.Owner, g.CreatedAt)
		if err != nil {
			return err
		}
		if n == 0 {
			return protocol.Errorf(protocol.CodeGroupExists, "group %q exists", g.GroupID)
		}
		return addMembers(ctx, tx, g.GroupID, g.Members)
	})
}

// DeleteGroup deletes a group and its membership (CodeGroupNotFound if none).
func (s *Store) DeleteGroup(ctx context.Context, groupID string) error {
	return s.inTx(ctx, "delete group", func(tx querier) error {
		n, err := tx.exec(ctx, `DELETE FROM groups WHERE group_id = ?`, groupID)
		if err != nil {
			return err
		}
		if n == 0 {
			return protocol.Errorf(protocol.CodeGroupNotFound, "group %q not found", groupID)
		}
		return nil
	})
}

// AddMembers adds members to a group; they become known users. Members
// already in the group are left alone.
func (s *Store) AddMembers(ctx context.Context, groupID string, ids []string) error {
	if err := checkIDs(ids); err != nil {
		return err
	}
	return s.inTx(ctx, "add members", func(tx querier) error {
		if err := groupExists(ctx, tx, groupID); err != nil {
			return err
		}
		return addMembers(ctx, tx, groupID, ids)
	})
}

// RemoveMembers removes members from a group; non-members are ignored.
func (s *Store) RemoveMembers(ctx context.Context, groupID string, ids []string) error {
	return s.inTx(ctx, "remove members", func(tx querier) error {
		if err := groupExists(ctx, tx, groupID); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.exec(ctx, `DELETE FROM group_members WHERE group_id = ? AND user_id = ?`, groupID, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// Groups returns every group sorted by id, each with its members sorted.
func (s *Store) Groups(ctx context.Context) ([]Group, error) {
	var gs []Group
	err := s.db.readTx(ctx, func(tx querier) error {
		var err error
		gs, err = queryGroups(ctx, tx)
		return err
	})
	return gs, dbErr("list groups", err)
}

func queryGroups(ctx context.Context, tx querier) ([]Group, error) {
	rows, err := tx.query(ctx, `SELECT group_id, name, owner, created_at FROM groups ORDER BY group_id`)
	if err != nil {
		return nil, err
	}
	var gs []Group
	for rows.Next() {
		g := Group{Members: []string{}}
		if err := rows.Scan(&g.GroupID, &g.Name, &g.Owner, &g.CreatedAt); err != nil {
			rows.Close()
			return nil, err
		}
		gs = append(gs, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.query(ctx, `SELECT group_id, user_id FROM group_members ORDER BY group_id, user_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var gid, uid string
		if err := rows.Scan(&gid, &uid); err != nil {
			return nil, err
		}
		i, ok := slices.BinarySearchFunc(gs, gid, func(g Group, id string) int {
			switch {
			case g.GroupID < id:
				return -1
			case g.GroupID > id:
				return 1
			}
			return 0
		})
		if ok {
			gs[i].Members = append(gs[i].Members, uid)
		}
	}
	return gs, rows.Err()
}

// logger is the store's logger (Options.Logger).
func (s *Store) logger() *slog.Logger { return s.opt.Logger }

// OpenDatabase opens the store named by target: a postgres:// (or
// postgresql://) URL opens PostgreSQL (OpenPostgres), anything else is the
// path of an SQLite file (OpenWith).
func OpenDatabase(ctx context.Context, target string, opt Options) (*Store, error) {
	if IsPostgresURL(target) {
		return OpenPostgres(ctx, target, opt)
	}
	return OpenWith(ctx, target, opt)
}
