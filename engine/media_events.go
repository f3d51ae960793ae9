package engine

import "github.com/termcall/termcall/protocol"

// UserAudioAvailable: a user in the call opened or closed their microphone
// (the server reports it for the others; this engine never reports itself).
type UserAudioAvailable struct {
	CallID           string `json:"callId"`
	UserID           string `json:"userId"`
	IsAudioAvailable bool   `json:"isAudioAvailable"`
}

// UserVideoAvailable: a user in the call opened or closed their camera.
type UserVideoAvailable struct {
	CallID           string `json:"callId"`
	UserID           string `json:"userId"`
	IsVideoAvailable bool   `json:"isVideoAvailable"`
}

// UserVoiceVolumeChanged reports, about every 300 ms while this user is in a
// connected call, the loudness (0..100) of every user in it, this user
// included. A muted or silent user has 0.
type UserVoiceVolumeChanged struct {
	VolumeMap map[string]int `json:"volumeMap"`
}

// NetworkQuality is the reference's TUINetworkQuality, with its values.
type NetworkQuality int

// Network qualities.
const (
	NetworkQualityUnknown   NetworkQuality = 0
	NetworkQualityExcellent NetworkQuality = 1
	NetworkQualityGood      NetworkQuality = 2
	NetworkQualityPoor      NetworkQuality = 3
	NetworkQualityBad       NetworkQuality = 4
	NetworkQualityVbad      NetworkQuality = 5
	NetworkQualityDown      NetworkQuality = 6
)

func (q NetworkQuality) String() string {
	switch q {
	case NetworkQualityExcellent:
		return "excellent"
	case NetworkQualityGood:
		return "good"
	case NetworkQualityPoor:
		return "poor"
	case NetworkQualityBad:
		return "bad"
	case NetworkQualityVbad:
		return "vbad"
	case NetworkQualityDown:
		return "down"
	}
	return "unknown"
}

// NetworkQualityInfo is one user's network quality.
type NetworkQualityInfo struct {
	UserID  string         `json:"userId"`
	Quality NetworkQuality `json:"quality"`
}

// UserNetworkQualityChanged reports, about every 2 s while this user is in
// a connected call, the quality of this user's uplink (first in the list,
// from the server's RTCP receiver reports and the round-trip time) and of
// every other user whose audio this engine receives (from the loss and
// jitter it observes). See qualityOf for the thresholds.
type UserNetworkQualityChanged struct {
	NetworkQualityList []NetworkQualityInfo `json:"networkQualityList"`
}

func (UserAudioAvailable) Name() string        { return protocol.EventUserAudioAvailable }
func (UserVideoAvailable) Name() string        { return protocol.EventUserVideoAvailable }
func (UserVoiceVolumeChanged) Name() string    { return protocol.EventUserVoiceVolumeChanged }
func (UserNetworkQualityChanged) Name() string { return protocol.EventUserNetworkQualityChange }
