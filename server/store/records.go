package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/termcall/termcall/protocol"
)

// Record limits.
const (
	DefaultRecordsLimit = 100  // QueryRecords, when the filter has none
	MaxRecordsLimit     = 1000 // QueryRecords' largest page
	DefaultAdminLimit   = 1000 // AdminRecords, when the filter has none
	MaxAdminLimit       = 10000
)

const recordCols = `call_id, user_id, inviter, invite_list, scene, media_type, group_id,
	int_room_id, str_room_id, role, result, begin_time, total_time, end_reason, connected_at`

// nArgs is the number of bound values of an upsert: recordCols, node_id,
// updated_at and created_at.
const nArgs = 18

const upsertSet = `inviter = excluded.inviter, invite_list = excluded.invite_list,
	scene = excluded.scene, media_type = excluded.media_type, group_id = excluded.group_id,
	int_room_id = excluded.int_room_id, str_room_id = excluded.str_room_id, role = excluded.role,
	result = excluded.result, begin_time = excluded.begin_time, total_time = excluded.total_time,
	end_reason = excluded.end_reason, connected_at = excluded.connected_at,
	node_id = excluded.node_id, updated_at = excluded.updated_at, live = excluded.live`

// A start never overwrites a finished row: a finish enqueued earlier wins.
var upsertStartSQL = `INSERT INTO records(` + recordCols + `, node_id, updated_at, created_at, live)
	VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
	ON CONFLICT(call_id, user_id) DO UPDATE SET ` + upsertSet + ` WHERE records.live = 1`

var upsertFinishSQL = `INSERT INTO records(` + recordCols + `, node_id, updated_at, created_at, live)
	VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
	ON CONFLICT(call_id, user_id) DO UPDATE SET ` + upsertSet

// The heartbeat of a node's run: one row per node ID in heartbeats.
// last_alive (unix s) is written every Options.Heartbeat; started (unix
// ms) when a run opens the store.
const upsertAliveSQL = `INSERT INTO heartbeats(node_id, last_alive) VALUES(?, ?)
	ON CONFLICT(node_id) DO UPDATE SET last_alive = excluded.last_alive`

const selectAliveSQL = `SELECT last_alive FROM heartbeats WHERE node_id = ?`

const beginRunSQL = `INSERT INTO heartbeats(node_id, last_alive, started) VALUES(?, ?, ?)
	ON CONFLICT(node_id) DO UPDATE SET started = excluded.started`

// rowArgs are one record's bound values, built by the enqueuing goroutine
// so that the writer only executes.
type rowArgs [nArgs]any

// argCreated is the index of created_at in rowArgs.
const argCreated = nArgs - 1

// op is one entry of the writer's queue: a StartRecords or FinishRecords
// call, or a Flush.
type op struct {
	finish bool
	rows   []rowArgs
	flush  chan error // non-nil: a Flush waiting for everything before it
}

func encodeList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, err := json.Marshal(l)
	if err != nil { // cannot happen for []string
		return "[]"
	}
	return string(b)
}

func decodeList(s string) ([]string, error) {
	if s == "" || s == "[]" {
		return nil, nil
	}
	var l []string
	if err := json.Unmarshal([]byte(s), &l); err != nil {
		return nil, fmt.Errorf("bad invite_list %q: %w", s, err)
	}
	return l, nil
}

func (s *Store) buildRows(recs []Record, what string) []rowArgs {
	now := time.Now().UnixMilli()
	rows := make([]rowArgs, 0, len(recs))
	for i := range recs {
		r := &recs[i]
		if r.CallID == "" || r.UserID == "" {
			err := fmt.Errorf("store: %s: record without callId or userId (callId %q, userId %q)", what, r.CallID, r.UserID)
			s.logger().Error("dropping record", "err", err)
			s.noteError(err, 1)
			continue
		}
		rows = append(rows, rowArgs{
			r.CallID, r.UserID, r.Inviter, encodeList(r.InviteList),
			int64(r.Scene), int64(r.MediaType), r.GroupID,
			int64(r.RoomID.IntRoomID), r.RoomID.StrRoomID,
			int64(r.Role), int64(r.Result), r.BeginTime, r.TotalTime,
			int64(r.EndReason), r.ConnectedAt, s.opt.NodeID, now, now,
		})
	}
	return rows
}

// StartRecords enqueues records of calls that are going on (Live=true),
// one row per (CallID, UserID), inserted or updated. It returns at once,
// unless the queue is full, when it waits for room. Record.Live is ignored.
func (s *Store) StartRecords(recs []Record) { s.enqueueRecords(false, recs) }

