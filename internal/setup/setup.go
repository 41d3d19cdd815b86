// Package setup is git-bbkey's whole procedure in one workflow: read who
// the user is, reuse the best usable key or make a new one (backing up
// what it replaces), register it as the user's SSH key on Bitbucket, pin
// the server's host key, optionally write a managed Host block and add the
// key to the ssh-agent, and prove the key works against the repository's
// remote (optionally switching an https remote to SSH, and switching it
// back if the key then does not verify).
//
// It takes everything from outside as explicit dependencies (Deps), asks a
// person only through Asker, and returns a Result with typed errors: it
// prints nothing, and the words people read are the caller's.
package setup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/keygen"
	"github.com/git-bbkey/git-bbkey/internal/register"
	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/sshagent"
	"github.com/git-bbkey/git-bbkey/internal/sshconfig"
)

// Options are setup's choices (flags, and git config read by the caller).
type Options struct {
	Email       string // the key comment: git config user.email
	Server      string // --server; "" for bbkey.url or the remote's server
	Remote      string // the remote to verify: --remote, else bbkey.remote, else origin
	RemoteGiven bool   // named with --remote: it must exist

	KeyType, DefaultKeyType string // --type; bbkey.keyType
	KeyFile                 string // --file (absolute); "" for ~/.ssh and the default name
	New                     bool   // always make a new key
	Label                   string // the key's label on Bitbucket; "" for its comment

	NoPassphrase   bool
	Passphrase     []byte // --passphrase-file's first line; nil when not given
	PassphraseFile string // its name, for errors

	SSHConfig     bool
	Agent         bool
	AgentLifetime time.Duration // 0: none (checked with CheckAgentLifetime)
	FixRemote     bool
	Yes           bool
}

// String shows the options without the passphrase.
func (o Options) String() string {
	type plain Options // without this method
	p := plain(o)
	p.Passphrase = nil
	return fmt.Sprintf("%+v (passphrase given: %v)", p, o.Passphrase != nil)
}

// GoString keeps the passphrase out of %#v too.
func (o Options) GoString() string { return "setup.Options" + o.String() }

// Deps are what setup works with.
type Deps struct {
	SSHDir   string
	Sessions *bbsession.Sessions
	Repo     *gitremote.Repo // the repository in the working directory (nil: none)
	Git      GitWriter
	Verify   Verify
	Agent    sshagent.Dialer
	Ask      Asker // nil: nobody can be asked (no terminal)
	// Progress shows a slow step as it starts (a status line); may be nil.
	Progress func(Progress)
	Keygen   keygen.Hooks // progress of key generation, and test checkpoints
	Now      func() time.Time
	Random   io.Reader     // key material; nil for crypto/rand
	LockWait time.Duration // for another run's ~/.ssh lock; 0: keygen.DefaultLockWait
}

// Asker asks a person the questions setup has; the caller words them.
// Each returns the prompt's error (an interrupt) as it is.
type Asker interface {
	// Intro tells what setup is about to do, before its first question.
	Intro(Intro)
	// Reuse: use the key found? (Enter: yes)
	Reuse(ctx context.Context, k Key) (bool, error)
	// Replace: replace the key at path, after a backup? (Enter: no)
	Replace(ctx context.Context, path string) (bool, error)
	// FixRemote: switch the remote from its https URL to the SSH one?
	FixRemote(ctx context.Context, name, from, to string) (bool, error)
	// WriteSSHConfig: put block into the ssh config at path?
	WriteSSHConfig(ctx context.Context, path string, block sshconfig.Block) (bool, error)
	Passphrases
}

// Intro is what setup is about to do.
type Intro struct {
	Email    string // the comment of a new key
	Server   string
	KeyPath  string // the key it proposes, or the one it would make
	Existing bool   // KeyPath exists (and is proposed for reuse)
}

// Activity is a slow step, for a status line.
type Activity int

const (
	WaitingForBitbucket Activity = iota + 1 // Where: the base URL
	Connecting                              // Where: host:port
	AddingToAgent
)

