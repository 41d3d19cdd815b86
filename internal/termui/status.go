package termui

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/git-bbkey/git-bbkey/internal/termtext"
)

// ShowStatus decides whether a status line may be shown: only on a
// terminal, and not with TERM=dumb. (Callers also keep it off with --json.)
func ShowStatus(isTerminal bool, getenv func(string) string) bool {
	return isTerminal && getenv("TERM") != "dumb"
}

// Status is one line on stderr that says what a slow step is doing
// ("connecting to host:7999…"), replaced as the steps change and erased
// when the command ends or prints anything else. A disabled Status does
// nothing, so callers never need to ask whether it is on. It is safe for
// concurrent use.
//
// It draws with a carriage return and spaces only, no escape sequences, so
// it works on every terminal that returns the carriage, Windows consoles
// included.
type Status struct {
	mu      sync.Mutex
	w       io.Writer
	enabled bool
	width   func() int
	shown   int // columns the line covers now
}

// NewStatus returns a Status drawn on w (stderr) when enabled. width
// returns the terminal's width in columns (nil or ≤ 0: 80); the line is cut
// to fit, because a line that wraps cannot be erased with a carriage return.
func NewStatus(w io.Writer, enabled bool, width func() int) *Status {
	return &Status{w: w, enabled: enabled, width: width}
}

// Disable turns the status off for the rest of the run (--json), erasing
// what it shows.
func (s *Status) Disable() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearLocked()
	s.enabled = false
}

// Show replaces the status line with the formatted text. Control
// characters are escaped (termtext.Line): the text may come from outside.
func (s *Status) Show(format string, args ...any) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.enabled {
		return
	}
	text := fitLine(fmt.Sprintf(format, args...), s.columns()-1)
	s.clearLocked()
	if text == "" {
		return
	}
	io.WriteString(s.w, text)
	s.shown = utf8.RuneCountInString(text)
}

// Clear erases the status line.
func (s *Status) Clear() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clearLocked()
}

func (s *Status) clearLocked() {
	if s.shown > 0 {
		io.WriteString(s.w, "\r"+strings.Repeat(" ", s.shown)+"\r")
		s.shown = 0
	}
}

func (s *Status) columns() int {
	if s.width != nil {
		if w := s.width(); w > 0 {
			return w
		}
	}
	return 80
}

// Writer returns w wrapped so that the status line is erased before
// anything is written to w: output never lands after the status text. Use
// it for every stream that shares the status's terminal.
func (s *Status) Writer(w io.Writer) io.Writer {
	if s == nil {
		return w
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.enabled {
		return w
	}
	return &clearingWriter{s: s, w: w}
}

type clearingWriter struct {
	s *Status
	w io.Writer
}

func (c *clearingWriter) Write(p []byte) (int, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.clearLocked()
	return c.w.Write(p)
}

// fitLine makes text one line of at most max columns (one column per
// character; wide characters may take two, and the margin absorbs that).
func fitLine(text string, max int) string {
	text = termtext.Line(strings.TrimSpace(text))
	if max < 1 {
		max = 1
	}
	if utf8.RuneCountInString(text) <= max {
		return text
	}
	runes := []rune(text)
	if max == 1 {
		return "…"
	}
	return string(runes[:max-1]) + "…"
}