// FinishRecords enqueues the final records of ended calls (Live=false). It
// wins over any StartRecords for the same row enqueued before it; a
// StartRecords enqueued after it is ignored.
func (s *Store) FinishRecords(recs []Record) { s.enqueueRecords(true, recs) }

func (s *Store) enqueueRecords(finish bool, recs []Record) {
	if len(recs) == 0 {
		return
	}
	what := "StartRecords"
	if finish {
		what = "FinishRecords"
	}
	rows := s.buildRows(recs, what)
	if len(rows) == 0 {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		s.dropped.Add(uint64(len(rows)))
		s.logger().Warn("record written after Close; dropped", "op", what, "rows", len(rows))
		return
	}
	s.ch <- op{finish: finish, rows: rows}
}

// CloseLive ends every record of this store's node (Options.NodeID) still
// marked live, as left by a previous run of the node that stopped without
// finishing its calls: EndReason becomes endByServer and TotalTime, for
// users who connected (else 0), the seconds from ConnectedAt to when the
// node was last known alive: the later of its last heartbeat found at Open
// and the record's last write, at most now. Without a heartbeat (a
// database of an older termcall) the end is now. Result is kept. Other
// nodes' records are not touched (CloseLiveOf ends those). It returns how
// many rows it ended. Call it at start, before StartRecords.
func (s *Store) CloseLive(ctx context.Context, now int64) (int, error) {
	return s.closeLive(ctx, s.opt.NodeID, now, s.prevAlive, math.MaxInt64)
}

// CloseLiveOf ends the live records of another node, found dead (its
// registration reaped, or left behind by a reaper that died), as CloseLive
// does for its own: endByServer, at the dead node's last heartbeat in the
// database. seenStart (unix ms) is the start of the run found dead (its
// NodeInfo.Started, or a LiveNodes row's Started): if the node's
// heartbeat row shows a run that opened the store after it, the node is
// back and closed its previous run's records itself, and its new calls'
// records are not touched: nothing is done. The check and the update are
// one statement. A record the owner finished (live = 0) is never changed.
func (s *Store) CloseLiveOf(ctx context.Context, node string, seenStart int64) (int, error) {
	return s.closeLive(ctx, node, time.Now().Unix(), -1, seenStart)
}

