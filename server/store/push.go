package store

import (
	"context"
	"time"
)

// The push endpoints users register (termcall push register): where the
// server sends an invitation when the user has no device online
// (server/push.go). Their own table, added by one migration step of each
// backend.

const pushSchema = `CREATE TABLE push_endpoints (
		user_id    TEXT NOT NULL,
		url        TEXT NOT NULL,
		kind       TEXT NOT NULL DEFAULT 'webhook',
		created_at INTEGER NOT NULL DEFAULT 0, -- unix ms
		PRIMARY KEY (user_id, url)
	) WITHOUT ROWID;`

const pgPushSchema = `CREATE TABLE push_endpoints (
		user_id    TEXT COLLATE "C" NOT NULL,
		url        TEXT NOT NULL,
		kind       TEXT NOT NULL DEFAULT 'webhook',
		created_at BIGINT NOT NULL DEFAULT 0, -- unix ms
		PRIMARY KEY (user_id, url)
	);`

// MaxPushEndpoints is how many endpoints one user may register; the oldest
// is dropped when a new one would exceed it.
const MaxPushEndpoints = 5

// PushEndpoint is one registered push endpoint.
type PushEndpoint struct {
	UserID string
	URL    string
	// Kind is "webhook" (a signed JSON POST) or "ntfy" (the UnifiedPush /
	// ntfy publish format).
	Kind      string
	CreatedAt time.Time
}

// SetPushEndpoint registers (or re-registers) an endpoint for a user,
// keeping at most MaxPushEndpoints per user (the oldest go).
func (s *Store) SetPushEndpoint(ctx context.Context, e PushEndpoint) error {
	if err := checkIDs([]string{e.UserID}); err != nil {
		return err
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	return s.inTx(ctx, "register push endpoint", func(tx querier) error {
		if _, err := tx.exec(ctx, `INSERT INTO push_endpoints(user_id, url, kind, created_at) VALUES(?, ?, ?, ?)
			ON CONFLICT(user_id, url) DO UPDATE SET kind = excluded.kind, created_at = excluded.created_at`,
			e.UserID, e.URL, e.Kind, e.CreatedAt.UnixMilli()); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `DELETE FROM push_endpoints WHERE user_id = ? AND url NOT IN
			(SELECT url FROM push_endpoints WHERE user_id = ? ORDER BY created_at DESC, url LIMIT ?)`,
			e.UserID, e.UserID, MaxPushEndpoints)
		return err
	})
}

// DeletePushEndpoint removes one endpoint of a user, or all of them when
// url is empty. It reports how many it removed.
func (s *Store) DeletePushEndpoint(ctx context.Context, userID, url string) (int, error) {
	var n int64
	err := s.inTx(ctx, "unregister push endpoint", func(tx querier) error {
		var err error
		if url == "" {
			n, err = tx.exec(ctx, `DELETE FROM push_endpoints WHERE user_id = ?`, userID)
		} else {
			n, err = tx.exec(ctx, `DELETE FROM push_endpoints WHERE user_id = ? AND url = ?`, userID, url)
		}
		return err
	})
	return int(n), err
}

// PushEndpoints returns a user's endpoints, newest first.
func (s *Store) PushEndpoints(ctx context.Context, userID string) ([]PushEndpoint, error) {
	rows, err := s.db.reader().query(ctx, `SELECT url, kind, created_at FROM push_endpoints
		WHERE user_id = ? ORDER BY created_at DESC, url`, userID)
	if err != nil {
		return nil, dbErr("list push endpoints", err)
	}
	defer rows.Close()
	var out []PushEndpoint
	for rows.Next() {
		e := PushEndpoint{UserID: userID}
		var ms int64
		if err := rows.Scan(&e.URL, &e.Kind, &ms); err != nil {
			return nil, dbErr("list push endpoints", err)
		}
		e.CreatedAt = time.UnixMilli(ms)
		out = append(out, e)
	}
	return out, dbErr("list push endpoints", rows.Err())
}
