// Package tuiapp is what the terminal UI (package tui) is given in one
// process: the call audio, reopened on other sound devices from the
// settings screen; the video, sent in video calls only and drawn as text;
// desktop notifications; and the settings a run starts with (the config
// file, the state file of the last run, the flags). cmd/tui.go wires it;
// package tui sees it only through its small interfaces.
package tuiapp
