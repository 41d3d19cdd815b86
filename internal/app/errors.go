package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/git-bbkey/git-bbkey/internal/prompt"
	"github.com/git-bbkey/git-bbkey/internal/termui"
)

// Exit codes, as in the contract.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitInterrupted = 130 // 128 + SIGINT, as a shell reports Ctrl-C
)

// Error is an error with the exit code and the hints to print under it.
type Error struct {
	Code  int
	Msg   string
	Hints []string
	Err   error
}

func (e *Error) Error() string {
	if e.Err != nil && e.Msg == "" {
		return e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

func usageError(msg string, hints ...string) *Error {
	return &Error{Code: exitUsage, Msg: msg, Hints: hints}
}

func failure(msg string, hints ...string) *Error {
	return &Error{Code: exitFailure, Msg: msg, Hints: hints}
}

func failuref(err error, hints ...string) *Error {
	return &Error{Code: exitFailure, Msg: err.Error(), Hints: hints, Err: err}
}

// errSilentFailure ends a command with exit 1 after it has already reported
// what failed (a verify target that was not ok, say).
var errSilentFailure = &Error{Code: exitFailure}

// report prints err git-style and returns the exit code.
func report(w io.Writer, err error) int { return reportIn(w, err, errorColors{}) }

// errorColors paint the error: and hint: lines.
type errorColors struct{ err, hint termui.Palette }

// reportIn is report with colours. An interrupt (Ctrl-C at a prompt, a
// signal, the terminal closed) and a Ctrl-D at a prompt are one line and
// exit 130, whatever error they caused on their way up.
func reportIn(w io.Writer, err error, c errorColors) int {
	if err == nil {
		return exitOK
	}
	switch {
	case errors.Is(err, prompt.ErrCancelled):
		fmt.Fprintln(w, c.err.ErrorLine("cancelled"))
		return exitInterrupted
	case errors.Is(err, prompt.ErrInterrupted), errors.Is(err, context.Canceled):
		fmt.Fprintln(w, c.err.ErrorLine("interrupted"))
		return exitInterrupted
	}
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: exitFailure, Msg: err.Error()}
	}
	if e.Msg != "" {
		fmt.Fprintln(w, c.err.ErrorLine(lowerFirst(strings.TrimSuffix(e.Msg, "."))))
	}
	for _, h := range e.Hints {
		fmt.Fprintln(w, c.hint.HintLine(h))
	}
	return e.Code
}

func lowerFirst(s string) string {
	if s == "" || strings.ToUpper(s[:1]) == s[:1] && len(s) > 1 && strings.ToUpper(s[1:2]) == s[1:2] {
		return s // an acronym such as "SSH …" stays
	}
	return strings.ToLower(s[:1]) + s[1:]
}
