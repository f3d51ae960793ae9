package protocol

// RequestSpec describes one request type of the protocol: the Go type of
// its data and of its reply's data (nil when the reply carries no data).
// The table is the protocol's own description of itself: the JSON Schema
// in docs/protocol.schema.json is generated from it, and the server's tests
// check that it lists exactly the requests the server handles.
type RequestSpec struct {
	Data  any // a zero value of the data's type; nil: no data
	Reply any // a zero value of the reply data's type; nil: empty reply
	Doc   string
}

// Requests lists every request a client may send, by message type.
var Requests = map[string]RequestSpec{
	TypeLogin:             {Data: LoginRequest{}, Reply: LoginReply{}, Doc: "authenticate a device; the first request of a connection"},
	TypeRenewSig:          {Data: RenewSigRequest{}, Reply: RenewSigReply{}, Doc: "replace the session's userSig"},
	TypeLogout:            {Doc: "end the device's calls and close the connection"},
	TypeCall:              {Data: CallRequest{}, Reply: CallReply{}, Doc: "start a 1v1 call (exactly one userId)"},
	TypeGroupCall:         {Data: CallRequest{}, Reply: CallReply{}, Doc: "start a group call in a group"},
	TypeAccept:            {Data: CallIDRequest{}, Reply: CallReply{}, Doc: "accept an invitation"},
	TypeReject:            {Data: CallIDRequest{}, Doc: "reject an invitation"},
	TypeIgnore:            {Data: CallIDRequest{}, Doc: "ignore an invitation (the caller sees line busy)"},
	TypeHangup:            {Data: CallIDRequest{}, Doc: "leave or cancel a call; declines a ringing one"},
	TypeInviteUser:        {Data: InviteUserRequest{}, Reply: InviteUserReply{}, Doc: "invite more users into a running group call"},
	TypeJoinInGroupCall:   {Data: JoinInGroupCallRequest{}, Reply: CallReply{}, Doc: "join a group's running call by room"},
	TypeJoin:              {Data: CallIDRequest{}, Reply: CallReply{}, Doc: "join a running group call by call ID"},
	TypeSwitchMediaType:   {Data: SwitchMediaTypeRequest{}, Doc: "switch a call between audio and video"},
	TypeSetSelfInfo:       {Data: SetSelfInfoRequest{}, Doc: "set the user's nickname and avatar"},
	TypeEnableMultiDevice: {Data: EnableMultiDeviceRequest{}, Doc: "turn multi-device mode on or off for this device"},
	TypeQueryRecentCalls:  {Data: RecentCallsFilter{}, Reply: RecordsReply{}, Doc: "the user's call records"},
	TypeDeleteRecordCalls: {Data: DeleteRecordCallsRequest{}, Reply: DeleteRecordCallsReply{}, Doc: "hide call records for this user"},
	TypeMedia:             {Data: MediaSignal{}, Doc: "media signaling from the client: answer, candidate, state"},
	TypePing:              {Doc: "application-level ping; answered with pong"},
}
