package engine

import (
	"github.com/termcall/termcall/protocol"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtcp"
)

// Uplink congestion control. Every PeerConnection of the engine has a
// send-side bandwidth estimator (pion's GCC, delay and loss based), fed by
// the server's transport-wide congestion control feedback (TWCC: the SFU
// acknowledges each packet it received, with its arrival time; the engine
// numbers its outgoing packets with the transport-cc header extension).
// The estimate covers everything the call sends; the video sender takes
// the audio's share off it and hands the rest to its source
// (BitrateSetter), at most every bweApplyInterval, within
// [bweMinVideoKbps, the resolution's bitrate].
//
// No pacer: packets leave as the sender writes them (the estimator's
// leaky-bucket pacer has an unbounded queue, which behind a source that
// ignores SetBitrate would only add delay).
const (
	bweAudioKbps     = 40   // Opus with in-band FEC, headers included
	bweMinVideoKbps  = 100  // never ask a source for less
	bweInitialKbps   = 1000 // above every resolution's bitrate up to 960x540
	bweMaxKbps       = 2500 // the largest resolution's 2000 kbps, audio and headroom
	bweApplyInterval = 500 * time.Millisecond
	bweLogInterval   = 5 * time.Second // unchanged estimates are logged this often
)

// uplinkEstimators: the estimator of each PeerConnection, by the
// PeerConnection's ID (pion's, unique in the process; its stats
// interceptor keys by it the same way). An estimator removes itself when
// its PeerConnection closes it.
var uplinkEstimators struct {
	sync.Mutex
	byPC map[string]*uplinkEstimator
}

// uplinkEstimator is one PeerConnection's GCC estimator, and what its
// call's video sender last did with the estimate.
type uplinkEstimator struct {
	*gcc.SendSideBWE
	id string // guarded by uplinkEstimators

	mu        sync.Mutex
	src       VideoSource // the source last applied to
	lastApply time.Time
	lastLog   time.Time
	applied   int // kbps last given to src; 0 = none yet
}

var _ cc.BandwidthEstimator = (*uplinkEstimator)(nil)

// newUplinkEstimator is the congestion control interceptor's factory.
func newUplinkEstimator() (cc.BandwidthEstimator, error) {
	bwe, err := gcc.NewSendSideBWE(
		gcc.SendSideBWEInitialBitrate(bweInitialKbps*1000),
		gcc.SendSideBWEMinBitrate((bweMinVideoKbps+bweAudioKbps)*1000),
		gcc.SendSideBWEMaxBitrate(bweMaxKbps*1000),
		gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
	)
	if err != nil {
		return nil, err
	}
	return &uplinkEstimator{SendSideBWE: bwe}, nil
}

// registerUplinkEstimator is the interceptor's OnNewPeerConnection: pion
// calls it while it makes a PeerConnection, before NewPeerConnection
// returns.
func registerUplinkEstimator(id string, est cc.BandwidthEstimator) {
	u, ok := est.(*uplinkEstimator)
	if !ok {
		return
	}
	uplinkEstimators.Lock()
	defer uplinkEstimators.Unlock()
	if uplinkEstimators.byPC == nil {
		uplinkEstimators.byPC = make(map[string]*uplinkEstimator)
	}
	u.id = id
	uplinkEstimators.byPC[id] = u
}

func lookupUplinkEstimator(pcID string) *uplinkEstimator {
	uplinkEstimators.Lock()
	defer uplinkEstimators.Unlock()
	return uplinkEstimators.byPC[pcID]
}

// WriteRTCP feeds the estimator; a malformed feedback packet is ignored
// rather than failing the RTCP read of the sender it arrived on (which
// would stop PLI, NACK and report handling).
func (u *uplinkEstimator) WriteRTCP(pkts []rtcp.Packet, a interceptor.Attributes) error {
	_ = u.SendSideBWE.WriteRTCP(pkts, a)
	return nil
}

// Close closes the estimator (its PeerConnection closed) and forgets it.
func (u *uplinkEstimator) Close() error {
	uplinkEstimators.Lock()
	if uplinkEstimators.byPC[u.id] == u {
		delete(uplinkEstimators.byPC, u.id)
	}
	uplinkEstimators.Unlock()
	return u.SendSideBWE.Close()
}

// kbps is the current estimate of the whole uplink.
func (u *uplinkEstimator) kbps() int { return u.GetTargetBitrate() / 1000 }

// videoKbps turns an uplink estimate into the video's share, within
// [bweMinVideoKbps, maxKbps].
func videoKbps(estimateKbps, maxKbps int) int {
	return max(min(estimateKbps-bweAudioKbps, maxKbps), bweMinVideoKbps)
}

// applyUplinkEstimate gives src (when it is a BitrateSetter) the video's
// share of the call's uplink estimate, at most every bweApplyInterval and
// only when it changed (or src did). The video sender calls it before
// each frame.
func (v *videoCall) applyUplinkEstimate(src VideoSource) {
	c := v.c
	c.mu.Lock()
	pc := v.pc
	c.mu.Unlock()
	if pc == nil || src == nil {
		return
	}
	u := lookupUplinkEstimator(pc.ID())
	if u == nil {
		return
	}
	now := time.Now()
	u.mu.Lock()
	if u.src == src && now.Sub(u.lastApply) < bweApplyInterval {
		u.mu.Unlock()
		return
	}
	u.lastApply = now
	est := u.kbps()
	_, _, ceiling, ok := protocol.ResolutionSize(c.e.VideoEncoderParams().Resolution, false)
	if !ok {
		_, _, ceiling, _ = protocol.ResolutionSize(Resolution640x360, false)
	}
	kbps := videoKbps(est, ceiling)
	changed := u.src != src || kbps != u.applied
	logIt := changed || now.Sub(u.lastLog) >= bweLogInterval
	if logIt {
		u.lastLog = now
	}
	u.src, u.applied = src, kbps
	u.mu.Unlock()
	if logIt {
		c.e.log.Debug("uplink estimate", "call", c.id, "estimateKbps", est, "videoKbps", kbps)
	}
	if bs, ok := src.(BitrateSetter); ok && changed {
		bs.SetBitrate(kbps)
	}
}

// UplinkEstimateKbps returns the current call's uplink bandwidth estimate
// in kbps (audio and video together, from the server's congestion control
// feedback); 0 without a call with media.
func (e *Engine) UplinkEstimateKbps() int {
	e.mu.Lock()
	var callID string
	if e.cur != nil {
		callID = e.cur.CallID
	}
	e.mu.Unlock()
	e.media.mu.Lock()
	c := e.media.calls[callID]
	e.media.mu.Unlock()
	if c == nil {
		return 0
	}
	c.mu.Lock()
	pc := c.video.pc
	c.mu.Unlock()
	if pc == nil {
		return 0
	}
	if u := lookupUplinkEstimator(pc.ID()); u != nil {
		return u.kbps()
	}
	return 0
}
