// Package store keeps the call server's durable state in a SQLite file:
// known users and profiles, groups and members, and call records.
//
// Record writes are asynchronous and batched: StartRecords and FinishRecords
// enqueue and return at once; one writer goroutine commits them in
// transactions. Flush waits until everything enqueued before it is on disk.
// A commit that fails for a storage fault (disk full, I/O error) loses
// nothing: its records are kept (bounded by Options.MaxPending) and retried
// with backoff, and Writable reports the fault meanwhile; see writer.go.
// A heartbeat lets CloseLive end the records of a crashed server at the
// time it was last alive.
//
// The data directory's owner takes LockDir; Open refuses a file that is
// not a termcall database (empty, not SQLite, another program's).
//
// The file is opened twice: one write connection (WAL mode,
// synchronous=NORMAL, foreign keys on) shared by the record writer and the
// other mutations, which database/sql serializes, and a small read-only
// pool for queries, which WAL lets run beside the writer.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
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
}

// ErrClosed is returned by Flush after Close.
var ErrClosed = errors.New("store: closed")

const (
	busyTimeoutMS = 10000
	queueLen      = 4096 // ops (one StartRecords/FinishRecords call each)
	maxBatch      = 512  // rows per transaction
	readConns     = 4
)

// Store is the server's database. Its methods are safe for concurrent use.
type Store struct {
	wdb *sql.DB // exactly one connection: all writes
	rdb *sql.DB // read-only pool

	startStmt  *sql.Stmt
	finishStmt *sql.Stmt
	aliveStmt  *sql.Stmt

	opt       Options
	prevAlive int64 // the heartbeat found at Open (unix s; 0 = none)

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
	if opt.MaxPending <= 0 {
		opt.MaxPending = DefaultMaxPending
	}
	if opt.Heartbeat <= 0 {
		opt.Heartbeat = DefaultHeartbeat
	}
	if path == "" {
		return nil, protocol.Errorf(protocol.CodeInvalidArgument, "store: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	base := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)", busyTimeoutMS)
	if exists, err := checkFile(abs); err != nil {
		return nil, err
	} else if exists {
		if err := checkIdentity(ctx, base+"?mode=ro&"+common); err != nil {
			var nt *notTermcall
			if errors.As(err, &nt) {
				return nil, fmt.Errorf("store: %s %w", path, err)
			}
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
	}

	wdb, err := sql.Open("sqlite", base+"?"+common+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	if err := migrate(ctx, wdb); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	var prevAlive int64
	if err := wdb.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'last_alive'`).Scan(&prevAlive); err != nil && !errors.Is(err, sql.ErrNoRows) {
		wdb.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}

	rdb, err := sql.Open("sqlite", base+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(readConns)
	rdb.SetMaxIdleConns(readConns)
	if err := rdb.PingContext(ctx); err != nil {
		wdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}

	s := &Store{wdb: wdb, rdb: rdb, ch: make(chan op, queueLen), done: make(chan struct{}),
		opt: opt, prevAlive: prevAlive, kick: make(chan struct{}, 1), pend: pendingSet{rows: map[rowKey]*pendingRow{}}}
	if s.startStmt, err = wdb.PrepareContext(ctx, upsertStartSQL); err == nil {
		if s.finishStmt, err = wdb.PrepareContext(ctx, upsertFinishSQL); err == nil {
			s.aliveStmt, err = wdb.PrepareContext(ctx, upsertAliveSQL)
		}
	}
	if err != nil {
		for _, st := range []*sql.Stmt{s.startStmt, s.finishStmt} {
			if st != nil {
				st.Close()
			}
		}
		wdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	go s.writer()
	return s, nil
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
		s.closeErr = errors.Join(s.lostErr, s.startStmt.Close(), s.finishStmt.Close(), s.aliveStmt.Close(), s.rdb.Close(), s.wdb.Close())
	})
	return s.closeErr
}

// Stats returns the record writer's counters.
func (s *Store) Stats() Stats {
	return Stats{Written: s.written.Load(), WriteErrors: s.writeErrors.Load(), Dropped: s.dropped.Load(),
		Pending: int(s.pendingN.Load()), Retries: s.retries.Load()}
}

// schema holds the migrations; schema[i] takes user_version i to i+1.
var schema = []string{
	`CREATE TABLE users (
		user_id  TEXT PRIMARY KEY,
		nickname TEXT NOT NULL DEFAULT '',
		avatar   TEXT NOT NULL DEFAULT ''
	) WITHOUT ROWID;
	CREATE TABLE groups (
		group_id   TEXT PRIMARY KEY,
		name       TEXT NOT NULL DEFAULT '',
		owner      TEXT NOT NULL DEFAULT '',
		created_at INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE TABLE group_members (
		group_id TEXT NOT NULL REFERENCES groups(group_id) ON DELETE CASCADE,
		user_id  TEXT NOT NULL REFERENCES users(user_id),
		PRIMARY KEY (group_id, user_id)
	) WITHOUT ROWID;
	CREATE INDEX group_members_user ON group_members(user_id);
	CREATE TABLE records (
		call_id      TEXT NOT NULL,
		user_id      TEXT NOT NULL,
		inviter      TEXT NOT NULL DEFAULT '',
		invite_list  TEXT NOT NULL DEFAULT '[]',
		scene        INTEGER NOT NULL DEFAULT 0,
		media_type   INTEGER NOT NULL DEFAULT 0,
		group_id     TEXT NOT NULL DEFAULT '',
		int_room_id  INTEGER NOT NULL DEFAULT 0,
		str_room_id  TEXT NOT NULL DEFAULT '',
		role         INTEGER NOT NULL DEFAULT 0,
		result       INTEGER NOT NULL DEFAULT 0,
		begin_time   INTEGER NOT NULL DEFAULT 0,
		total_time   INTEGER NOT NULL DEFAULT 0,
		end_reason   INTEGER NOT NULL DEFAULT 0,
		connected_at INTEGER NOT NULL DEFAULT 0,
		live         INTEGER NOT NULL DEFAULT 0,
		hidden       INTEGER NOT NULL DEFAULT 0,
		updated_at   INTEGER NOT NULL DEFAULT 0, -- unix ms
		created_at   INTEGER NOT NULL DEFAULT 0, -- unix ms of the first write; orders calls of the same second
		PRIMARY KEY (call_id, user_id)
	) WITHOUT ROWID;
	CREATE INDEX records_user ON records(user_id, hidden, begin_time);
	CREATE INDEX records_begin ON records(begin_time);
	CREATE INDEX records_live ON records(call_id) WHERE live = 1;`,
	`CREATE TABLE meta (
		key   TEXT PRIMARY KEY,
		value INTEGER NOT NULL
	) WITHOUT ROWID;`,
}

// applicationID marks a termcall database in the SQLite header ("TCal").
const applicationID = 0x5443616c

// termcallTables are the tables every termcall database has had since
// schema version 1: an older file without the application id is accepted
// when it has them.
var termcallTables = []string{"group_members", "groups", "records", "users"}

const upsertAliveSQL = `INSERT INTO meta(key, value) VALUES('last_alive', ?)
	ON CONFLICT(key) DO UPDATE SET value = excluded.value`

// ErrNotTermcall is matched (errors.Is) by Open's error for a file that is
// not a termcall database.
var ErrNotTermcall = errors.New("not a termcall database")

type notTermcall struct{ why, fix string }

func (e *notTermcall) Error() string     { return e.why + ": " + ErrNotTermcall.Error() + "; " + e.fix }
func (e *notTermcall) Is(err error) bool { return err == ErrNotTermcall }

const fixForeign = "move it away (or point --data at termcall's own directory); termcall will not overwrite it"

// checkFile refuses an existing database file that cannot be termcall's:
// empty, or not SQLite. A missing file is fine (a new database): exists
// is false.
func checkFile(path string) (exists bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("store: %w", err)
	}
	if fi.IsDir() {
		return true, fmt.Errorf("store: %s %w", path, &notTermcall{"is a directory", "remove it or choose another --data directory"})
	}
	if fi.Size() == 0 {
		return true, fmt.Errorf("store: %s %w", path, &notTermcall{"is empty (0 bytes)",
			"restore it from a backup, or delete it to start with an empty database"})
	}
	hdr := make([]byte, 16)
	if _, err := io.ReadFull(f, hdr); err != nil || string(hdr) != "SQLite format 3\x00" {
		return true, fmt.Errorf("store: %s %w", path, &notTermcall{"is not an SQLite database", fixForeign})
	}
	return true, nil
}

// checkIdentity refuses an SQLite database that is not termcall's, reading
// it without changing it (before the write connection sets WAL mode).
func checkIdentity(ctx context.Context, dsn string) error {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	var v, app, objects int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&app); err != nil {
		return err
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&objects); err != nil {
		return err
	}
	switch {
	case app == applicationID:
	case app != 0:
		return &notTermcall{fmt.Sprintf("belongs to another program (application id %#x)", app), fixForeign}
	case v == 0 && objects > 0:
		return &notTermcall{"is another program's SQLite database", fixForeign}
	case v > 0:
		for _, t := range termcallTables {
			var one int
			err := db.QueryRowContext(ctx, "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", t).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return &notTermcall{fmt.Sprintf("is another program's SQLite database (no table %q)", t), fixForeign}
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// migrate brings the schema up to date, using PRAGMA user_version.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var v, app int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if err := tx.QueryRowContext(ctx, "PRAGMA application_id").Scan(&app); err != nil {
		return err
	}
	if v > len(schema) {
		return fmt.Errorf("database schema version %d is newer than this program's %d", v, len(schema))
	}
	if v == len(schema) && app == applicationID {
		return nil
	}
	for ; v < len(schema); v++ {
		if _, err := tx.ExecContext(ctx, schema[v]); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", v+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", applicationID)); err != nil {
		return err
	}
	return tx.Commit()
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
func (s *Store) inTx(ctx context.Context, what string, f func(*sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		s.noteFault(err)
		return dbErr(what, err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		s.noteFault(err)
		return dbErr(what, err)
	}
	err = tx.Commit()
	s.noteFault(err)
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

func addUsers(ctx context.Context, tx *sql.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO users(user_id) VALUES(?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, id := range ids {
		if _, err := st.ExecContext(ctx, id); err != nil {
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
	return s.inTx(ctx, "add users", func(tx *sql.Tx) error { return addUsers(ctx, tx, ids) })
}

// Users returns every known user, sorted.
func (s *Store) Users(ctx context.Context) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT user_id FROM users ORDER BY user_id`)
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
	return s.inTx(ctx, "set profile", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users(user_id, nickname, avatar) VALUES(?, ?, ?)
			ON CONFLICT(user_id) DO UPDATE SET nickname = excluded.nickname, avatar = excluded.avatar`,
			p.UserID, p.Nickname, p.Avatar)
		return err
	})
}

// Profiles returns the profiles of the users that have a nickname or an
// avatar, sorted by user id.
func (s *Store) Profiles(ctx context.Context) ([]Profile, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT user_id, nickname, avatar FROM users
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

func groupExists(ctx context.Context, tx *sql.Tx, groupID string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM groups WHERE group_id = ?`, groupID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return protocol.Errorf(protocol.CodeGroupNotFound, "group %q not found", groupID)
	}
	return err
}

func addMembers(ctx context.Context, tx *sql.Tx, groupID string, ids []string) error {
	if err := addUsers(ctx, tx, ids); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	st, err := tx.PrepareContext(ctx, `INSERT INTO group_members(group_id, user_id) VALUES(?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, id := range ids {
		if _, err := st.ExecContext(ctx, groupID, id); err != nil {
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
	return s.inTx(ctx, "create group", func(tx *sql.Tx) error {
		err := groupExists(ctx, tx, g.GroupID)
		if err == nil {
			return protocol.Errorf(protocol.CodeGroupExists, "group %q exists", g.GroupID)
		}
		if protocol.CodeOf(err) != protocol.CodeGroupNotFound {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO groups(group_id, name, owner, created_at) VALUES(?, ?, ?, ?)`,
			g.GroupID, g.Name, g.Owner, g.CreatedAt); err != nil {
			return err
		}
		return addMembers(ctx, tx, g.GroupID, g.Members)
	})
}

// DeleteGroup deletes a group and its membership (CodeGroupNotFound if none).
func (s *Store) DeleteGroup(ctx context.Context, groupID string) error {
	return s.inTx(ctx, "delete group", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM groups WHERE group_id = ?`, groupID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
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
	return s.inTx(ctx, "add members", func(tx *sql.Tx) error {
		if err := groupExists(ctx, tx, groupID); err != nil {
			return err
		}
		return addMembers(ctx, tx, groupID, ids)
	})
}

// RemoveMembers removes members from a group; non-members are ignored.
func (s *Store) RemoveMembers(ctx context.Context, groupID string, ids []string) error {
	return s.inTx(ctx, "remove members", func(tx *sql.Tx) error {
		if err := groupExists(ctx, tx, groupID); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = ? AND user_id = ?`, groupID, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// Groups returns every group sorted by id, each with its members sorted.
func (s *Store) Groups(ctx context.Context) ([]Group, error) {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, dbErr("list groups", err)
	}
	defer tx.Rollback()
	gs, err := queryGroups(ctx, tx)
	return gs, dbErr("list groups", err)
}

func queryGroups(ctx context.Context, tx *sql.Tx) ([]Group, error) {
	rows, err := tx.QueryContext(ctx, `SELECT group_id, name, owner, created_at FROM groups ORDER BY group_id`)
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
	rows, err = tx.QueryContext(ctx, `SELECT group_id, user_id FROM group_members ORDER BY group_id, user_id`)
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

// logger is the package's logger.
func logger() *slog.Logger { return slog.Default().With("component", "store") }