// closeLive runs the backend's close statement; alive < 0 takes the node's
// last heartbeat from the database.
func (s *Store) closeLive(ctx context.Context, node string, now, alive, seenStart int64) (int, error) {
	var n int64
	err := s.inTx(ctx, "close live records", func(tx querier) error {
		var err error
		n, err = tx.exec(ctx, s.db.closeLiveSQL(), int64(protocol.ReasonEndByServer), now, alive,
			time.Now().UnixMilli(), node, seenStart)
		return err
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// NodeRun is a node that has live records: its heartbeat row (zeros if it
// has none) and how many records.
type NodeRun struct {
	Node      string
	LastAlive int64 // unix s, by the node's clock
	Started   int64 // unix ms: when its last run opened the store
	Live      int   // live records
}

// LiveNodes lists the nodes that have live records, by node ID. A node
// that starts in a cluster uses it to find dead nodes whose records no
// reaper closed.
func (s *Store) LiveNodes(ctx context.Context) ([]NodeRun, error) {
	rows, err := s.db.reader().query(ctx, `SELECT r.node_id, COALESCE(h.last_alive, 0), COALESCE(h.started, 0), count(*)
		FROM records r LEFT JOIN heartbeats h ON h.node_id = r.node_id
		WHERE r.live = 1 GROUP BY r.node_id, h.last_alive, h.started ORDER BY r.node_id`)
	if err != nil {
		return nil, dbErr("list live nodes", err)
	}
	defer rows.Close()
	var ns []NodeRun
	for rows.Next() {
		var n NodeRun
		var live int64
		if err := rows.Scan(&n.Node, &n.LastAlive, &n.Started, &live); err != nil {
			return nil, dbErr("list live nodes", err)
		}
		n.Live = int(live)
		ns = append(ns, n)
	}
	return ns, dbErr("list live nodes", rows.Err())
}

// beginRun reads the node's last heartbeat (its previous run's) and marks
// this run's start in its heartbeat row, before the writer starts.
func beginRun(ctx context.Context, db backend, node string) (prevAlive int64, err error) {
	err = db.inTx(ctx, func(tx querier) error {
		if err := tx.queryRow(ctx, selectAliveSQL, node).Scan(&prevAlive); err != nil && !isNoRows(err) {
			return err
		}
		now := time.Now()
		_, err := tx.exec(ctx, beginRunSQL, node, now.Unix(), now.UnixMilli())
		return err
	})
	return prevAlive, err
}

func scanRecords(rows rowIter) ([]Record, error) {
	defer rows.Close()
	recs := []Record{}
	for rows.Next() {
		var (
			r      Record
			list   string
			intRID int64
			live   int64
		)
		if err := rows.Scan(&r.CallID, &r.UserID, &r.Inviter, &list, &r.Scene, &r.MediaType, &r.GroupID,
			&intRID, &r.RoomID.StrRoomID, &r.Role, &r.Result, &r.BeginTime, &r.TotalTime, &r.EndReason,
			&r.ConnectedAt, &live); err != nil {
			return nil, err
		}
		r.RoomID.IntRoomID = uint32(intRID)
		r.Live = live != 0
		var err error
		if r.InviteList, err = decodeList(list); err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	return recs, rows.Err()
}

type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, arg any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, arg)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// QueryRecords returns userID's records that it has not hidden, newest
// BeginTime first. Begin (inclusive) and End (exclusive) bound BeginTime
// when non-zero; Result selects one kind when non-zero; Limit defaults to
// DefaultRecordsLimit and is capped at MaxRecordsLimit. Records still in the
// writer's queue are not seen; Flush first to see them.
func (s *Store) QueryRecords(ctx context.Context, userID string, f protocol.RecentCallsFilter) ([]Record, error) {
	var w where
	w.add("user_id = ?", userID)
	w.add("hidden = ?", 0)
	if f.Begin != 0 {
		w.add("begin_time >= ?", f.Begin)
	}
	if f.End != 0 {
		w.add("begin_time < ?", f.End)
	}
	if f.Result != protocol.ResultUnknown {
		w.add("result = ?", int64(f.Result))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultRecordsLimit
	}
	limit = min(limit, MaxRecordsLimit)
	rows, err := s.db.reader().query(ctx, `SELECT `+recordCols+`, live FROM records`+w.sql()+
		` ORDER BY begin_time DESC, created_at DESC, call_id DESC LIMIT ?`, append(w.args, limit)...)
	if err != nil {
		return nil, dbErr("query records", err)
	}
	recs, err := scanRecords(rows)
	return recs, dbErr("query records", err)
}

// AdminRecords returns records of every user, hidden ones included, with
// UserID filled, newest BeginTime first.
func (s *Store) AdminRecords(ctx context.Context, f AdminFilter) ([]Record, error) {
	var w where
	if f.UserID != "" {
		w.add("user_id = ?", f.UserID)
	}
	if f.CallID != "" {
		w.add("call_id = ?", f.CallID)
	}
	if f.Begin != 0 {
		w.add("begin_time >= ?", f.Begin)
	}
	if f.End != 0 {
		w.add("begin_time < ?", f.End)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultAdminLimit
	}
	limit = min(limit, MaxAdminLimit)
	rows, err := s.db.reader().query(ctx, `SELECT `+recordCols+`, live FROM records`+w.sql()+
		` ORDER BY begin_time DESC, created_at DESC, call_id DESC, user_id LIMIT ?`, append(w.args, limit)...)
	if err != nil {
		return nil, dbErr("admin records", err)
	}
	recs, err := scanRecords(rows)
	return recs, dbErr("admin records", err)
}

// HideRecords hides userID's records of the given calls from QueryRecords
// (other users' records of the same calls are untouched; AdminRecords still
// lists them). It returns the call ids whose record existed and was hidden
// by this call, in the order given.
func (s *Store) HideRecords(ctx context.Context, userID string, callIDs []string) ([]string, error) {
	hidden := []string{}
	err := s.inTx(ctx, "hide records", func(tx querier) error {
		hidden = hidden[:0]
		now := time.Now().UnixMilli()
		seen := make(map[string]bool, len(callIDs))
		for _, id := range callIDs {
			if seen[id] {
				continue
			}
			seen[id] = true
			n, err := tx.exec(ctx, `UPDATE records SET hidden = 1, updated_at = ?
				WHERE call_id = ? AND user_id = ? AND hidden = 0`, now, id, userID)
			if err != nil {
				return err
			}
			if n > 0 {
				hidden = append(hidden, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return hidden, nil
}
