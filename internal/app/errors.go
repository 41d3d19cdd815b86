package app

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
)

// Exit codes, as in the contract.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
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
func report(w io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, gitconfig.ErrGitNotFound) {
		err = &Error{Code: exitFailure, Msg: "git was not found", Err: err,
			Hints: []string{"install git (https://git-scm.com/downloads) and make sure it is on PATH"}}
	}
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: exitFailure, Msg: err.Error()}
	}
	if e.Msg != "" {
		fmt.Fprintf(w, "error: %s\n", lowerFirst(strings.TrimSuffix(e.Msg, ".")))
	}
	for _, h := range e.Hints {
		fmt.Fprintf(w, "hint: %s\n", h)
	}
	return e.Code
}

func lowerFirst(s string) string {
	if s == "" || strings.ToUpper(s[:1]) == s[:1] && len(s) > 1 && strings.ToUpper(s[1:2]) == s[1:2] {
		return s // an acronym such as "SSH …" stays
	}
	return strings.ToLower(s[:1]) + s[1:]
}
