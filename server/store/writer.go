package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/termcall/termcall/protocol"
)

// The record writer and its durability rules.
//
// Every enqueued row goes into the pending set, one entry per record
// (CallID, UserID): a later write of the same record replaces the earlier
// one (a finish replaces a start; a start after a finish is ignored, the
// same "finish wins" rule as the upserts), so the set holds at most one row
// per record. The writer commits the set in transactions of up to maxBatch
// rows and removes what was committed.
//
// A commit that fails for a storage fault (disk full, I/O error, anything
// but a row the database rejects) keeps every row and is retried with
// exponential backoff, minBackoff doubling to maxBackoff, until it
// succeeds. Meanwhile Writable reports the fault and new rows keep being
// added to the set, up to Options.MaxPending records; a row of a record not
// already in a full set is discarded, logged with its callId and counted in
// Stats.Dropped. Close makes one last attempt and returns an error naming
// what could not be written.
//
// A heartbeat ("last alive", unix s) is written every Options.Heartbeat so
// that, after a crash, CloseLive can end live records when the server was
// last known alive rather than at the next start.

// Defaults of Options.
const (
	DefaultMaxPending = 100000      // records (~50 MB at worst)
	DefaultHeartbeat  = time.Second // how often "last alive" is written
)

const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
	warnEvery  = time.Minute // while failing, how often the fault is logged again
	maxLogIDs  = 50          // callIds listed in a log line
)

type rowKey struct{ callID, userID string }

type pendingRow struct {
	finish bool
	args   rowArgs
	writes uint64 // enqueued writes merged into this row
}

// pendingSet is the rows not yet committed, one per record, in the order
// their records were first enqueued.
type pendingSet struct {
	rows  map[rowKey]*pendingRow
	order []rowKey
}

// merge adds one enqueued write. It returns false, changing nothing, for
// a record not in the set when the set holds max records.
func (p *pendingSet) merge(finish bool, args rowArgs, max int) bool {
	k := rowKey{args[0].(string), args[1].(string)}
	if r := p.rows[k]; r != nil {
		r.writes++
		if finish || !r.finish {
			created := r.args[argCreated]
			r.args, r.finish = args, finish
			r.args[argCreated] = created
		}
		return true
	}
	if len(p.rows) >= max {
		return false
	}
	p.rows[k] = &pendingRow{finish: finish, args: args, writes: 1}
	p.order = append(p.order, k)
	return true
}

// remove drops the first n records of the order.
func (p *pendingSet) remove(n int) {
	for _, k := range p.order[:n] {
		delete(p.rows, k)
	}
	m := copy(p.order, p.order[n:])
	clear(p.order[m:])
	p.order = p.order[:m]
}

// callIDs lists up to maxLogIDs distinct call ids of the set.
func (p *pendingSet) callIDs() []string {
	var ids []string
	seen := map[string]bool{}
	for _, k := range p.order {
		if !seen[k.callID] {
			seen[k.callID] = true
			ids = append(ids, k.callID)
			if len(ids) == maxLogIDs {
				break
			}
		}
	}
	return ids
}

// rowError is a failed statement of a commit: the row at index i.
type rowError struct {
	i   int
	err error
}

func (e *rowError) Error() string { return e.err.Error() }
func (e *rowError) Unwrap() error { return e.err }

// unavailable is the error of Writable and Flush while commits fail.
func unavailable(cause error) *protocol.Error {
	return protocol.Errorf(protocol.CodeStoreUnavailable, "the server cannot write its database (%w); try again later", cause)
}

// Writable returns nil while the store can write, an error with
// CodeStoreUnavailable while its last commit failed for a storage fault
// (until a retry succeeds), ErrClosed after Close.
func (s *Store) Writable() error {
	if e := s.unwritable.Load(); e != nil {
		return e
	}
	if s.isClosed.Load() {
		return ErrClosed
	}
	return nil
}