// Progress is a slow step as it starts.
type Progress struct {
	Activity Activity
	Where    string
}

// Result is what setup did, step by step; the zero states mean a step
// was not reached. It holds no secret.
type Result struct {
	Email, Server string
	Key           *Key
	Generated     bool
	Resumed       bool   // the key an unfinished setup had made, taken without asking
	BackupDir     string // where a replaced key went ("" for none)

	Registration *register.Result // nil without credentials (see Manual)
	Manual       *Manual

	Remote           *RemoteChange // the remote verified, and what was done to it
	RememberedServer bool          // bbkey.url written into the repository
	Target           *Target       // what was verified
	HostKey          HostKeyState
	HostKeyErr       error // why the server's SSH address was not found (HostKeySkipped)
	Verify           *Outcome

	SSHConfig     SSHConfigState
	SSHConfigPath string
	SSHConfigHost string

	Agent         AgentState
	AgentLifetime time.Duration
}

// Manual is step 4 without credentials: what to paste where.
type Manual struct {
	PublicKey string        // the line to paste
	Page      string        // Bitbucket's page for it
	Remote    *RemoteTarget // the repository to verify next (nil: none known)
}

// RemoteChange is the remote setup verified against.
type RemoteChange struct {
	Name     string
	From, To string // From as git uses it, without a password; To the SSH URL
	HTTPS    bool   // the remote was an https URL
	Switched bool   // switched to To (--fix-remote or a yes)
	// RolledBack: switched back to From because the key did not verify;
	// RollbackErr: that failed, and the remote is still To.
	RolledBack  bool
	RollbackErr error
}

// HostKeyState is step 5's outcome.
type HostKeyState int

const (
	HostKeySkipped HostKeyState = iota // not checked, or not trusted
	HostKeyPinned                      // added to known_hosts in this run
	HostKeyKnown                       // known_hosts had it
)

func (s HostKeyState) String() string { return [...]string{"skipped", "pinned", "known"}[s] }

// SSHConfigState is step 6's outcome.
type SSHConfigState int

const (
	SSHConfigSkipped   SSHConfigState = iota // not asked for (--ssh-config)
	SSHConfigWritten                         // the block was written
	SSHConfigUnchanged                       // the block was there already
	SSHConfigDeclined                        // the person said no
)

func (s SSHConfigState) String() string {
	return [...]string{"skipped", "written", "unchanged", "skipped"}[s]
}

// AgentState is step 7's outcome.
type AgentState int

const (
	AgentSkipped AgentState = iota // not asked for (--agent)
	AgentAdded
	AgentPresent // the agent held the key already
)

func (s AgentState) String() string { return [...]string{"skipped", "added", "present"}[s] }

// run is one setup run.
type run struct {
	o     Options
	d     Deps
	r     *Result
	agent *sshagent.Lazy
}

func (w *run) progress(a Activity, where string) {
	if w.d.Progress != nil {
		w.d.Progress(Progress{Activity: a, Where: where})
	}
}

