package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Styles are every style the TUI draws with, built once from the
// terminal's background (dark or light). Colors are full-color here;
// bubbletea downsamples them to the terminal's profile (ANSI256, ANSI,
// none with NO_COLOR).
type Styles struct {
	Header    lipgloss.Style
	Title     lipgloss.Style
	Section   lipgloss.Style
	Dim       lipgloss.Style
	Selected  lipgloss.Style
	Online    lipgloss.Style
	Warn      lipgloss.Style
	Bad       lipgloss.Style
	Good      lipgloss.Style
	Input     lipgloss.Style
	Focused   lipgloss.Style
	Banner    lipgloss.Style
	Compact   lipgloss.Style
	Tile      lipgloss.Style
	TileName  lipgloss.Style
	BarOn     lipgloss.Style
	BarOff    lipgloss.Style
	Timer     lipgloss.Style
	Status    lipgloss.Style
	StatusErr lipgloss.Style
	Help      help.Styles
}

// NewStyles builds the styles for a dark or light background.
func NewStyles(isDark bool) Styles {
	ld := lipgloss.LightDark(isDark)
	accent := ld(lipgloss.Color("#5A56E0"), lipgloss.Color("#8B87FF"))
	dim := ld(lipgloss.Color("#8A8A8A"), lipgloss.Color("#6C6C6C"))
	green := ld(lipgloss.Color("#008700"), lipgloss.Color("#5FD75F"))
	yellow := ld(lipgloss.Color("#AF8700"), lipgloss.Color("#FFD75F"))
	red := ld(lipgloss.Color("#D70000"), lipgloss.Color("#FF5F5F"))
	return Styles{
		Header:    lipgloss.NewStyle().Bold(true),
		Title:     lipgloss.NewStyle().Bold(true).Foreground(accent),
		Section:   lipgloss.NewStyle().Bold(true),
		Dim:       lipgloss.NewStyle().Foreground(dim),
		Selected:  lipgloss.NewStyle().Bold(true).Foreground(accent),
		Online:    lipgloss.NewStyle().Foreground(green),
		Warn:      lipgloss.NewStyle().Foreground(yellow),
		Bad:       lipgloss.NewStyle().Foreground(red),
		Good:      lipgloss.NewStyle().Foreground(green),
		Input:     lipgloss.NewStyle().Border(lipgloss.NormalBorder()).BorderForeground(dim).Padding(0, 1),
		Focused:   lipgloss.NewStyle().Border(lipgloss.NormalBorder()).BorderForeground(accent).Padding(0, 1),
		Banner:    lipgloss.NewStyle().Bold(true).Reverse(true).Padding(0, 1),
		Compact:   lipgloss.NewStyle().Reverse(true).Padding(0, 1),
		Tile:      lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(dim).Padding(0, 1),
		TileName:  lipgloss.NewStyle().Bold(true),
		BarOn:     lipgloss.NewStyle().Foreground(green),
		BarOff:    lipgloss.NewStyle().Foreground(dim),
		Timer:     lipgloss.NewStyle().Bold(true),
		Status:    lipgloss.NewStyle().Foreground(dim),
		StatusErr: lipgloss.NewStyle().Foreground(red),
		Help:      help.DefaultStyles(isDark),
	}
}