// setUnwritable records a storage fault (nil: writable again).
func (s *Store) setUnwritable(cause error) {
	if cause == nil {
		s.unwritable.Store(nil)
		return
	}
	s.unwritable.Store(unavailable(cause))
}

// noteFault is called when a write outside the record writer (AddUsers,
// groups...) fails: a storage fault makes the store unwritable until the
// writer's next successful commit, which it schedules. It reports whether
// err was such a fault.
func (s *Store) noteFault(err error) bool {
	var pe *protocol.Error
	if err == nil || errors.As(err, &pe) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || !s.db.isFault(err) {
		return false
	}
	s.setUnwritable(err)
	select {
	case s.kick <- struct{}{}:
	default:
	}
	return true
}

// SetCommitObserver sets f to be called, from the writer goroutine, after
// every commit attempt: rows is the number of record rows in the
// transaction (0 for a heartbeat alone), took its duration, err its
// failure or nil. f must not block. nil removes the observer.
func (s *Store) SetCommitObserver(f func(rows int, took time.Duration, err error)) {
	if f == nil {
		s.observer.Store(nil)
		return
	}
	s.observer.Store(&f)
}

// noteError counts n failed rows and remembers err for the next Flush.
func (s *Store) noteError(err error, n int) {
	s.writeErrors.Add(uint64(n))
	s.errMu.Lock()
	s.pendingErr = err
	s.errMu.Unlock()
}

// takeError returns and clears the last write error.
func (s *Store) takeError() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	err := s.pendingErr
	s.pendingErr = nil
	return err
}

