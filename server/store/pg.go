package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/termcall/termcall/protocol"
)

// The PostgreSQL backend (pgx v5, a pgxpool pool). Its schema is SQLite's
// with PostgreSQL types (BIGINT for every integer) and byte-order ("C")
// collation on the ids, so that lists sort exactly as SQLite's BINARY
// does; its version is the meta row 'schema_version'. Opening migrates it
// under a transaction-scoped advisory lock, so that servers starting at
// once against one database do not race. A record commit is one pgx.Batch:
// its statements are pipelined in one round trip and run as one implicit
// transaction (one Sync), so a failing row rolls the batch back.

// pgSchema holds the migrations; pgSchema[i] takes schema_version i to i+1.
var pgSchema = []string{
	`CREATE TABLE users (
		user_id  TEXT COLLATE "C" PRIMARY KEY,
		nickname TEXT NOT NULL DEFAULT '',
		avatar   TEXT NOT NULL DEFAULT ''
	);
	CREATE TABLE groups (
		group_id   TEXT COLLATE "C" PRIMARY KEY,
		name       TEXT NOT NULL DEFAULT '',
		owner      TEXT NOT NULL DEFAULT '',
		created_at BIGINT NOT NULL
	);
	CREATE TABLE group_members (
		group_id TEXT COLLATE "C" NOT NULL REFERENCES groups(group_id) ON DELETE CASCADE,
		user_id  TEXT COLLATE "C" NOT NULL REFERENCES users(user_id),
		PRIMARY KEY (group_id, user_id)
	);
	CREATE INDEX group_members_user ON group_members(user_id);
	CREATE TABLE records (
		call_id      TEXT COLLATE "C" NOT NULL,
		user_id      TEXT COLLATE "C" NOT NULL,
		inviter      TEXT NOT NULL DEFAULT '',
		invite_list  TEXT NOT NULL DEFAULT '[]',
		scene        BIGINT NOT NULL DEFAULT 0,
		media_type   BIGINT NOT NULL DEFAULT 0,
		group_id     TEXT NOT NULL DEFAULT '',
		int_room_id  BIGINT NOT NULL DEFAULT 0,
		str_room_id  TEXT NOT NULL DEFAULT '',
		role         BIGINT NOT NULL DEFAULT 0,
		result       BIGINT NOT NULL DEFAULT 0,
		begin_time   BIGINT NOT NULL DEFAULT 0,
		total_time   BIGINT NOT NULL DEFAULT 0,
		end_reason   BIGINT NOT NULL DEFAULT 0,
		connected_at BIGINT NOT NULL DEFAULT 0,
		live         BIGINT NOT NULL DEFAULT 0,
		hidden       BIGINT NOT NULL DEFAULT 0,
		updated_at   BIGINT NOT NULL DEFAULT 0, -- unix ms
		created_at   BIGINT NOT NULL DEFAULT 0, -- unix ms of the first write
		PRIMARY KEY (call_id, user_id)
	);
	CREATE INDEX records_user ON records(user_id, hidden, begin_time);
	CREATE INDEX records_begin ON records(begin_time);
	CREATE INDEX records_live ON records(call_id) WHERE live = 1;`,
	// Cluster mode: records carry the node that wrote them (its calls'
	// owner; '' in single-node mode), and the heartbeat is one row per node.
	`ALTER TABLE records ADD COLUMN node_id TEXT COLLATE "C" NOT NULL DEFAULT '';
	CREATE INDEX records_live_node ON records(node_id) WHERE live = 1;
	CREATE TABLE heartbeats (
		node_id    TEXT COLLATE "C" PRIMARY KEY,
		last_alive BIGINT NOT NULL DEFAULT 0, -- unix s
		started    BIGINT NOT NULL DEFAULT 0  -- unix ms: when the node's last run opened the store
	);
	INSERT INTO heartbeats(node_id, last_alive) SELECT '', value FROM meta WHERE key = 'last_alive';
	DELETE FROM meta WHERE key = 'last_alive';`,
	// --- kit: push (push.go) ---
	pgPushSchema,
}

// pgMigrateLock is the advisory lock key taken while migrating ("TCal").
const pgMigrateLock = 0x5443616c

// DefaultConnectTimeout bounds connecting to PostgreSQL when the URL sets
// no connect_timeout.
const DefaultConnectTimeout = 5 * time.Second

// pgCommitTimeout bounds one record commit: a server that stops answering
// (a cut network, no RST) is a storage fault, retried, not a writer stuck
// forever.
const pgCommitTimeout = 15 * time.Second

// defaultPoolConns is the pool size when the URL sets no pool_max_conns:
// the record writer, a few reads and mutations at once.
const defaultPoolConns = 8

// IsPostgresURL reports whether target names a PostgreSQL database
// (postgres:// or postgresql://).
func IsPostgresURL(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

// RedactURL is target with its password hidden, for logs and errors.
func RedactURL(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return "(unparsable database URL)"
	}
	return u.Redacted()
}

type pgDB struct {
	pool                          *pgxpool.Pool
	startSQL, finishSQL, aliveSQL string
}

