// Package termui decides how git-bbkey looks on a terminal: whether and how
// to colour (as git decides it) and the one-line status shown on stderr
// while a slow step runs. It prints only where it is told to; it reads no
// configuration and no environment on its own.
package termui

import (
	"strings"
)

// Mode is a colour setting as git spells it (color.ui, color.bbkey).
type Mode int

const (
	// Unset: the setting is absent (or not a colour setting); the next one
	// decides, and auto in the end.
	Unset Mode = iota
	// Auto colours a terminal, never a pipe or a file.
	Auto
	// Always colours, pipes included (for `| less -R`).
	Always
	// Never colours.
	Never
)

// ParseMode reads a colour setting as git's colorbool does: never, always,
// auto, or a boolean (true/yes/on/1 mean auto, false/no/off/0 never). A
// value git would reject is Unset.
func ParseMode(value string) Mode {
	switch strings.ToLower(strings.TrimSpace(value)) {
	case "always":
		return Always
	case "never":
		return Never
	case "auto", "", "true", "yes", "on", "1":
		return Auto
	case "false", "no", "off", "0":
		return Never
	}
	return Unset
}

// FirstSet returns the first mode that is set, in the order given (the
// specific setting first, color.ui last), else Auto.
func FirstSet(modes ...Mode) Mode {
	for _, m := range modes {
		if m != Unset {
			return m
		}
	}
	return Auto
}

// UseColor decides whether to colour a stream: Always and Never are
// obeyed; Auto colours only a terminal, not with TERM unset or "dumb"
// (where git does not either), and not when NO_COLOR is set to anything
// (https://no-color.org: a setting made on purpose still wins).
func UseColor(mode Mode, isTerminal bool, getenv func(string) string) bool {
	switch mode {
	case Always:
		return true
	case Never:
		return false
	}
	term := getenv("TERM")
	return isTerminal && term != "" && term != "dumb" && getenv("NO_COLOR") == ""
}

// Color is an SGR colour, as git writes them.
type Color string

const (
	Red    Color = "\x1b[31m"
	Green  Color = "\x1b[32m"
	Yellow Color = "\x1b[33m"
	reset        = "\x1b[m"
)

// Palette paints text for one stream; the zero Palette paints nothing.
type Palette struct{ on bool }

// NewPalette paints when on is true.
func NewPalette(on bool) Palette { return Palette{on: on} }

// Enabled reports whether this palette paints.
func (p Palette) Enabled() bool { return p.on }

// Paint wraps s in c when the palette paints.
func (p Palette) Paint(c Color, s string) string {
	if !p.on || s == "" {
		return s
	}
	return string(c) + s + reset
}

// statusColors are the status words git-bbkey prints and their colours:
// green for done, red for failed, yellow for what was passed over or needs
// a look.
var statusColors = map[string]Color{
	"ok": Green, "pass": Green, "passed": Green, "done": Green,
	"failed": Red, "fail": Red, "error": Red,
	"skipped": Yellow, "skip": Yellow, "warn": Yellow, "warning": Yellow,
}

// StatusColor is the colour of a status word (any case), and whether it
// has one.
func StatusColor(word string) (Color, bool) {
	c, ok := statusColors[strings.ToLower(word)]
	return c, ok
}

// Status paints a status word (ok, failed, FAIL, skipped, warn…) in its
// colour; other words are left as they are.
func (p Palette) Status(word string) string {
	if c, ok := StatusColor(word); ok {
		return p.Paint(c, word)
	}
	return word
}

// ErrorLine is git's "error: msg" line with the prefix in red.
func (p Palette) ErrorLine(msg string) string {
	return p.Paint(Red, "error:") + " " + msg
}

// HintLine is git's "hint: msg" line, all of it yellow as git's advice
// colour (color.advice.hint) paints it.
func (p Palette) HintLine(msg string) string {
	return p.Paint(Yellow, "hint: "+msg)
}
