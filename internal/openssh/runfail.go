package openssh

import "strings"

// Failure is how a run of OpenSSH's ssh ended before the remote command
// could run, as ssh's own messages tell it.
type Failure int

const (
	// FailNone: ssh authenticated (the command ran, whatever it
	// answered), or the program ended well.
	FailNone Failure = iota
	// FailHostKeyUnknown: ssh does not know the server's host key and
	// may not ask (batch mode): "Host key verification failed".
	FailHostKeyUnknown
	// FailHostKeyChanged: known_hosts names another key, or the key is
	// @revoked.
	FailHostKeyChanged
	// FailAuth: "Permission denied": the server took none of the keys.
	FailAuth
	// FailTimeout: a connect or the banner exchange timed out
	// (ConnectTimeout).
	FailTimeout
	// FailUnreachable: ssh could not resolve, reach or talk to the host
	// (or a jump host, or its proxy command).
	FailUnreachable
	// FailOther: the program failed and did not say why in OpenSSH's
	// words (another program, a wrapper).
	FailOther
)

// Failure classifies r (exit status 255 is ssh's own failure; anything
// after authentication is the remote command's).
func (r *RunResult) Failure() Failure {
	if r.Authenticated || r.ExitCode == 0 {
		return FailNone
	}
	text := string(r.Stderr)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(text, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("REMOTE HOST IDENTIFICATION HAS CHANGED", "REVOKED HOST KEY", "Host key for ", "has changed and you have requested strict checking"):
		return FailHostKeyChanged
	case has("Host key verification failed"):
		return FailHostKeyUnknown
	case has("Permission denied", "Too many authentication failures"):
		return FailAuth
	case has("Connection timed out", "Operation timed out", "timed out during banner exchange"):
		return FailTimeout
	case has("Could not resolve hostname", "Connection refused", "No route to host", "Network is unreachable",
		"Connection closed by", "Connection reset by", "kex_exchange_identification", "Broken pipe",
		"proxy dialog", "UNKNOWN port", "Bad owner or permissions", "Bad configuration option"):
		return FailUnreachable
	case r.ExitCode == 255 && r.IdentityEnforced && r.Offered == nil:
		return FailUnreachable
	}
	return FailOther
}

// Reason is ssh's own last words about a failure, one line ("" when it
// said nothing): text from outside.
func (r *RunResult) Reason() string {
	lines := strings.Split(strings.TrimSpace(string(r.Stderr)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(strings.TrimRight(lines[i], "\r"))
		if l != "" && !strings.HasPrefix(l, "@@@") && !strings.HasPrefix(l, "@ ") {
			return l
		}
	}
	return ""
}