// OpenPostgres connects to the PostgreSQL database at dsn (a postgres://
// URL or key=value string, as pgx reads it; pool_max_conns and the usual
// libpq parameters apply), creates or migrates its schema and starts the
// record writer. It fails, saying so, when the server cannot be reached
// within the connect timeout (DefaultConnectTimeout unless the URL sets
// connect_timeout) or ctx ends.
func OpenPostgres(ctx context.Context, dsn string, opt Options) (*Store, error) {
	if dsn == "" {
		return nil, errEmptyPath
	}
	where := RedactURL(dsn)
	if !IsPostgresURL(dsn) {
		where = "(database)"
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, protocol.Errorf(protocol.CodeInvalidArgument, "store: bad PostgreSQL URL %s: %w", where, err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = defaultPoolConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: PostgreSQL %s: %w", where, err)
	}
	fail := func(what string, err error) (*Store, error) {
		pool.Close()
		return nil, fmt.Errorf("store: PostgreSQL %s: %s: %w", where, what, err)
	}
	if err := pool.Ping(ctx); err != nil {
		return fail("cannot connect", err)
	}
	if err := pgMigrate(ctx, pool); err != nil {
		return fail("schema", err)
	}
	d := &pgDB{pool: pool, startSQL: rebind(upsertStartSQL), finishSQL: rebind(upsertFinishSQL), aliveSQL: rebind(upsertAliveSQL)}
	prevAlive, err := beginRun(ctx, d, opt.NodeID)
	if err != nil {
		return fail("heartbeat", err)
	}
	return start(d, prevAlive, opt), nil
}

// pgMigrate brings the schema up to date in one transaction.
func pgMigrate(ctx context.Context, pool *pgxpool.Pool) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(pgMigrateLock)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS meta (
		key   TEXT COLLATE "C" PRIMARY KEY,
		value BIGINT NOT NULL
	)`); err != nil {
		return err
	}
	var v int
	err = tx.QueryRow(ctx, `SELECT value FROM meta WHERE key = 'schema_version'`).Scan(&v)
	if err != nil && !isNoRows(err) {
		return err
	}
	if v > len(pgSchema) {
		return fmt.Errorf("database schema version %d is newer than this program's %d", v, len(pgSchema))
	}
	if v == len(pgSchema) {
		return nil
	}
	if v == 0 {
		// A new termcall database: refuse one where another program's
		// tables of the same names live.
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()
			AND tablename IN ('users', 'groups', 'group_members', 'records')`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: it has tables named like termcall's (users, groups, group_members, records) but no termcall schema_version; use a database of termcall's own", ErrNotTermcall)
		}
	}
	for ; v < len(pgSchema); v++ {
		if _, err := tx.Exec(ctx, pgSchema[v]); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", v+1, err)
		}
	}
	if _, err := tx.Exec(ctx, `INSERT INTO meta(key, value) VALUES('schema_version', $1)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, int64(v)); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func (d *pgDB) close() error {
	d.pool.Close()
	return nil
}

func (d *pgDB) inTx(ctx context.Context, f func(querier) error) error {
	tx, err := d.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if err := f(pgQ{tx}); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func (d *pgDB) readTx(ctx context.Context, f func(querier) error) error {
	tx, err := d.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	return f(pgQ{tx})
}

func (d *pgDB) reader() querier { return pgQ{d.pool} }

// writeBatch sends the rows' upserts and the heartbeat as one pipelined
// batch: one round trip, one implicit transaction.
func (d *pgDB) writeBatch(ctx context.Context, rows []*pendingRow, node string, alive int64) error {
	ctx, cancel := context.WithTimeout(ctx, pgCommitTimeout)
	defer cancel()
	var b pgx.Batch
	for _, r := range rows {
		q := d.startSQL
		if r.finish {
			q = d.finishSQL
		}
		b.Queue(q, r.args[:]...)
	}
	if alive != 0 {
		b.Queue(d.aliveSQL, node, alive)
	}
	br := d.pool.SendBatch(ctx, &b)
	for i := range rows {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return &rowError{i: i, err: err}
		}
	}
	if alive != 0 {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return err
		}
	}
	return br.Close()
}

// isFault: a statement PostgreSQL rejects for its data (SQLSTATE class 22,
// data exception, e.g. a NUL byte in a text; class 23, integrity
// constraint) is not retried; anything else (no connection, the server
// shutting down, out of disk, ...) is a storage fault.
func (d *pgDB) isFault(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && len(pe.Code) == 5 {
		switch pe.Code[:2] {
		case "22", "23":
			return false
		}
	}
	return true
}

func (d *pgDB) closeLiveSQL() string {
	const alive = `(CASE WHEN $3::bigint >= 0 THEN $3::bigint ELSE COALESCE((SELECT last_alive FROM heartbeats WHERE node_id = $5::text), 0) END)`
	return `UPDATE records SET live = 0, end_reason = $1::bigint,
			total_time = CASE WHEN connected_at > 0 THEN GREATEST(
				CASE WHEN ` + alive + ` > 0 THEN LEAST($2::bigint, GREATEST(` + alive + `, updated_at / 1000)) ELSE $2::bigint END - connected_at, 0) ELSE 0 END,
			updated_at = $4::bigint
			WHERE live = 1 AND node_id = $5::text
			AND NOT EXISTS (SELECT 1 FROM heartbeats WHERE node_id = $5::text AND started > $6::bigint)`
}

// pgQ runs the store's ? statements on a pgx pool or transaction.
type pgQ struct {
	q interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
}

func (p pgQ) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := p.q.Exec(ctx, rebind(q), args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (p pgQ) query(ctx context.Context, q string, args ...any) (rowIter, error) {
	rows, err := p.q.Query(ctx, rebind(q), args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (p pgQ) queryRow(ctx context.Context, q string, args ...any) rowScanner {
	return p.q.QueryRow(ctx, rebind(q), args...)
}
