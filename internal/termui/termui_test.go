package termui

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
)

func TestParseMode(t *testing.T) {
	for value, want := range map[string]Mode{
		"always": Always, "ALWAYS": Always, "never": Never, "auto": Auto,
		"true": Auto, "yes": Auto, "on": Auto, "1": Auto, "": Auto,
		"false": Never, "no": Never, "off": Never, "0": Never,
		"sometimes": Unset,
	} {
		if got := ParseMode(value); got != want {
			t.Errorf("ParseMode(%q) = %v, want %v", value, got, want)
		}
	}
	if FirstSet(Unset, Never, Always) != Never || FirstSet(Unset, Unset) != Auto {
		t.Error("FirstSet does not take the first set mode, else auto")
	}
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestUseColor(t *testing.T) {
	xterm := map[string]string{"TERM": "xterm-256color"}
	for _, tc := range []struct {
		name     string
		mode     Mode
		terminal bool
		env      map[string]string
		want     bool
	}{
		{"auto on a terminal", Auto, true, xterm, true},
		{"auto in a pipe", Auto, false, xterm, false},
		{"auto with TERM=dumb", Auto, true, map[string]string{"TERM": "dumb"}, false},
		{"auto with TERM unset", Auto, true, nil, false},
		{"auto with NO_COLOR", Auto, true, map[string]string{"TERM": "xterm", "NO_COLOR": "1"}, false},
		{"NO_COLOR empty is unset", Auto, true, map[string]string{"TERM": "xterm", "NO_COLOR": ""}, true},
		{"always in a pipe", Always, false, nil, true},
		{"always beats NO_COLOR", Always, true, map[string]string{"TERM": "xterm", "NO_COLOR": "1"}, true},
		{"never on a terminal", Never, true, xterm, false},
	} {
		if got := UseColor(tc.mode, tc.terminal, env(tc.env)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPalette(t *testing.T) {
	on, off := NewPalette(true), Palette{}
	for word, want := range map[string]string{
		"ok": "\x1b[32mok\x1b[m", "failed": "\x1b[31mfailed\x1b[m", "FAIL": "\x1b[31mFAIL\x1b[m",
		"skipped": "\x1b[33mskipped\x1b[m", "skip": "\x1b[33mskip\x1b[m", "warn": "\x1b[33mwarn\x1b[m",
		"generated": "generated",
	} {
		if got := on.Status(word); got != want {
			t.Errorf("Status(%q) = %q, want %q", word, got, want)
		}
		if got := off.Status(word); got != word {
			t.Errorf("plain Status(%q) = %q", word, got)
		}
	}
	if got := on.ErrorLine("no key"); got != "\x1b[31merror:\x1b[m no key" {
		t.Errorf("ErrorLine = %q", got)
	}
	if got := on.HintLine("run this"); got != "\x1b[33mhint: run this\x1b[m" {
		t.Errorf("HintLine = %q", got)
	}
	if got := off.ErrorLine("x") + off.HintLine("y"); got != "error: xhint: y" {
		t.Errorf("plain lines = %q", got)
	}
}

func TestStatusReplacesAndErases(t *testing.T) {
	var screen bytes.Buffer
	s := NewStatus(&screen, true, func() int { return 40 })
	s.Show("connecting to %s", "bitbucket.example.com:7999")
	s.Show("waiting for Bitbucket")
	out := s.Writer(&screen)
	fmt.Fprintln(out, "ok")
	s.Show("a line far too long for a terminal that is only forty columns wide")
	s.Clear()
	s.Clear() // nothing left to erase
	// Lines are cut to 39 columns: one less than the terminal, so none wraps.
	want := "connecting to bitbucket.example.com:79…" +
		"\r" + strings.Repeat(" ", 39) + "\r" + "waiting for Bitbucket" +
		"\r" + strings.Repeat(" ", 21) + "\r" + "ok\n" +
		"a line far too long for a terminal tha…" +
		"\r" + strings.Repeat(" ", 39) + "\r"
	if screen.String() != want {
		t.Fatalf("screen:\n%q\nwant\n%q", screen.String(), want)
	}
	if got := render(screen.String()); got != "ok\n" {
		t.Errorf("what stays on the terminal: %q", got)
	}
}

// render plays carriage returns and newlines the way a terminal does and
// returns what is left on screen, trailing spaces dropped.
func render(out string) string {
	var lines []string
	var line []rune
	col := 0
	flush := func() { lines = append(lines, strings.TrimRight(string(line), " ")) }
	for _, r := range out {
		switch r {
		case '\r':
			col = 0
		case '\n':
			flush()
			line, col = nil, 0
		default:
			if col < len(line) {
				line[col] = r
			} else {
				line = append(line, r)
			}
			col++
		}
	}
	flush()
	return strings.Join(lines, "\n")
}

func TestStatusOffWritesNothing(t *testing.T) {
	var screen bytes.Buffer
	s := NewStatus(&screen, false, nil)
	s.Show("connecting")
	s.Clear()
	if w := s.Writer(&screen); w != io.Writer(&screen) {
		t.Error("a disabled status wraps writers")
	}
	var nilStatus *Status
	nilStatus.Show("x")
	nilStatus.Clear()
	nilStatus.Disable()
	if screen.Len() != 0 {
		t.Fatalf("disabled status wrote %q", screen.String())
	}
	on := NewStatus(&screen, true, nil)
	on.Show("step")
	on.Disable()
	on.Show("after --json")
	if got := render(screen.String()); got != "" {
		t.Fatalf("after Disable: %q", got)
	}
}

func TestStatusCleansOutsideText(t *testing.T) {
	var screen bytes.Buffer
	s := NewStatus(&screen, true, nil)
	s.Show("host\x1b[31m\nevil\r")
	if strings.ContainsAny(screen.String(), "\x1b\n") {
		t.Fatalf("control characters reached the terminal: %q", screen.String())
	}
}

func TestShowStatus(t *testing.T) {
	if !ShowStatus(true, env(map[string]string{"TERM": "xterm"})) || !ShowStatus(true, env(nil)) {
		t.Error("a terminal shows the status")
	}
	if ShowStatus(false, env(nil)) || ShowStatus(true, env(map[string]string{"TERM": "dumb"})) {
		t.Error("a pipe or TERM=dumb shows the status")
	}
}

func TestStatusConcurrent(t *testing.T) {
	var screen syncBuffer
	s := NewStatus(&screen, true, nil)
	out := s.Writer(&screen)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				s.Show("step %d", j)
				fmt.Fprintf(out, "line %d\n", j)
			}
		}()
	}
	wg.Wait()
	s.Clear()
	for _, l := range strings.Split(render(screen.String()), "\n") {
		if l != "" && !strings.HasPrefix(l, "line ") {
			t.Fatalf("a status was left in the output: %q", l)
		}
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
