package cmd

import (
	"log/slog"

	"github.com/termcall/termcall/config"
	"github.com/termcall/termcall/internal/callaudio"
	"github.com/termcall/termcall/internal/callvideo"
	"github.com/termcall/termcall/internal/control"
)

// callMedia is what call and bot construct before they run: the call's
// audio (nil: none), the session with its engine, and the control socket
// serving it. close undoes what was opened, in reverse order; it is safe
// on a callMedia whose construction failed part way.
type callMedia struct {
	au    *callaudio.Audio
	sess  *session
	undos []func()
}

// onClose adds f to what close runs (last added, first run).
func (m *callMedia) onClose(f func()) { m.undos = append(m.undos, f) }

func (m *callMedia) close() {
	for i := len(m.undos) - 1; i >= 0; i-- {
		m.undos[i]()
	}
	m.undos = nil
}

// openSession makes the session for cfg (the video, nil for none, is
// closed if it cannot be made) and serves the control socket at addr
// ("": none) on its engine.
func (m *callMedia) openSession(cfg config.Config, log *slog.Logger, vid *callvideo.Video, addr string) error {
	sess, err := newSession(cfg, log)
	if err != nil {
		if vid != nil {
			vid.Close()
		}
		return err
	}
	m.sess = sess
	m.onClose(sess.close)
	// --- kit: control ---
	stopControl, err := startControl(addr, sess.eng, log, control.Options{})
	if err != nil {
		return err
	}
	m.onClose(stopControl)
	return nil
}
