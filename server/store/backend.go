package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// A Store runs on a backend: SQLite (sqlite.go) or PostgreSQL (pg.go).
// The Store's own code (users, groups, records, the record writer and its
// retries) is shared; it writes its SQL once, with ? placeholders, in the
// dialect both databases understand, and a backend supplies transactions,
// reads, the record writer's batch and the few statements that differ.
type backend interface {
	// inTx runs f in a write transaction, committed if f returns nil.
	inTx(ctx context.Context, f func(querier) error) error
	// readTx runs f in a read-only transaction (one snapshot).
	readTx(ctx context.Context, f func(querier) error) error
	// reader runs single queries outside a transaction.
	reader() querier
	// writeBatch writes the rows (and, if alive is not 0, node's heartbeat
	// "last alive" = alive) in one transaction. A row the database
	// rejects fails it with a *rowError naming the row.
	writeBatch(ctx context.Context, rows []*pendingRow, node string, alive int64) error
	// isFault reports whether err is a storage fault worth retrying,
	// rather than a row or statement the database rejects.
	isFault(err error) bool
	// closeLiveSQL is CloseLive's and CloseLiveOf's UPDATE, with
	// parameters 1: end reason, 2: now (unix s), 3: the node's last
	// heartbeat (unix s; < 0: read it from heartbeats), 4: now (unix ms),
	// 5: the node, 6: the run start seen (unix ms; a newer run's
	// heartbeat row makes it a no-op).
	closeLiveSQL() string
	close() error
}

// querier is a transaction or a pool: statements with ? placeholders.
type querier interface {
	exec(ctx context.Context, q string, args ...any) (rowsAffected int64, err error)
	query(ctx context.Context, q string, args ...any) (rowIter, error)
	queryRow(ctx context.Context, q string, args ...any) rowScanner
}

type rowIter interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

type rowScanner interface{ Scan(dest ...any) error }

// isNoRows reports whether err is a query's "no row" of either driver.
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) || errors.Is(err, pgx.ErrNoRows) }

// rebind turns ? placeholders into PostgreSQL's $1, $2... (the store's SQL
// has no ? inside string literals).
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// --- database/sql (SQLite) ---

type sqlQuerier interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

type sqlQ struct{ q sqlQuerier }

func (s sqlQ) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := s.q.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s sqlQ) query(ctx context.Context, q string, args ...any) (rowIter, error) {
	rows, err := s.q.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (s sqlQ) queryRow(ctx context.Context, q string, args ...any) rowScanner {
	return s.q.QueryRowContext(ctx, q, args...)
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }
