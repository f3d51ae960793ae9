package engine

import (
	"context"

	"github.com/termcall/termcall/protocol"
)

// setCurrent returns a reply hook that makes the call in a CallReply the
// current call, before any event that follows the reply is handled.
func (e *Engine) setCurrent(rep *protocol.CallReply) func(*protocol.Message) {
	return func(m *protocol.Message) {
		r, err := protocol.DecodeCallReply(m.Data)
		*rep = r // on an error, what json.Unmarshal had filled in, as before
		if err != nil {
			return
		}
		if e.cur == nil || e.cur.CallID == rep.Call.CallID {
			c := rep.Call
			e.cur = &c
		}
	}
}

// Call places a 1v1 call. It returns once the server has placed it; what
// happens next arrives as events (CallBegin, UserReject, ...).
func (e *Engine) Call(ctx context.Context, userID string, mediaType MediaType, params CallParams) (CallInfo, error) {
	if err := protocol.ValidateUserID(userID); err != nil {
		return CallInfo{}, err
	}
	return e.placeCall(ctx, protocol.TypeCall, protocol.CallRequest{UserIDs: []string{userID}, MediaType: mediaType, Params: params})
}

// GroupCall places a call to several members of an existing group.
func (e *Engine) GroupCall(ctx context.Context, groupID string, userIDs []string, mediaType MediaType, params CallParams) (CallInfo, error) {
	if err := protocol.ValidateGroupID(groupID); err != nil {
		return CallInfo{}, err
	}
	return e.placeCall(ctx, protocol.TypeGroupCall, protocol.CallRequest{UserIDs: userIDs, GroupID: groupID, MediaType: mediaType, Params: params})
}

func (e *Engine) placeCall(ctx context.Context, typ string, req protocol.CallRequest) (CallInfo, error) {
	if !req.MediaType.Valid() {
		return CallInfo{}, protocol.Errorf(protocol.CodeInvalidMediaType, "mediaType %d; want audio or video", req.MediaType)
	}
	if err := req.Params.RoomID.Validate(false); err != nil {
		return CallInfo{}, err
	}
	var rep protocol.CallReply
	if err := e.request(ctx, typ, req, nil, e.setCurrent(&rep)); err != nil {
		return CallInfo{}, err
	}
	return rep.Call, nil
}

// current returns the current call's ID.
func (e *Engine) current() (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cur == nil {
		return "", protocol.Errorf(protocol.CodeNoCurrentCall, "no call")
	}
	return e.cur.CallID, nil
}

func (e *Engine) onCurrent(ctx context.Context, typ string, hook func(*protocol.Message)) error {
	id, err := e.current()
	if err != nil {
		return err
	}
	return e.request(ctx, typ, protocol.CallIDRequest{CallID: id}, nil, hook)
}

// Accept answers the ringing call.
func (e *Engine) Accept(ctx context.Context) error {
	var rep protocol.CallReply
	return e.onCurrent(ctx, protocol.TypeAccept, e.setCurrent(&rep))
}

// Reject declines the ringing call; the caller gets UserReject.
func (e *Engine) Reject(ctx context.Context) error { return e.onCurrent(ctx, protocol.TypeReject, nil) }

// Ignore declines the ringing call so that the caller hears line busy
// (UserLineBusy), for when the user is in a meeting.
func (e *Engine) Ignore(ctx context.Context) error { return e.onCurrent(ctx, protocol.TypeIgnore, nil) }

// Hangup leaves the current call; while the callee still rings, it cancels
// the call. Hangup on a call ringing for this user declines it.
func (e *Engine) Hangup(ctx context.Context) error { return e.onCurrent(ctx, protocol.TypeHangup, nil) }

// InviteUser invites more group members into the current group call, in its
// room (a room ID in params is ignored). It returns who was invited.
func (e *Engine) InviteUser(ctx context.Context, userIDs []string, params CallParams) ([]string, error) {
	id, err := e.current()
	if err != nil {
		return nil, err
	}
	params.RoomID = RoomID{}
	var rep protocol.InviteUserReply
	if err := e.request(ctx, protocol.TypeInviteUser, protocol.InviteUserRequest{CallID: id, UserIDs: userIDs, Params: params}, &rep, nil); err != nil {
		return nil, err
	}
	return rep.UserIDs, nil
}

// JoinInGroupCall joins the running call of a group by its room.
func (e *Engine) JoinInGroupCall(ctx context.Context, roomID RoomID, groupID string, mediaType MediaType) (CallInfo, error) {
	if err := roomID.Validate(true); err != nil {
		return CallInfo{}, err
	}
	if err := protocol.ValidateGroupID(groupID); err != nil {
		return CallInfo{}, err
	}
	var rep protocol.CallReply
	err := e.request(ctx, protocol.TypeJoinInGroupCall, protocol.JoinInGroupCallRequest{RoomID: roomID, GroupID: groupID, MediaType: mediaType}, nil, e.setCurrent(&rep))
	return rep.Call, err
}

// Join joins a running group call by its call ID (the Web API's join).
func (e *Engine) Join(ctx context.Context, callID string) (CallInfo, error) {
	if err := protocol.ValidateCallID(callID); err != nil {
		return CallInfo{}, err
	}
	var rep protocol.CallReply
	err := e.request(ctx, protocol.TypeJoin, protocol.CallIDRequest{CallID: callID}, nil, e.setCurrent(&rep))
	return rep.Call, err
}

// SwitchCallMediaType switches the connected call between audio and video;
// everyone in it gets CallMediaTypeChanged.
func (e *Engine) SwitchCallMediaType(ctx context.Context, mediaType MediaType) error {
	id, err := e.current()
	if err != nil {
		return err
	}
	return e.request(ctx, protocol.TypeSwitchMediaType, protocol.SwitchMediaTypeRequest{CallID: id, MediaType: mediaType}, nil, nil)
}

// SetSelfInfo sets this user's nickname (at most 500 bytes) and avatar
// (an http(s) URL). Callees see them in CallReceived.
func (e *Engine) SetSelfInfo(ctx context.Context, nickname, avatar string) error {
	if err := protocol.ValidateNickname(nickname); err != nil {
		return err
	}
	if err := protocol.ValidateAvatar(avatar); err != nil {
		return err
	}
	return e.request(ctx, protocol.TypeSetSelfInfo, protocol.SetSelfInfoRequest{Nickname: nickname, Avatar: avatar}, nil, nil)
}

// QueryRecentCalls returns this user's call records, newest first.
func (e *Engine) QueryRecentCalls(ctx context.Context, filter RecentCallsFilter) ([]CallRecord, error) {
	var rep protocol.RecordsReply
	if err := e.request(ctx, protocol.TypeQueryRecentCalls, filter, &rep, nil); err != nil {
		return nil, err
	}
	return rep.Records, nil
}

// DeleteRecordCalls deletes records by call ID, for this user only. It
// returns the IDs that were deleted.
func (e *Engine) DeleteRecordCalls(ctx context.Context, callIDs []string) ([]string, error) {
	var rep protocol.DeleteRecordCallsReply
	if err := e.request(ctx, protocol.TypeDeleteRecordCalls, protocol.DeleteRecordCallsRequest{CallIDs: callIDs}, &rep, nil); err != nil {
		return nil, err
	}
	return rep.Deleted, nil
}
