// Package doctor diagnoses what commonly breaks SSH to Bitbucket, so that
// it never calls a set-up fine that git would fail with.
//
// It works in two steps. Gather collects facts once, through World (the
// ssh git runs and the settings OpenSSH computes for each remote, the
// agent, the repository's remotes, the Bitbucket server) and the packages
// that own each fact (sshkeys for keys on disk, safefile for what OpenSSH
// refuses to load, sshverify's known_hosts reader). Checks then judges
// those facts with plain functions, which tests drive with facts made up
// on the spot. Nothing here prompts, prints or writes.
package doctor

import "context"

// Status is the verdict of one check, as the CLI contract prints it.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn"
	Fail Status = "fail"
	Skip Status = "skip"
)

// Check is one line of the report.
type Check struct {
	// Name groups the checks ("key-mode", "remote", …): the contract's name.
	Name string
	// Kind is what was found; code looks at Kind, never at Message.
	Kind   Kind
	Status Status
	// Message is for people. It holds text from outside (paths, URLs,
	// the server's words): escape it before it reaches a terminal.
	Message string
	// Fix is the command or step that fixes the problem; "" when none is
	// known here (see Cause).
	Fix string
	// Cause is the typed error behind the check, when there is one, for a
	// caller that explains errors in one place (its hint is the fix when
	// Fix is empty).
	Cause error
}

// Report is the outcome of a run.
type Report struct {
	Checks []Check
}

// Failed counts the checks that failed.
func (r Report) Failed() int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == Fail {
			n++
		}
	}
	return n
}

// OK reports whether no check failed (warnings and skips do not count).
func (r Report) OK() bool { return r.Failed() == 0 }

// KeyChoice is the key git-bbkey itself uses (add, setup, verify without
// --key): bbkey.keyFile, else the first of id_ed25519, id_ecdsa, id_rsa.
type KeyChoice struct {
	Path       string // "" when there is none
	Configured bool   // it is bbkey.keyFile
}

// Options is what a run needs from its caller.
type Options struct {
	World World
	// Home is $HOME, where git-bbkey finds ~/.ssh (OpenSSH may take
	// another home: see openssh.Settings.HomeDiffers).
	Home string
	// Key is the key git-bbkey uses.
	Key KeyChoice
	// Windows selects the fixes that work there (icacls, not chmod).
	Windows bool
	// Progress is told what slow step starts ("waiting for Bitbucket"),
	// for a status line; nil for none.
	Progress func(step string)
}

// Run gathers the facts and runs every check over them.
func Run(ctx context.Context, o Options) Report {
	return Report{Checks: Checks(Gather(ctx, o))}
}

// Checks runs every check over f, in the order the report shows them.
func Checks(f *Facts) []Check {
	var out []Check
	for _, check := range []func(*Facts) []Check{
		checkSSHDir,
		checkKeys,
		checkSSH,
		checkSSHHome,
		checkRSA,
		checkAgent,
		checkSSHConfig,
		checkKnownHosts,
		checkServer,
		checkRegistration,
		checkRemotes,
	} {
		out = append(out, check(f)...)
	}
	return out
}
