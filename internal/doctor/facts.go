package doctor

import (
	"io/fs"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

// Facts is everything the checks look at, gathered once.
type Facts struct {
	Home    string // $HOME
	SSHDir  string // $HOME/.ssh
	Windows bool

	SSHDirInfo FileInfo
	SSHConfig  FileInfo // $HOME/.ssh/config

	// Keys are the keys in ~/.ssh, then key files named elsewhere (by
	// bbkey.keyFile or an IdentityFile) that git-bbkey or git would use.
	Keys      []KeyFacts
	KeysErr   error // ~/.ssh could not be listed
	Leftovers []sshkeys.Leftover
	Key       KeyChoice
	// KeyMissing: Key.Path names no file (bbkey.keyFile pointing nowhere).
	KeyMissing bool

	SSH   SSHFacts
	Agent AgentFacts

	Server       ServerFacts
	Registration Registration

	Remotes    []RemoteFacts
	RemotesErr error // gitremote.ErrNotRepository outside a repository
	// Address is the endpoint of the server's SSH address itself, looked
	// at when no remote goes there (outside a repository, say).
	Address *Endpoint
}

// FileInfo is what a stat said about a file.
type FileInfo struct {
	Path   string
	Exists bool
	Mode   fs.FileMode // with the type bits
	Err    error       // a failure other than "does not exist"
}

// KeyFacts is one key and what OpenSSH would make of its private file.
type KeyFacts struct {
	sshkeys.Key
	// Named: not found by listing ~/.ssh, but named by bbkey.keyFile or
	// an IdentityFile.
	Named bool
	// Unprotected is set when OpenSSH refuses the private key file for its
	// permissions (mode on Unix, ACL on Windows).
	Unprotected *safefile.UnprotectedError
	// NotLoadable is set when OpenSSH refuses the file for its content
	// (line endings, framing); permissions are Unprotected's.
	NotLoadable *sshkeys.NotLoadableError
}

// SSHFacts is the ssh program git runs.
type SSHFacts struct {
	Command    openssh.Command
	CommandErr error // git's settings could not be read
	// Path is where the program was found; "" when it was not (or when
	// only the shell knows what runs).
	Path    string
	Version Version // from `ssh -V`; zero when unknown
}

// Version is an OpenSSH version.
type Version struct {
	Major, Minor int
	Raw          string // "9.2p1"; "" when unknown
}

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// AgentFacts is the user's ssh-agent.
type AgentFacts struct {
	Addr    string // where it was looked for; "" when nowhere
	Running bool   // it answered
	Err     error  // it could not be reached or listed (not "no agent")
	Keys    []ssh.PublicKey
}

// ServerFacts is the Bitbucket server of this run.
type ServerFacts struct {
	Base string // "" when none is configured
	Err  error  // the server could not be named or its session built

	Settings        *bitbucket.Settings
	SettingsErr     error
	WithCredentials bool // the settings were read with credentials

	Address    bbsession.SSHAddress // zero when unknown
	AddressErr error                // a *bbsession.SSHDisabledError comes with Address

	Authenticated bool  // credentials are at hand
	AuthErr       error // why not
}

// Registration is what the server says about the keys that matter.
type Registration struct {
	Asked    bool            // the user's keys were listed
	Err      error           // listing them failed
	UserKeys map[string]bool // by fingerprint: one of the user's SSH keys
	// Access are the access-key grants found, by fingerprint, on the
	// repositories and projects of the remotes.
	Access map[string][]bitbucket.AccessKey
	// Unlisted are the scopes whose access keys could not be listed (the
	// user is no admin there, say).
	Unlisted []ScopeError
}

// ScopeError is an access-key scope that could not be listed.
type ScopeError struct {
	Scope bitbucket.Scope
	Err   error
}

// Reach says whether a remote is on the Bitbucket server of this run.
type Reach int

const (
	ReachUnknown Reach = iota // no server is known to compare with
	ReachYes
	ReachNo
)

// RemoteFacts is one remote of the repository.
type RemoteFacts struct {
	Name     string
	URL      string // the URL git fetches from (url.<base>.insteadOf applied)
	Parsed   *gitremote.URL
	ParseErr error
	Reach    Reach
	// Project and Slug name the Bitbucket repository; "" when the URL
	// names none.
	Project, Slug string
	Repo          RepoFacts
	// Endpoint is where git's ssh goes, for ssh remotes.
	Endpoint *Endpoint
}

// RepoFacts is what the server says about a remote's repository.
type RepoFacts struct {
	Asked         bool
	Authenticated bool  // asked with credentials
	Err           error // nil: it exists and can be read
}

// Endpoint is an SSH destination with OpenSSH's settings for it.
type Endpoint struct {
	Target   openssh.Target
	Settings *openssh.Settings
	Err      error // ssh -G failed, or the settings cannot be used

	// Offered is the identity file ssh offers (OfferedIdentity: under
	// $HOME); HasOffered is false when none of its files exists.
	Offered    openssh.File
	HasOffered bool
	// SSHOffered is the identity file ssh itself opens first, under its
	// own home (the password database's); "" when none exists there.
	SSHOffered string
	// MissingIdentities are IdentityFile settings (not ssh's defaults)
	// naming files that do not exist.
	MissingIdentities []openssh.File
	// PubkeyAlgorithms is ssh's PubkeyAcceptedAlgorithms for the host.
	PubkeyAlgorithms []string

	// KnownHostsFiles are the files ssh reads host keys from (user files,
	// then global ones), under $HOME as git-bbkey reads and pins them;
	// KnownHosts is what they say about the host.
	KnownHostsFiles []string
	KnownHosts      sshverify.HostKeys
	KnownHostsErr   error
	// SSHKnownHosts is what the user files under OpenSSH's own home say,
	// when that home is not $HOME; nil otherwise.
	SSHKnownHosts *sshverify.HostKeys

	// Published is the host key fingerprint the server publishes for
	// this host; Fingerprint is "" when none was read.
	Published    bbsession.HostKey
	PublishedErr error
	// OnServer: the host is the server's SSH address (or its web host).
	OnServer bool
}

// HostRef names the endpoint's server as known_hosts does.
func (e *Endpoint) HostRef() sshverify.HostRef {
	s := e.Settings
	return sshverify.HostRef{Host: s.Hostname, Port: s.Port, Alias: s.HostKeyAlias}
}
