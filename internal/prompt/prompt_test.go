package prompt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// scripted answers questions from a list, recording what was asked.
type scripted struct {
	answers []string
	asked   []string
	said    []string
}

func (s *scripted) CanPrompt() bool { return true }
func (s *scripted) next(q string) string {
	s.asked = append(s.asked, q)
	a := s.answers[0]
	s.answers = s.answers[1:]
	return a
}
func (s *scripted) Secret(_ context.Context, q string) ([]byte, error) {
	a := s.next(q)
	if a == "^C" {
		return nil, ErrInterrupted
	}
	return []byte(a), nil
}
func (s *scripted) Line(_ context.Context, q string) (string, error)  { return s.next(q), nil }
func (s *scripted) Confirm(_ context.Context, q string) (bool, error) { return s.next(q) == "y", nil }
func (s *scripted) Say(text string) error                             { s.said = append(s.said, text); return nil }

func TestNewPassphraseReasksOnMismatch(t *testing.T) {
	p := &scripted{answers: []string{"one", "two", "right", "right"}}
	got, err := NewPassphrase(context.Background(), p)
	if err != nil || string(got) != "right" {
		t.Fatalf("got %q, %v", got, err)
	}
	if len(p.asked) != 4 || p.asked[0] != "Enter passphrase (empty for no passphrase): " || p.asked[1] != "Enter same passphrase again: " {
		t.Fatalf("asked %q", p.asked)
	}
	if len(p.said) != 1 {
		t.Fatalf("mismatch not reported: %q", p.said)
	}
}

// Ctrl-C at either question stops: never an empty (unencrypted) passphrase.
func TestNewPassphraseInterrupted(t *testing.T) {
	for _, answers := range [][]string{{"^C"}, {"secret", "^C"}} {
		p := &scripted{answers: answers}
		got, err := NewPassphrase(context.Background(), p)
		if !errors.Is(err, ErrInterrupted) || got != nil {
			t.Errorf("%q: got %q, %v; want ErrInterrupted", answers, got, err)
		}
	}
}

func TestNewPassphraseGivesUp(t *testing.T) {
	p := &scripted{answers: []string{"a", "b", "a", "b", "a", "b", "a", "b", "a", "b"}}
	if _, err := NewPassphrase(context.Background(), p); err == nil {
		t.Fatal("expected an error after repeated mismatches")
	}
}

func TestReadPassphraseFileFirstLineOnly(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]string{
		"s3cret\n":           "s3cret",
		"s3cret\r\nsecond\n": "s3cret",
		"no newline":         "no newline",
	} {
		p := filepath.Join(dir, "pw")
		os.WriteFile(p, []byte(content), 0o600)
		got, err := ReadPassphraseFile(p)
		if err != nil || string(got) != want {
			t.Errorf("%q: got %q, %v", content, got, err)
		}
	}
	if _, err := ReadPassphraseFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: no error")
	}
}

// An empty passphrase file is an error, never "no passphrase" (that is
// --no-passphrase).
func TestReadPassphraseFileRefusesEmpty(t *testing.T) {
	dir := t.TempDir()
	for _, content := range []string{"", "\n", "\r\n", "\nsecond line\n"} {
		p := filepath.Join(dir, "pw")
		os.WriteFile(p, []byte(content), 0o600)
		if got, err := ReadPassphraseFile(p); !errors.Is(err, ErrEmptyPassphrase) || got != nil {
			t.Errorf("%q: got %q, %v; want ErrEmptyPassphrase", content, got, err)
		}
	}
}

func TestTerminalDisabledNeverPrompts(t *testing.T) {
	term := NewTerminal(func(k string) string {
		if k == "GIT_TERMINAL_PROMPT" {
			return "0"
		}
		return ""
	}, os.Stdin, os.Stderr)
	if term.CanPrompt() {
		t.Fatal("GIT_TERMINAL_PROMPT=0 must disable prompting")
	}
	if _, err := term.Secret(context.Background(), "x"); !errors.Is(err, ErrNoTerminal) {
		t.Fatalf("Secret: %v", err)
	}
	if _, err := term.Confirm(context.Background(), "x"); !errors.Is(err, ErrNoTerminal) {
		t.Fatalf("Confirm: %v", err)
	}
}