// Flush returns nil once every record enqueued before the call is
// committed. While the store cannot write it does not wait for the retries:
// it returns an error with CodeStoreUnavailable at once (the records are
// kept and retried). It returns the last error of a record the database
// rejected since the previous Flush, if any; ErrClosed after Close;
// ctx.Err() when ctx ends first.
func (s *Store) Flush(ctx context.Context) error {
	done := make(chan error, 1)
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	select {
	case s.ch <- op{flush: done}:
		s.mu.RUnlock()
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// take merges o into the pending set or, for a Flush, adds its channel to
// flushes.
func (s *Store) take(o op, flushes *[]chan error) {
	if o.flush != nil {
		*flushes = append(*flushes, o.flush)
		return
	}
	var lost []string
	for i := range o.rows {
		if !s.pend.merge(o.finish, o.rows[i], s.opt.MaxPending) {
			lost = append(lost, o.rows[i][0].(string))
		}
	}
	s.pendingN.Store(int64(len(s.pend.rows)))
	if len(lost) > 0 {
		s.dropped.Add(uint64(len(lost)))
		err := fmt.Errorf("store: %d records are waiting to be written; %d more discarded", len(s.pend.rows), len(lost))
		s.errMu.Lock()
		s.pendingErr = err
		s.errMu.Unlock()
		s.logger().Error("record rows discarded: too many records waiting for the database", "rows", len(lost),
			"callIds", lost[:min(len(lost), maxLogIDs)], "pending", len(s.pend.rows))
	}
}

// writer owns the record queue and the pending set until the queue is
// closed.
func (s *Store) writer() {
	defer close(s.done)
	w := newWriterLoop(s)
	defer w.stop()
	for {
		closed, retryDue := w.wait()
		if closed {
			w.finish()
			return
		}
		w.step(retryDue)
	}
}

// writerLoop is the record writer's state between commits.
type writerLoop struct {
	s        *Store
	tick     *time.Ticker
	retry    *time.Timer
	linger   *time.Timer
	flushes  []chan error
	backoff  time.Duration // > 0 while commits fail
	lastErr  error
	lastWarn time.Time
	aliveDue bool
}

func newWriterLoop(s *Store) *writerLoop {
	w := &writerLoop{s: s, tick: time.NewTicker(s.opt.Heartbeat), retry: time.NewTimer(time.Hour), linger: time.NewTimer(time.Hour),
		aliveDue: true} // write the heartbeat at start
	w.retry.Stop()
	w.linger.Stop()
	return w
}

func (w *writerLoop) stop() {
	w.tick.Stop()
	w.retry.Stop()
	w.linger.Stop()
}

// answer answers every waiting Flush with err.
func (w *writerLoop) answer(err error) {
	for _, f := range w.flushes {
		f <- err
	}
	clear(w.flushes)
	w.flushes = w.flushes[:0]
}

// answerErr answers the waiting Flushes with the last rejected row's
// error; with none waiting, the error stays for the next Flush.
func (w *writerLoop) answerErr() {
	if len(w.flushes) > 0 {
		w.answer(w.s.takeError())
	}
}

// wait blocks for the next thing to do: queued writes (taken with
// everything queued behind them, and lingered on), a retry, the heartbeat
// or a fault noted elsewhere. It reports whether the queue was closed and
// whether a retry is due.
func (w *writerLoop) wait() (closed, retryDue bool) {
	s := w.s
	select {
	case o, ok := <-s.ch:
		if !ok {
			return true, false
		}
		s.take(o, &w.flushes)
		if w.drain() {
			return true, false
		}
		if len(w.flushes) == 0 && w.backoff == 0 {
			return s.linger(w.linger, &w.flushes), false
		}
	case <-w.retry.C:
		return false, true
	case <-w.tick.C:
		w.aliveDue = true
	case <-s.kick:
		if e := s.unwritable.Load(); w.backoff == 0 && e != nil {
			w.backoff, w.lastErr, w.lastWarn = minBackoff, e, time.Now()
			w.retry.Reset(w.backoff)
			s.logger().Warn("the database cannot be written; new calls are refused until it can", "err", e)
		}
	}
	return false, false
}

// drain takes everything queued now into this commit. It reports whether
// the queue was closed.
func (w *writerLoop) drain() (closed bool) {
	for range queueLen {
		select {
		case o, ok := <-w.s.ch:
			if !ok {
				return true
			}
			w.s.take(o, &w.flushes)
		default:
			return false
		}
	}
	return false
}

// finish makes the last commit once the queue is closed.
func (w *writerLoop) finish() {
	w.retry.Stop()
	err := w.s.commitPending(true)
	if err != nil {
		w.s.reportLost(err)
	}
	if err == nil {
		err = w.s.takeError()
	}
	w.answer(err)
}

// step commits what is pending when that is due, and answers the
// waiting Flushes.
func (w *writerLoop) step(retryDue bool) {
	s := w.s
	if w.backoff > 0 && !retryDue {
		if len(s.pend.rows) > 0 {
			w.answer(unavailable(w.lastErr))
		} else {
			w.answer(nil)
		}
		return
	}
	if len(s.pend.rows) == 0 && !w.aliveDue && !retryDue {
		w.answerErr()
		return
	}
	if retryDue {
		s.retries.Add(1)
	}
	if err := s.commitPending(w.aliveDue || retryDue); err != nil {
		w.failed(err)
		return
	}
	w.aliveDue = false
	if w.backoff > 0 {
		w.backoff = 0
		w.retry.Stop()
		s.logger().Info("the database is writable again; records written", "retries", s.retries.Load())
	}
	if s.unwritable.Load() != nil {
		s.setUnwritable(nil)
	}
	w.answerErr()
}

// failed schedules the retry of a commit that failed for a storage fault.
func (w *writerLoop) failed(err error) {
	s := w.s
	if w.backoff == 0 {
		w.backoff, w.lastWarn = minBackoff, time.Now()
		s.logger().Warn("the database cannot be written; records are kept and retried, new calls are refused",
			"err", err, "pending", len(s.pend.rows))
	} else {
		w.backoff = min(2*w.backoff, maxBackoff)
		if time.Since(w.lastWarn) >= warnEvery {
			w.lastWarn = time.Now()
			s.logger().Warn("the database still cannot be written", "err", err, "pending", len(s.pend.rows),
				"retries", s.retries.Load())
		}
	}
	w.lastErr = err
	s.setUnwritable(err)
	w.retry.Reset(w.backoff)
	w.answer(unavailable(err))
}

// commitLinger is how long the writer lets rows gather before it commits
// them (group commit): the rows of every call set up or ended meanwhile
// share one transaction, and the start and finish of a call shorter than
// that merge into one row. A Flush ends the wait at once, as does a full
// batch. The records of a crash within it are lost, as are any not yet
// committed.
const commitLinger = 10 * time.Millisecond

// linger takes more queued writes for up to commitLinger, until a Flush
// asks for a commit or the set holds a full batch. It reports whether the
// queue was closed.
func (s *Store) linger(t *time.Timer, flushes *[]chan error) (closed bool) {
	if len(s.pend.order) == 0 || len(s.pend.order) >= maxBatch {
		return false
	}
	t.Reset(commitLinger)
	defer t.Stop()
	for len(*flushes) == 0 && len(s.pend.order) < maxBatch {
		select {
		case o, ok := <-s.ch:
			if !ok {
				return true
			}
			s.take(o, flushes)
		case <-t.C:
			return false
		}
	}
	return false
}

// commitPending commits the pending set (and, if alive, the heartbeat) in
// transactions of at most maxBatch rows. It drops a row the database
// rejects and goes on; it stops at the first storage fault, keeping what
// is left.
func (s *Store) commitPending(alive bool) error {
	defer func() { s.pendingN.Store(int64(len(s.pend.rows))) }()
	hbDone := !alive
	for {
		n := min(len(s.pend.order), maxBatch)
		if n == 0 && hbDone {
			return nil
		}
		hb := !hbDone
		err := s.commitRows(s.pend.order[:n], hb)
		var re *rowError
		switch {
		case err == nil:
			s.pend.remove(n)
			hbDone = true
		case errors.As(err, &re) && !s.db.isFault(re.err):
			k := s.pend.order[re.i]
			s.logger().Error("record rejected by the database; dropped", "err", re.err, "callId", k.callID, "userId", k.userID)
			s.noteError(dbErr("write record", re.err), int(s.pend.rows[k].writes))
			s.pend.order = append(s.pend.order[:re.i], s.pend.order[re.i+1:]...)
			delete(s.pend.rows, k)
		default:
			return err
		}
	}
}

// commitRows writes the rows of keys (and the heartbeat) in one transaction.
func (s *Store) commitRows(keys []rowKey, hb bool) error {
	t0 := time.Now()
	rows := make([]*pendingRow, len(keys))
	for i, k := range keys {
		rows[i] = s.pend.rows[k]
	}
	var alive int64
	if hb {
		alive = time.Now().Unix()
	}
	err := s.db.writeBatch(context.Background(), rows, s.opt.NodeID, alive)
	if f := s.observer.Load(); f != nil {
		(*f)(len(keys), time.Since(t0), err)
	}
	if err != nil {
		return err
	}
	var w uint64
	for _, k := range keys {
		w += s.pend.rows[k].writes
	}
	s.written.Add(w)
	return nil
}

// reportLost logs and remembers, for Close, the rows that could not be
// written before the store closed.
func (s *Store) reportLost(err error) {
	n := len(s.pend.rows)
	if n == 0 {
		return
	}
	ids := s.pend.callIDs()
	s.logger().Error("closing the store: record rows could not be written and are lost", "rows", n, "callIds", ids, "err", err)
	var w uint64
	for _, r := range s.pend.rows {
		w += r.writes
	}
	s.writeErrors.Add(w)
	s.lostErr = fmt.Errorf("store: %d record rows could not be written (calls %v): %w", n, ids, unavailable(err))
	s.pend = pendingSet{}
	s.pendingN.Store(0)
}
