package server

import (
	"context"
	"errors"
	"time"

	"github.com/termcall/termcall/protocol"
	"github.com/termcall/termcall/server/store"
)

// record is one participant's record of a call as it stands now.
func (s *Server) record(c *call, p *part) protocol.CallRecord {
	r := protocol.CallRecord{
		CallID: c.id, UserID: p.user.id, Inviter: c.inviter, InviteList: c.invitees(),
		Scene: c.scene, MediaType: c.mediaType, GroupID: c.groupID, RoomID: c.room,
		Role: p.role, BeginTime: c.created.Unix(), EndReason: p.reason, Live: p.active(),
	}
	if r.InviteList == nil {
		r.InviteList = []string{}
	}
	switch {
	case p.role == protocol.RoleCaller:
		r.Result = protocol.ResultOutgoing
	case p.connected || p.reason == protocol.ReasonReject:
		r.Result = protocol.ResultIncoming
	default:
		r.Result = protocol.ResultMissed
	}
	if p.connected {
		r.ConnectedAt = p.connectedAt.Unix()
		end := p.leftAt
		if end.IsZero() {
			end = time.Now()
		}
		r.TotalTime = int64(end.Sub(p.connectedAt) / time.Second)
	}
	return r
}

// startRecords writes live records (at call start and when someone connects),
// so that a server crash loses nothing.
func (s *Server) startRecords(c *call, ps ...*part) {
	recs := make([]protocol.CallRecord, 0, len(ps))
	for _, p := range ps {
		recs = append(recs, s.record(c, p))
	}
	s.store.StartRecords(recs)
}

// finishRecords writes the final record of participants that are done.
func (s *Server) finishRecords(c *call, ps ...*part) {
	recs := make([]protocol.CallRecord, 0, len(ps))
	for _, p := range ps {
		recs = append(recs, s.record(c, p))
		if p.busyClaim != nil && s.route != nil { // the part is over: its busy lock goes
			s.route.release(s.route.st.Busy, p.busyClaim)
			p.busyClaim = nil
		}
	}
	s.store.FinishRecords(recs)
}

func (s *Server) handleQueryRecentCalls(d *device, m *protocol.Message) error {
	var f protocol.RecentCallsFilter
	if err := protocol.DecodeData(m.Data, &f); err != nil {
		return err
	}
	if f.Result < protocol.ResultUnknown || f.Result > protocol.ResultOutgoing {
		return protocol.Errorf(protocol.CodeInvalidArgument, "resultType %d; want 0..3", f.Result)
	}
	if f.Limit < 0 || f.Limit > 1000 {
		return protocol.Errorf(protocol.CodeInvalidArgument, "limit %d; want 0..1000", f.Limit)
	}
	c, userID := d.conn, d.user.id
	s.unlocked(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := s.store.Flush(ctx)
		var recs []store.Record
		if err == nil {
			recs, err = s.store.QueryRecords(ctx, userID, f)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			s.refuse(c, m.ID, m.Type, storageError("query records", err))
			return
		}
		if recs == nil {
			recs = []store.Record{}
		}
		reply(c, m.ID, protocol.RecordsReply{Records: recs})
	})
	return nil
}

func (s *Server) handleDeleteRecordCalls(d *device, m *protocol.Message) error {
	var req protocol.DeleteRecordCallsRequest
	if err := protocol.DecodeData(m.Data, &req); err != nil {
		return err
	}
	if len(req.CallIDs) == 0 || len(req.CallIDs) > 1000 {
		return protocol.Errorf(protocol.CodeTooManyRecordsIDs, "give 1 to 1000 callIds; got %d", len(req.CallIDs))
	}
	for _, id := range req.CallIDs {
		if err := protocol.ValidateCallID(id); err != nil {
			return err
		}
	}
	c, userID := d.conn, d.user.id
	s.unlocked(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := s.store.Flush(ctx)
		var ids []string
		if err == nil {
			ids, err = s.store.HideRecords(ctx, userID, req.CallIDs)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			s.refuse(c, m.ID, m.Type, storageError("delete records", err))
			return
		}
		if ids == nil {
			ids = []string{}
		}
		reply(c, m.ID, protocol.DeleteRecordCallsReply{Deleted: ids})
	})
	return nil
}

// storageError is the reply to a request the store failed: CodeStoreUnavailable
// (records waiting to be written) as is, anything else as CodeStorage.
func storageError(what string, err error) *protocol.Error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.Code == protocol.CodeStoreUnavailable {
		return pe
	}
	return protocol.Errorf(protocol.CodeStorage, "%s: %w", what, err)
}

func storeProfile(id, nickname, avatar string) store.Profile {
	return store.Profile{UserID: id, Nickname: nickname, Avatar: avatar}
}