// Run runs setup. The Result is never nil: on an error it holds the steps
// done so far (for a report of what happened).
func Run(ctx context.Context, o Options, d Deps) (*Result, error) {
	r := &Result{Email: o.Email}
	w := &run{o: o, d: d, r: r, agent: sshagent.NewLazy(d.Agent)}
	defer w.agent.Close()
	if o.NoPassphrase && o.Passphrase != nil {
		return r, keygen.ErrPassphraseConflict
	}
	if err := CheckAgentLifetime(o.AgentLifetime, o.AgentLifetime != 0); err != nil {
		return r, err
	}
	if o.AgentLifetime != 0 && !o.Agent {
		return r, &OptionError{Flag: "--agent-lifetime", Reason: "needs --agent"}
	}
	base, err := d.Sessions.Resolve(ctx, o.Server)
	if err != nil {
		return r, err
	}
	r.Server = base
	if o.RemoteGiven {
		if err := w.checkRemote(ctx); err != nil {
			return r, err
		}
	}
	if _, err := safefile.MkdirPrivate(d.SSHDir); err != nil {
		return r, err
	}
	unlock, err := keygen.LockAndRecover(ctx, d.SSHDir, d.LockWait, d.Keygen)
	if err != nil {
		return r, err
	}
	defer unlock()

	// 2-3. the key
	key, unlocked, err := w.chooseKey(ctx)
	if err != nil {
		return r, err
	}
	r.Key = key

	// 4. credentials, else the manual way
	s, err := d.Sessions.For(ctx, base)
	if err != nil {
		return r, err
	}
	// No status line here: git credential may ask on the terminal.
	if err := s.Authenticate(ctx); errors.Is(err, bbsession.ErrNoCredentials) {
		r.Manual = &Manual{PublicKey: register.Key{Public: key.Public, Comment: key.Comment}.Text(),
			Page: base + "/plugins/servlet/ssh/account/keys/add"}
		r.Manual.Remote, _ = FindRemote(ctx, d.Sessions, d.Repo, o.Remote, base)
		return r, nil
	} else if err != nil {
		return r, err
	}
	// The key is unlocked before anything is registered: a passphrase
	// that is not known stops setup with nothing changed on the server.
	if unlocked == nil {
		if unlocked, err = UnlockKey(ctx, key.PrivateKeyPath, o.Passphrase, o.PassphraseFile, w.agent, askOrNil(d.Ask)); err != nil {
			return r, err
		}
	}
	label := o.Label
	if label == "" {
		label = key.Comment
	}
	w.progress(WaitingForBitbucket, base)
	reg := register.AddUserKey(ctx, s, register.Key{Public: key.Public, Comment: key.Comment}, register.UserKeyOptions{Label: label})
	r.Registration = &reg
	if reg.Status == register.Failed {
		return r, reg.Err
	}

	// 8 (first half) and 5: the remote, then host key and verify in one check
	if err := w.verify(ctx, s, unlocked); err != nil {
		return r, err
	}
	// 6. the ssh config block for this host
	if o.SSHConfig && r.Target != nil {
		if err := w.writeSSHConfig(ctx, key.PrivateKeyPath); err != nil {
			return r, err
		}
	}
	// 7. the agent
	if o.Agent {
		if err := w.addToAgent(ctx, key, unlocked); err != nil {
			return r, err
		}
	}
	return r, clearPending(d.SSHDir)
}

// askOrNil keeps a nil Asker a nil Passphrases (not a typed nil).
func askOrNil(a Asker) Passphrases {
	if a == nil {
		return nil
	}
	return a
}

func (w *run) checkRemote(ctx context.Context) error {
	if w.d.Repo == nil {
		return &NoRemoteError{Name: w.o.Remote}
	}
	_, err := w.d.Repo.Remote(ctx, w.o.Remote)
	if errors.Is(err, gitremote.ErrRemoteNotFound) || errors.Is(err, gitremote.ErrNotRepository) {
		return &NoRemoteError{Name: w.o.Remote}
	}
	return err
}

// writeSSHConfig is step 6 for the host verified.
func (w *run) writeSSHConfig(ctx context.Context, keyPath string) error {
	t := w.r.Target
	b := sshconfig.Block{Host: t.Host, HostName: t.Host, Port: t.Port, User: t.User, IdentityFile: keyPath, IdentitiesOnly: true}
	path := filepath.Join(w.d.SSHDir, "config")
	w.r.SSHConfigPath, w.r.SSHConfigHost = path, t.Host
	if !w.o.Yes && w.d.Ask != nil {
		ok, err := w.d.Ask.WriteSSHConfig(ctx, path, b)
		if err != nil {
			return err
		}
		if !ok {
			w.r.SSHConfig = SSHConfigDeclined
			return nil
		}
	}
	change, err := sshconfig.Update(path, b)
	if err != nil {
		return &SSHConfigError{Path: path, Host: t.Host, Err: err}
	}
	w.r.SSHConfig = SSHConfigWritten
	if change == sshconfig.Unchanged {
		w.r.SSHConfig = SSHConfigUnchanged
	}
	return nil
}
