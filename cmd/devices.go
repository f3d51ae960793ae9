package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/termcall/termcall/audio"
	"github.com/termcall/termcall/internal/exit"
	"github.com/termcall/termcall/internal/selftest"
	"github.com/termcall/termcall/video"
)

// deviceJSON is one line of `termcall devices --json`.
type deviceJSON struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"` // capture or playback
	Default bool   `json:"default"`
	Backend string `json:"backend"`
	ID      string `json:"id"`
}

func newDevicesCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "devices",
		Short: "List the audio devices (microphones and speakers)",
		Long: joinLines(
			"List the microphones (capture) and speakers (playback) that --mic and",
			"--speaker can name (a device is chosen by its exact name, else the first",
			"whose name contains the given text, case-insensitively). The null devices",
			"(silence, paced in real time) are always listed last; without a sound card",
			"they are the defaults. With --json, one object per line:",
			`{"name":...,"kind":"capture|playback","default":true|false,"backend":...,"id":...}.`,
		),
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error { return g.runDevices() }),
	}
}

// runDevices lists the sound devices, then the cameras.
func (g *globals) runDevices() error {
	devs, err := audio.Devices()
	if err != nil {
		return exit.With(exit.Failure, err)
	}
	cams, err := video.Devices()
	if err != nil {
		cams = nil // no camera support is the same as no camera here
	}
	if g.json {
		g.devicesJSON(devs, cams)
		return nil
	}
	g.devicesTable(devs, cams)
	card := false
	for _, d := range devs {
		card = card || d.Backend != "null"
	}
	if !card {
		g.say("no sound card found: only the null devices (silence) are available")
	}
	if len(cams) == 0 {
		g.say("no camera found: video calls send the test pattern (--camera pattern:) or a file")
	}
	return nil
}

// devicesJSON writes one JSON line per device; the first camera is the
// default one.
func (g *globals) devicesJSON(devs []audio.DeviceInfo, cams []video.DeviceInfo) {
	for _, d := range devs {
		b, _ := json.Marshal(deviceJSON{Name: d.Name, Kind: kindOf(d), Default: d.Default, Backend: d.Backend, ID: d.ID})
		g.line(b)
	}
	for i, c := range cams {
		b, _ := json.Marshal(deviceJSON{Name: cameraName(c), Kind: "camera", Default: i == 0, Backend: "v4l2", ID: c.Path})
		g.line(b)
	}
}

// devicesTable writes the devices as a table, * marking the defaults.
func (g *globals) devicesTable(devs []audio.DeviceInfo, cams []video.DeviceInfo) {
	star := func(def bool) string {
		if def {
			return "*"
		}
		return ""
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tDEFAULT\tBACKEND\tNAME")
	for _, d := range devs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", kindOf(d), star(d.Default), d.Backend, d.Name)
	}
	for i, c := range cams {
		fmt.Fprintf(tw, "camera\t%s\tv4l2\t%s\n", star(i == 0), cameraName(c))
	}
	tw.Flush()
}

func kindOf(d audio.DeviceInfo) string {
	if d.Capture {
		return "capture"
	}
	return "playback"
}

func newSelftestCmd(g *globals) *cobra.Command {
	var (
		mic, speaker string
		micTime      time.Duration
	)
	c := &cobra.Command{
		Use:   "selftest",
		Short: "Check the microphone, the speaker and the echo path",
		Long: joinLines(
			"Check the audio devices:",
			"",
			"  microphone  shows its live level for --mic-time; fails if it stays silent",
			"  speaker     plays a 440 Hz tone for one second",
			"  echo        plays a chirp and looks for it in the microphone signal",
			"              (cross-correlation): reports the acoustic delay, or that no",
			"              echo reaches the microphone (headphones)",
			"",
			"Exits 0 when the microphone and the speaker work, 1 otherwise, and 1 at",
			"once on a machine without a sound card. --json prints the result as one",
			"JSON object.",
		),
		Args: cobra.NoArgs,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			return g.runSelftest(selftest.Options{Mic: mic, Speaker: speaker, MicTime: micTime, Say: g.say})
		}),
	}
	fl := c.Flags()
	fl.StringVar(&mic, "mic", "", "microphone to test (default: the system default)")
	fl.StringVar(&speaker, "speaker", "", "speaker to test (default: the system default)")
	fl.DurationVar(&micTime, "mic-time", 3*time.Second, "how long to show the microphone level")
	return c
}

// runSelftest runs the self test and reports it: with --json as one JSON
// object (the result, or the error); it fails unless everything passed.
func (g *globals) runSelftest(o selftest.Options) error {
	r, err := selftest.Run(o)
	if g.json {
		out := map[string]any{"ok": false}
		if err == nil {
			b, _ := json.Marshal(r)
			_ = json.Unmarshal(b, &out)
		} else {
			out["error"] = err.Error()
			out["noSoundCard"] = errors.Is(err, selftest.ErrNoSoundCard)
		}
		b, _ := json.Marshal(out)
		g.line(b)
	}
	if err != nil {
		return exit.With(exit.Failure, fmt.Errorf("selftest: %w", err))
	}
	if !r.AllPassed {
		g.say("selftest: FAILED")
		return exit.Silently(exit.Failure)
	}
	g.say("selftest: ok")
	return nil
}

// cameraName is how a camera is named for --camera: camera:PATH.
func cameraName(c video.DeviceInfo) string {
	if c.Path != "" {
		return "camera:" + c.Path
	}
	return "camera:" + c.Label
}
