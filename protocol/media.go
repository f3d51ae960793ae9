package protocol

// Media signaling. Every participant device has one WebRTC PeerConnection
// per call to the server's SFU. The server drives negotiation (it always
// makes the offers, so there is no glare):
//
//   - When a device joins a call's media (the caller's device when the call
//     is placed, each ringing device of an invitee, a joiner), the server
//     sends {"type":"media","data":{"kind":"offer","callId":..,"sdp":..}}.
//   - The client answers with the request {"type":"media","id":N,"data":
//     {"kind":"answer","callId":..,"sdp":..}}; the server replies empty.
//   - When people connect or leave, the server adds or removes one outbound
//     track per other participant and sends a new offer.
//   - SDPs are complete (non-trickle): both sides finish ICE gathering before
//     sending them. Candidates may also be trickled with kind "candidate".
//   - The client reports its microphone and camera with kind "state"
//     (Audio/Video); the server tells the others (onUserAudioAvailable,
//     onUserVideoAvailable).
//
// Outbound tracks carry the source user's ID as their stream ID, so a
// client knows whose audio a track is. Media flows only between connected
// participants of the same call: nothing from or to a ringing or departed
// device.
const TypeMedia = "media"

// Media signal kinds.
const (
	MediaOffer     = "offer"
	MediaAnswer    = "answer"
	MediaCandidate = "candidate"
	MediaState     = "state"
	MediaClose     = "close" // server to client: the call's media for this device is gone
)

// MediaSignal is the data of a "media" message.
type MediaSignal struct {
	Kind      string `json:"kind"`
	CallID    string `json:"callId"`
	SDP       string `json:"sdp,omitempty"`
	Candidate string `json:"candidate,omitempty"` // JSON of an RTCIceCandidateInit
	Audio     *bool  `json:"audio,omitempty"`
	Video     *bool  `json:"video,omitempty"`
}
