// Package prompt holds all terminal interaction: questions and passphrases
// go to and come from the controlling terminal, never stdout, and secrets are
// read without echo. Nothing here prints a secret.
package prompt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
)

// ErrNoTerminal means a question needed a person but there is no terminal
// (or GIT_TERMINAL_PROMPT=0 forbids using it).
var ErrNoTerminal = errors.New("no terminal to ask on")

// Prompter asks a person. Implementations must never echo secrets.
type Prompter interface {
	// CanPrompt reports whether questions can be asked at all.
	CanPrompt() bool
	// Secret asks for a secret without echo.
	Secret(question string) ([]byte, error)
	// Confirm asks a yes/no question; anything but y/yes is no.
	Confirm(question string) (bool, error)
	// Line asks for one line of text.
	Line(question string) (string, error)
	// Say writes a line to the terminal (for things shown before a
	// question, such as a fingerprint to compare).
	Say(text string) error
}

// NewPassphrase asks for a new passphrase twice, as ssh-keygen does, and asks
// again when the two differ. An empty answer means no passphrase.
func NewPassphrase(p Prompter) ([]byte, error) {
	for tries := 0; tries < 5; tries++ {
		first, err := p.Secret("Enter passphrase (empty for no passphrase): ")
		if err != nil {
			return nil, err
		}
		second, err := p.Secret("Enter same passphrase again: ")
		if err != nil {
			return nil, err
		}
		if bytes.Equal(first, second) {
			return first, nil
		}
		if err := p.Say("Passphrases do not match.  Try again."); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("passphrases did not match after 5 tries")
}

// ErrEmptyPassphrase: a passphrase file whose first line is empty. No
// passphrase is a choice of its own (--no-passphrase), never a file.
var ErrEmptyPassphrase = errors.New("the passphrase file's first line is empty")

// ReadPassphraseFile returns the first line of a file, newline stripped, as
// ssh-keygen's callers and git's credential helpers expect. The file must
// be a regular file of at most 64 KiB (never a FIFO or a device, which
// could hang or never end), and its first line must not be empty
// (ErrEmptyPassphrase). The error never quotes the file's content.
func ReadPassphraseFile(path string) ([]byte, error) {
	data, err := safefile.ReadSmall(path, safefile.MaxSmallFile)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read passphrase file %q: %w", path, err)
	}
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	}
	data = bytes.TrimSuffix(data, []byte("\r"))
	if len(data) == 0 {
		return nil, fmt.Errorf("passphrase file %q: %w", path, ErrEmptyPassphrase)
	}
	return data, nil
}

// Terminal is the real Prompter on the controlling terminal.
type Terminal struct {
	// Allowed is false when prompting is off (GIT_TERMINAL_PROMPT=0 or
	// neither stdin nor stderr is a terminal).
	Allowed bool
}

// NewTerminal decides whether prompting is possible, the way git does:
// GIT_TERMINAL_PROMPT=0 turns it off, and so does running with neither
// stdin nor stderr on a terminal (a script, a pipe, CI).
func NewTerminal(getenv func(string) string, stdin, stderr *os.File) *Terminal {
	allowed := getenv("GIT_TERMINAL_PROMPT") != "0" &&
		(isTerminal(stdin) || isTerminal(stderr))
	return &Terminal{Allowed: allowed}
}

func isTerminal(f *os.File) bool {
	return f != nil && term.IsTerminal(int(f.Fd()))
}

func (t *Terminal) CanPrompt() bool {
	if !t.Allowed {
		return false
	}
	in, out, err := openTTY()
	if err != nil {
		return false
	}
	closeTTY(in, out)
	return true
}

func (t *Terminal) Secret(question string) ([]byte, error) {
	if !t.Allowed {
		return nil, ErrNoTerminal
	}
	in, out, err := openTTY()
	if err != nil {
		return nil, ErrNoTerminal
	}
	defer closeTTY(in, out)
	fmt.Fprint(out, question)
	secret, err := term.ReadPassword(int(in.Fd()))
	fmt.Fprintln(out)
	if err != nil {
		return nil, fmt.Errorf("cannot read from the terminal: %w", err)
	}
	return secret, nil
}

func (t *Terminal) Line(question string) (string, error) {
	if !t.Allowed {
		return "", ErrNoTerminal
	}
	in, out, err := openTTY()
	if err != nil {
		return "", ErrNoTerminal
	}
	defer closeTTY(in, out)
	fmt.Fprint(out, question)
	line, err := readLine(in)
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return "", fmt.Errorf("cannot read from the terminal: %w", err)
	}
	return strings.TrimSpace(line), nil
}

func (t *Terminal) Confirm(question string) (bool, error) {
	answer, err := t.Line(question + " ")
	if err != nil {
		return false, err
	}
	switch strings.ToLower(answer) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

func (t *Terminal) Say(text string) error {
	if !t.Allowed {
		return ErrNoTerminal
	}
	in, out, err := openTTY()
	if err != nil {
		return ErrNoTerminal
	}
	defer closeTTY(in, out)
	_, err = fmt.Fprintln(out, text)
	return err
}

// readLine reads byte by byte so that nothing after the newline is consumed:
// the next question reads the rest.
func readLine(r io.Reader) (string, error) {
	var buf []byte
	b := make([]byte, 1)
	for {
		n, err := r.Read(b)
		if n == 1 {
			if b[0] == '\n' {
				return string(buf), nil
			}
			if b[0] == 4 { // EOT typed on a raw-ish terminal
				return string(buf), io.EOF
			}
			buf = append(buf, b[0])
		}
		if err != nil {
			return string(buf), err
		}
	}
}
