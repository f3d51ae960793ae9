package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The SQLite backend: one file, opened twice: one write connection (WAL
// mode, synchronous=NORMAL, foreign keys on) shared by the record writer
// and the other mutations, which database/sql serializes, and a small
// read-only pool for queries, which WAL lets run beside the writer.

const (
	busyTimeoutMS = 10000
	readConns     = 4
)

type sqliteDB struct {
	wdb *sql.DB // exactly one connection: all writes
	rdb *sql.DB // read-only pool

	startStmt  *sql.Stmt
	finishStmt *sql.Stmt
	aliveStmt  *sql.Stmt
}

// openSQLite opens (creating if needed) the database file at path and
// migrates its schema.
func openSQLite(ctx context.Context, path string) (*sqliteDB, error) {
	if path == "" {
		return nil, errEmptyPath
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
	if err := checkExisting(ctx, path, abs, base+"?mode=ro&"+common); err != nil {
		return nil, err
	}

	wdb, err := openSQLiteWriter(ctx, path, base+"?"+common+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	rdb, err := openSQLiteReader(ctx, path, base+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		wdb.Close()
		return nil, err
	}
	d := &sqliteDB{wdb: wdb, rdb: rdb}
	if err := d.prepare(ctx); err != nil {
		wdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("store: prepare: %w", err)
	}
	return d, nil
}

// checkExisting refuses an existing file at abs that is not a termcall
// database; dsn opens it read-only.
func checkExisting(ctx context.Context, path, abs, dsn string) error {
	exists, err := checkFile(abs)
	if err != nil || !exists {
		return err
	}
	if err := checkIdentity(ctx, dsn); err != nil {
		var nt *notTermcall
		if errors.As(err, &nt) {
			return fmt.Errorf("store: %s %w", path, err)
		}
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	return nil
}

// openSQLiteWriter opens the single-connection write pool and migrates
// the schema.
func openSQLiteWriter(ctx context.Context, path, dsn string) (*sql.DB, error) {
	wdb, err := sql.Open("sqlite", dsn)
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
	return wdb, nil
}

// openSQLiteReader opens the read-only pool.
func openSQLiteReader(ctx context.Context, path, dsn string) (*sql.DB, error) {
	rdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(readConns)
	rdb.SetMaxIdleConns(readConns)
	if err := rdb.PingContext(ctx); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return rdb, nil
}

// prepare prepares the batch writer's statements; on error it closes
// those it prepared.
func (d *sqliteDB) prepare(ctx context.Context) error {
	var err error
	if d.startStmt, err = d.wdb.PrepareContext(ctx, upsertStartSQL); err == nil {
		if d.finishStmt, err = d.wdb.PrepareContext(ctx, upsertFinishSQL); err == nil {
			d.aliveStmt, err = d.wdb.PrepareContext(ctx, upsertAliveSQL)
		}
	}
	if err != nil {
		for _, st := range []*sql.Stmt{d.startStmt, d.finishStmt} {
			if st != nil {
				st.Close()
			}
		}
	}
	return err
}

func (d *sqliteDB) close() error {
	return errors.Join(d.startStmt.Close(), d.finishStmt.Close(), d.aliveStmt.Close(), d.rdb.Close(), d.wdb.Close())
}

func (d *sqliteDB) inTx(ctx context.Context, f func(querier) error) error {
	tx, err := d.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(sqlQ{tx}); err != nil {
		return err
	}
	return tx.Commit()
}

func (d *sqliteDB) readTx(ctx context.Context, f func(querier) error) error {
	tx, err := d.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return f(sqlQ{tx})
}

func (d *sqliteDB) reader() querier { return sqlQ{d.rdb} }

func (d *sqliteDB) writeBatch(ctx context.Context, rows []*pendingRow, node string, alive int64) error {
	tx, err := d.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	start, finish := tx.Stmt(d.startStmt), tx.Stmt(d.finishStmt)
	for i, r := range rows {
		st := start
		if r.finish {
			st = finish
		}
		if _, e := st.ExecContext(ctx, r.args[:]...); e != nil {
			err = &rowError{i: i, err: e}
			break
		}
	}
	if err == nil && alive != 0 {
		_, err = tx.Stmt(d.aliveStmt).ExecContext(ctx, node, alive)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		_ = tx.Rollback()
	}
	return err
}

// isFault: anything but a row SQLite rejects (constraint, type mismatch,
// too big, bad parameter) is a storage fault.
func (d *sqliteDB) isFault(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_RANGE:
			return false
		}
	}
	return true
}

func (d *sqliteDB) closeLiveSQL() string {
	const alive = `(CASE WHEN ?3 >= 0 THEN ?3 ELSE COALESCE((SELECT last_alive FROM heartbeats WHERE node_id = ?5), 0) END)`
	return `UPDATE records SET live = 0, end_reason = ?1,
			total_time = CASE WHEN connected_at > 0 THEN max(
				CASE WHEN ` + alive + ` > 0 THEN min(?2, max(` + alive + `, updated_at / 1000)) ELSE ?2 END - connected_at, 0) ELSE 0 END,
			updated_at = ?4
			WHERE live = 1 AND node_id = ?5
			AND NOT EXISTS (SELECT 1 FROM heartbeats WHERE node_id = ?5 AND started > ?6)`
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
	// Cluster mode: records carry the node that wrote them (its calls'
	// owner; '' in single-node mode), and the heartbeat is one row per node.
	`ALTER TABLE records ADD COLUMN node_id TEXT NOT NULL DEFAULT '';
	CREATE INDEX records_live_node ON records(node_id) WHERE live = 1;
	CREATE TABLE heartbeats (
		node_id    TEXT PRIMARY KEY,
		last_alive INTEGER NOT NULL DEFAULT 0, -- unix s
		started    INTEGER NOT NULL DEFAULT 0  -- unix ms: when the node's last run opened the store
	) WITHOUT ROWID;
	INSERT INTO heartbeats(node_id, last_alive) SELECT '', value FROM meta WHERE key = 'last_alive';
	DELETE FROM meta WHERE key = 'last_alive';`,
	// --- kit: push (push.go) ---
	pushSchema,
}

// applicationID marks a termcall database in the SQLite header ("TCal").
const applicationID = 0x5443616c

// termcallTables are the tables every termcall database has had since
// schema version 1: an older file without the application id is accepted
// when it has them.
var termcallTables = []string{"group_members", "groups", "records", "users"}

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
