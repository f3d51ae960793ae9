package engine

import (
	"time"

	"github.com/pion/interceptor"

	"github.com/termcall/termcall/internal/rtpnack"
)

// nackOptions are the engine's NACK generator's (internal/rtpnack, added
// in media_api.go): it asks the server to resend a lost RTP packet on the
// read that shows the gap and asks again on later reads while the packet
// stays missing, so a call with no loss costs no wake-up at all (pion's
// generator ticks every 20 ms per PeerConnection; docs/performance.md,
// "Client CPU"). A missing packet is asked for at most 5 times, at least
// 20 ms apart, and forgotten after a second (it would come too late for
// the jitter buffer). A jump of more than 100 sequence numbers (a new
// stream, the sender's restart) is not a loss.
var nackOptions = rtpnack.Options{
	RetryInterval: 20 * time.Millisecond,
	MaxTries:      5,
	MaxAge:        time.Second,
	MaxGap:        100,
	MaxMissing:    128, // per stream
}

// nackGeneratorFactory makes one generator per PeerConnection.
type nackGeneratorFactory struct{}

func (nackGeneratorFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return rtpnack.New(nackOptions)
}
