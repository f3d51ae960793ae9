package sfu

import (
	"time"

	"github.com/pion/interceptor"

	"github.com/termcall/termcall/internal/rtpnack"
)

// nackOptions are the SFU's NACK generator's (internal/rtpnack, added in
// interceptors.go): it asks a device to resend the RTP packets that did
// not arrive, from a timer armed only while something is missing (pion's
// generator wakes every 20 ms on every PeerConnection, lost packets or
// not: at 200 calls 20,000 wake-ups a second for nothing). The packets of
// a gap are asked for 5 ms after it shows (a packet merely reordered has
// arrived by then), then every 20 ms until they arrive, 10 times at most:
// a packet older than ~200 ms is past any jitter buffer, and a video
// decoder that lost it gets a keyframe through PLI. An advance of 1000
// numbers or more is a restart of the numbering, not loss. At most 128
// packets per stream are outstanding; the oldest go first.
var nackOptions = rtpnack.Options{
	FirstDelay:    5 * time.Millisecond,
	RetryInterval: 20 * time.Millisecond,
	MaxTries:      10,
	MaxGap:        999,
	MaxMissing:    128,
	Timer:         true,
}

// nackFactory makes one generator per PeerConnection.
type nackFactory struct{}

func (nackFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return rtpnack.New(nackOptions)
}
