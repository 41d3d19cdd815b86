package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/git-bbkey/git-bbkey/internal/prompt"
	"github.com/git-bbkey/git-bbkey/internal/termtext"
	"github.com/git-bbkey/git-bbkey/internal/termui"
)

// How an error reaches the user: the Error type (a message, hints and an
// exit code), the error:/hint: lines and the JSON failure document.
// explain, in errors.go, turns the domain's typed errors into an Error.

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

// report prints err git-style and returns the exit code.
func report(w io.Writer, err error) int {
	return reportIn(w, err, func() errorColors { return errorColors{} })
}

// errorColors paint the error: and hint: lines.
type errorColors struct{ err, hint termui.Palette }

// reportIn is report with colours, asked for only when there is a line to
// paint (reading them costs a git process). An interrupt (Ctrl-C at a prompt, a
// signal, the terminal closed) and a Ctrl-D at a prompt are one line and
// exit 130, whatever error they caused on their way up.
func reportIn(w io.Writer, err error, colors func() errorColors) int {
	if err == nil {
		return exitOK
	}
	switch {
	case errors.Is(err, prompt.ErrCancelled):
		fmt.Fprintln(w, colors().err.ErrorLine("cancelled"))
		return exitInterrupted
	case errors.Is(err, prompt.ErrInterrupted), errors.Is(err, context.Canceled):
		fmt.Fprintln(w, colors().err.ErrorLine("interrupted"))
		return exitInterrupted
	}
	// Messages carry text from outside (a server's words, file names,
	// URLs): escaped here, so that nothing reaches the terminal raw.
	e := explain(err)
	if e.Msg == "" && len(e.Hints) == 0 {
		return e.Code // the command has said what failed
	}
	c := colors()
	if e.Msg != "" {
		fmt.Fprintln(w, c.err.ErrorLine(termtext.Line(lowerFirst(strings.TrimSuffix(e.Msg, ".")))))
	}
	for _, h := range e.Hints {
		fmt.Fprintln(w, c.hint.HintLine(termtext.Line(h)))
	}
	return e.Code
}

// jsonFailure is the JSON document of a run that failed before it could
// print its own: the error and hint lines as data, and the exit code.
type jsonFailure struct {
	Error struct {
		Message  string   `json:"message"`
		Hints    []string `json:"hints"`
		ExitCode int      `json:"exitCode"`
	} `json:"error"`
}

func writeJSONFailure(w io.Writer, err error) {
	var doc jsonFailure
	switch {
	case errors.Is(err, prompt.ErrCancelled):
		doc.Error.Message, doc.Error.ExitCode = "cancelled", exitInterrupted
	case errors.Is(err, prompt.ErrInterrupted), errors.Is(err, context.Canceled):
		doc.Error.Message, doc.Error.ExitCode = "interrupted", exitInterrupted
	default:
		e := explain(err)
		doc.Error.Message, doc.Error.Hints, doc.Error.ExitCode = lowerFirst(strings.TrimSuffix(e.Msg, ".")), e.Hints, e.Code
	}
	if doc.Error.Hints == nil {
		doc.Error.Hints = []string{}
	}
	writeJSON(w, doc)
}

func lowerFirst(s string) string {
	if s == "" || strings.ToUpper(s[:1]) == s[:1] && len(s) > 1 && strings.ToUpper(s[1:2]) == s[1:2] {
		return s // an acronym such as "SSH …" stays
	}
	return strings.ToLower(s[:1]) + s[1:]
}
