package setup

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

// Choice is a decision setup or rotate needs from a person.
type Choice int

const (
	ChoiceReuse   Choice = iota + 1 // use the key found (--yes), or make a new one (--new)
	ChoiceReplace                   // replace the key at the path (--new, --yes)
	ChoiceRotate                    // rotate, which deletes the old key from Bitbucket (--yes)
)

// NeedsPersonError: a choice needs a person and nobody can be asked (no
// terminal). Key is the key concerned. The caller names the flags.
type NeedsPersonError struct {
	Choice Choice
	Key    *Key   // ChoiceReuse: the key found
	Path   string // ChoiceReplace: the key that would be replaced
}

func (e *NeedsPersonError) Error() string {
	switch e.Choice {
	case ChoiceReuse:
		return fmt.Sprintf("found the key %s (%s %s); reusing it needs your confirmation and there is no terminal",
			e.Key.PrivateKeyPath, e.Key.Type, e.Key.Fingerprint)
	case ChoiceReplace:
		return fmt.Sprintf("%s already exists; replacing it needs your confirmation and there is no terminal", e.Path)
	}
	return "rotating deletes the old key from Bitbucket and needs a confirmation; there is no terminal to ask on"
}

// DeclinedError: the person asked said no; nothing of the step asked
// about was done. It is not a failure of the tool: the caller says what
// was kept, without an error line.
type DeclinedError struct {
	Choice Choice
	Path   string // the key that stays as it was
}

func (e *DeclinedError) Error() string {
	return fmt.Sprintf("%s was kept; nothing was changed", e.Path)
}

// OptionError is a combination of options that cannot work (exit 2).
type OptionError struct {
	Flag   string // the flag at fault, e.g. "--agent-lifetime"
	Reason string
}

func (e *OptionError) Error() string { return e.Flag + " " + e.Reason }

// MaxAgentLifetime is the longest lifetime the agent protocol can carry
// (a uint32 number of seconds).
const MaxAgentLifetime = time.Duration(1<<32-1) * time.Second

// CheckAgentLifetime refuses a lifetime the ssh-agent protocol cannot
// carry exactly: not positive, not whole seconds, or past its uint32 of
// seconds (0 means none was given).
func CheckAgentLifetime(d time.Duration, given bool) error {
	switch {
	case !given:
		return nil
	case d <= 0:
		return &OptionError{Flag: "--agent-lifetime", Reason: fmt.Sprintf("must be positive, e.g. 8h (got %s)", d)}
	case d < time.Second:
		return &OptionError{Flag: "--agent-lifetime", Reason: fmt.Sprintf("is at least one second: the ssh-agent counts whole seconds (got %s)", d)}
	case d%time.Second != 0:
		return &OptionError{Flag: "--agent-lifetime", Reason: fmt.Sprintf("must be whole seconds: the ssh-agent counts no fractions (got %s)", d)}
	case d > MaxAgentLifetime:
		return &OptionError{Flag: "--agent-lifetime", Reason: fmt.Sprintf("is at most %ds, the ssh-agent protocol's limit (got %s)", int64(MaxAgentLifetime/time.Second), d)}
	}
	return nil
}

// NoRemoteError: the remote named with --remote does not exist here.
type NoRemoteError struct{ Name string }

func (e *NoRemoteError) Error() string { return fmt.Sprintf("no remote %q here", e.Name) }

// UnsafeURLError: Bitbucket gave a clone link that is not a plain ssh://
// URL (an ext:: command, an option in disguise); it is never used.
type UnsafeURLError struct{ URL string }

func (e *UnsafeURLError) Error() string {
	return fmt.Sprintf("refusing the SSH clone link %q: only ssh:// URLs are used", e.URL)
}

// GitError: a git command that changes the repository failed.
type GitError struct {
	Args   []string // git's arguments
	Output string   // what git said (from outside: escape it)
	Err    error
}

func (e *GitError) Error() string {
	msg := e.Output
	if msg == "" {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("git %s failed: %s", gitWords(e.Args), msg)
}

func (e *GitError) Unwrap() error { return e.Err }

// VerifyError: the key did not verify against Target; Outcome says how
// (unreachable and timeout: the key was never tried). Nothing that setup
// changed in the repository stays changed (see Result.Remote).
type VerifyError struct {
	Target  Target
	Outcome Outcome
}

func (e *VerifyError) Error() string {
	if e.NotTried() {
		return fmt.Sprintf("could not reach %s to try the key (%s)", net.JoinHostPort(e.Target.Host, strconv.Itoa(e.Target.Port)), e.Outcome.Status)
	}
	return fmt.Sprintf("the key did not verify (%s)", e.Outcome.Status)
}

// NotTried tells whether the server was never reached, so that the key
// was not tried at all.
func (e *VerifyError) NotTried() bool {
	return e.Outcome.Status == sshverify.StatusUnreachable || e.Outcome.Status == sshverify.StatusTimeout
}

// IsHostKeyStatus tells whether a status is about the server's host key.
func IsHostKeyStatus(s sshverify.Status) bool {
	return s == sshverify.StatusHostUnknown || s == sshverify.StatusHostMismatch
}

// AgentError: the key could not be added to the ssh-agent.
type AgentError struct {
	NoAgent     bool   // no agent is running at all (nothing to reach)
	Unreachable string // an agent may be there (at this address) but could not be reached
	Err         error
}

func (e *AgentError) Error() string {
	switch {
	case e.NoAgent:
		return "no ssh-agent is running (SSH_AUTH_SOCK is not set, or nothing listens there)"
	case e.Unreachable != "":
		return fmt.Sprintf("cannot reach the ssh-agent at %q: %v", e.Unreachable, e.Err)
	}
	return fmt.Sprintf("the ssh-agent refused the key: %v", e.Err)
}

func (e *AgentError) Unwrap() error { return e.Err }

// SSHConfigError: the ssh config at Path could not be updated for Host;
// errors.Is(err, sshconfig.ErrDamagedMarkers) when its git-bbkey marker
// lines do not pair up (the file is then left to the user).
type SSHConfigError struct {
	Path, Host string
	Err        error
}

func (e *SSHConfigError) Error() string { return e.Err.Error() }
func (e *SSHConfigError) Unwrap() error { return e.Err }
