package engine

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// aiSource is an AudioSource that records the AI voice settings it is given.
type aiSource struct {
	got  []bool
	fail bool
}

func (s *aiSource) ReadOpusFrame(ctx context.Context) ([]byte, int, error) {
	<-ctx.Done()
	return nil, 0, ctx.Err()
}

func (s *aiSource) EnableAIVoice(on bool) error {
	if s.fail && on {
		return errors.New("no model")
	}
	s.got = append(s.got, on)
	return nil
}

func TestEnableAIVoice(t *testing.T) {
	e, err := New(Options{Server: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Destroy()
	if e.AIVoiceEnabled() {
		t.Error("AI voice on by default")
	}
	// before any source: remembered, applied by SetAudio
	if err := e.EnableAIVoice(true); err != nil {
		t.Fatal(err)
	}
	a := &aiSource{}
	e.SetAudio(a, nil)
	if err := e.EnableAIVoice(false); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]bool{true, false}, a.got); diff != "" {
		t.Errorf("settings given to the source (-want +got):\n%s", diff)
	}
	// a new source with the setting off is not touched
	b := &aiSource{}
	e.SetAudio(b, nil)
	if len(b.got) != 0 {
		t.Errorf("source got %v with AI voice off", b.got)
	}
	// a source that cannot: error 5011, the setting stays off
	e.SetAudio(&aiSource{fail: true}, nil)
	if err := e.EnableAIVoice(true); !IsCode(err, 5011) {
		t.Errorf("failing model: got %v, want code 5011", err)
	}
	if e.AIVoiceEnabled() {
		t.Error("AI voice on after a failure")
	}
	// a source without the hook: only remembered
	e.SetAudio(nil, nil)
	if err := e.EnableAIVoice(true); err != nil || !e.AIVoiceEnabled() {
		t.Errorf("without a source: %v, enabled %v", err, e.AIVoiceEnabled())
	}
}
