// Package verify is the verify workflow: it answers "will git, on this
// machine, reach this repository with this key?" for each target.
//
// Targets come from remotes (git's URL rules applied) or URLs; Bitbucket
// https remotes are mapped to their SSH clone URL through the server's
// session. Each SSH target is reached the way git's ssh would reach it:
// OpenSSH's effective settings for its host (ssh -G with git's ssh command:
// host name, port, user, identity files, jump hosts, proxy command,
// known-hosts files, HostKeyAlias, ConnectTimeout), with exactly one key
// (the one given, else the identity ssh would offer for that host). Where
// OpenSSH cannot be reproduced in-process, the same checks run through the
// user's own ssh program (Via SSH).
//
// It returns result values: no rendering, no hints. Typed fields (Status,
// Err, Skip, Notes) say why, for the caller to explain.
package verify

import (
	"context"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

// Status is a target's outcome: the values of the CLI contract.
type Status = sshverify.Status

const (
	StatusOK            = sshverify.StatusOK
	StatusKeyRejected   = sshverify.StatusKeyRejected
	StatusHostUnknown   = sshverify.StatusHostUnknown
	StatusHostMismatch  = sshverify.StatusHostMismatch
	StatusUnreachable   = sshverify.StatusUnreachable
	StatusTimeout       = sshverify.StatusTimeout
	StatusRepoNotFound  = sshverify.StatusRepoNotFound
	StatusNoWriteAccess = sshverify.StatusNoWriteAccess
	StatusBadURL        = sshverify.StatusBadURL
	StatusKeyError      = sshverify.StatusKeyError
	// StatusSkipped: with All, a remote on a host that is not this
	// Bitbucket (Result.Skip says why). It does not count as a failure.
	StatusSkipped Status = "skipped"
)

// Via says how a target was checked.
type Via int

const (
	ViaNone   Via = iota // not checked (bad-url, skipped, key-error before dialling)
	ViaDirect            // in-process, reproducing OpenSSH's settings
	ViaSSH               // through the user's own ssh program (Result.Limits say why)
)

func (v Via) String() string {
	switch v {
	case ViaDirect:
		return "direct"
	case ViaSSH:
		return "ssh"
	}
	return ""
}

// Deps are everything the workflow reads and talks to.
type Deps struct {
	Repo     *gitremote.Repo     // the repository in the working directory
	Sessions *bbsession.Sessions // Bitbucket, one session per server
	// Getenv and Config are what git's ssh command is read from
	// (openssh.GitCommand): the environment git sees and git config in
	// Dir (nil: none).
	Getenv func(string) string
	Config openssh.ConfigReader
	// Local is the account as OpenSSH sees it; nil: openssh.CurrentLocal.
	Local *openssh.Local
	// Home is $HOME: keys named with ~ and ~/.ssh files are read there,
	// whatever the password database says (the contract).
	Home string
	// Unlock opens a private key for signing (passphrase file, agent,
	// a prompt); its errors are reported as key-error with the error.
	Unlock func(ctx context.Context, path string) (*sshkeys.Unlocked, error)
	// Agent holds keys a jump host may take (nil: no agent).
	Agent sshkeys.Agent
	// Confirm asks a person whether to trust an unknown host key; nil
	// when no one can be asked.
	Confirm func(ctx context.Context, u sshverify.UnknownHost) (bool, error)
	// Progress hears about slow steps (nil: nobody listens).
	Progress func(Step)
	// Env and Dir are where proxy commands run (git runs ssh in Dir).
	Env []string
	Dir string
}

// Options are the choices of one run.
type Options struct {
	// Names are remotes or URLs as given; none means DefaultRemote.
	Names []string
	// All takes every remote of the repository (Names must be empty).
	All bool
	// DefaultRemote is bbkey.remote, else "origin".
	DefaultRemote string
	// Key is the private key to check, absolute: --key or bbkey.keyFile.
	// "" means the identity ssh would offer for each host.
	Key string
	// Server is --server ("" for bbkey.url or an https remote).
	Server           string
	Write            bool
	AcceptNewHostKey bool
	Timeout          time.Duration // per target; default 15s
}

// StepKind names a slow step.
type StepKind int

const (
	StepConnecting StepKind = iota + 1 // dialling hosts (Addrs)
	StepBitbucket                      // waiting for Bitbucket (Server)
)

// Step is a slow step about to start.
type Step struct {
	Kind   StepKind
	Addrs  []string // host:port, for StepConnecting
	Server string   // the base URL, for StepBitbucket
}

// Result is the outcome of one target.
type Result struct {
	Remote string // "" for a URL given as such
	// URL is the URL checked: the SSH clone URL of an https remote;
	// as given (a password hidden) when it was never mapped.
	URL  string
	Host string // where ssh connects (HostName applied)
	Port int
	// SSHHost is the host as the URL names it (an alias, say).
	SSHHost   string
	SCPLike   bool
	PortGiven bool
	Status    Status
	Message   string // from the check; text from outside is in it as it came
	User      string // whoami; "" when not known
	Refs      *int
	Write     *bool
	PushURL   string // with Write, where the write check went when not URL
	// Key is the private key checked, Fingerprint its SHA256.
	Key, Fingerprint string
	// GitKey is the identity git's ssh offers this host first, when that
	// is not Key ("" when they agree or it is not known).
	GitKey  string
	Via     Via
	Limits  []openssh.Limit // why Via is SSH
	Elapsed time.Duration

	// Err is the typed cause of bad-url, key-error, and of a failure to
	// compute the settings (*openssh.SSHError, …); nil otherwise.
	Err error
	// Skip says why a target was skipped.
	Skip *SkipReason
	// Host keys: what known_hosts said, the pins made, a jump host's
	// key that was refused (sshverify's results). Via ssh, Pins and
	// HostKeyAdded are the decision verify made, and the line it appended,
	// about a host ssh did not know (ssh itself never records one).
	HostCheck    *sshverify.HostKeyCheck
	Pins         []sshverify.Pin
	HostKeyAdded bool
	Hop          *sshverify.HostKeyError
	Notes        []Note
}

// SkipReason: the target's host is not this Bitbucket's.
type SkipReason struct {
	Host   string // the target's host (after HostName)
	Server string // this Bitbucket's base URL; "" when the URL is not a Bitbucket one
	// AddressErr: the SSH address Bitbucket advertises could not be read,
	// so only its base URL's host was compared.
	AddressErr error
}

// NoteKind names something the caller should tell the user.
type NoteKind int

const (
	// NoteGitKeyDiffers: git's ssh offers GitKey first for this host, not
	// the key checked (--key or bbkey.keyFile).
	NoteGitKeyDiffers NoteKind = iota + 1
	// NoteHomeDiffers: OpenSSH takes ~ from the password database
	// (AccountHome), not $HOME (Home): git's ssh reads ~/.ssh there.
	NoteHomeDiffers
	// NoteApproximated: ssh could not be asked; the settings were read
	// from the configuration files and may differ from OpenSSH's.
	NoteApproximated
	// NoteKeyNotConfirmed: via ssh, which key the server took is not
	// known (a program other than OpenSSH).
	NoteKeyNotConfirmed
)

// Note is one thing to tell, with what it is about.
type Note struct {
	Kind        NoteKind
	AccountHome string // NoteHomeDiffers
	Home        string
}
