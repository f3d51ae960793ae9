package audio

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"

	"github.com/termcall/termcall/audio/audiotest"
)

// sendAll runs src through an uplink (AI voice on or off) and returns
// what a receiver decodes from its Opus frames.
func sendAll(t *testing.T, pcm []int16, ai bool) []int16 {
	t.Helper()
	u, err := NewSourceUplink(NewPCMSource(pcm, false))
	if err != nil {
		t.Error(err)
		return nil
	}
	defer u.Close()
	if err := u.EnableAIVoice(ai); err != nil {
		t.Error(err)
		return nil
	}
	dec, err := NewDecoder()
	if err != nil {
		t.Error(err)
		return nil
	}
	out := make([]int16, 0, len(pcm))
	frame := make([]int16, FrameSamples)
	for {
		pkt, _, err := u.ReadOpusFrame(context.Background())
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Error(err)
			return nil
		}
		if _, err := dec.Decode(pkt, frame); err != nil {
			t.Error(err)
			return nil
		}
		out = append(out, frame...)
	}
}

// TestUplinkAIVoice: spoken words (espeak-ng) in pink noise (sox) at
// 10 dB SNR sent through two uplinks, AI voice off and on, decoded as
// the far end does: with AI voice the noise in the pauses is at least
// 15 dB lower and the speech still correlates with the clean speech.
func TestUplinkAIVoice(t *testing.T) {
	clean := audiotest.SpokenPhrases(t, 1, "Hello, can you hear me now?")
	noisy := audiotest.Mix(clean, audiotest.SoxNoise(t, "pinknoise", len(clean), audiotest.ActivePower(clean, PeriodSamples), 10))
	var off, on []int16
	var wg sync.WaitGroup
	wg.Go(func() { off = sendAll(t, noisy, false) })
	wg.Go(func() { on = sendAll(t, noisy, true) })
	wg.Wait()
	if t.Failed() {
		return
	}
	measure := func(out []int16) (pauseDB, corr float64) {
		lag, _ := audiotest.XCorrDelay(clean, out, 2*FrameSamples)
		if lag < 0 {
			t.Fatalf("output leads the input by %d samples", -lag)
		}
		aligned := out[lag:]
		ref := clean[:min(len(clean), len(aligned))]
		aligned = aligned[:len(ref)]
		ps := audiotest.Pauses(ref, PeriodSamples, 10)
		_, corr = audiotest.XCorrDelay(ref, aligned, 0)
		return audiotest.DBFS(audiotest.FramesPower(aligned, PeriodSamples, ps)), corr
	}
	offDB, offCorr := measure(off)
	onDB, onCorr := measure(on)
	t.Logf("received, AI voice off: noise in pauses %.1f dBFS, correlation with clean speech %.3f; on: %.1f dBFS, %.3f",
		offDB, offCorr, onDB, onCorr)
	if offDB-onDB < 15 {
		t.Errorf("AI voice took the noise in the pauses down %.1f dB, want >= 15", offDB-onDB)
	}
	if onCorr < 0.9 {
		t.Errorf("with AI voice the speech correlates %.3f with the clean speech, want >= 0.9", onCorr)
	}
}
