package sshverify

import (
	"context"
	"net"
	"time"

	"golang.org/x/crypto/ssh"
)

// Target is one repository to verify. Either Host (with Port and Path) or
// URL must be set; when Host is empty, URL is parsed.
type Target struct {
	Remote string // remote name; "" if given as a URL
	URL    string
	Host   string
	Port   int    // 22 if 0
	Path   string // as sent to git-upload-pack: "/proj/repo.git"
	// User is the SSH user; "" means Options.User, else the URL's user,
	// else "git".
	User string
	// Settings are the SSH settings in effect for the host (as OpenSSH
	// computes them); nil means Options' known_hosts files and a direct
	// TCP connection.
	Settings *HostSettings
	// HostOnly checks the host key, the authentication and whoami, and
	// reads no repository (Path is then not needed).
	HostOnly bool
	// Push is where Options.Write opens git-receive-pack when that is not
	// the target itself (a remote whose pushes go elsewhere); nil: here.
	Push *Target
}

// HostSettings is how a target's server is reached and its host key
// checked. Targets share SSH connections when they share host, port,
// user and the same *HostSettings (or none).
type HostSettings struct {
	// KnownHosts says where the host key is looked up and pinned; its nil
	// file lists mean Options' files.
	KnownHosts KnownHostsSpec
	// Dial opens the byte stream SSH runs over (a ProxyJump or
	// ProxyCommand path); nil dials Host:Port over TCP.
	Dial func(ctx context.Context) (net.Conn, error)
	// DialJump is Dial for a path through jump hosts (ProxyJump): hops
	// checks each jump host's key as the target's is checked. It is used
	// instead of Dial when set.
	DialJump func(ctx context.Context, hops *HopKeys) (net.Conn, error)
	// HostKeyAlgorithms is ssh's HostKeyAlgorithms for the host (ssh -G),
	// ordered by known_hosts as ssh orders it; nil: OpenSSH's defaults.
	HostKeyAlgorithms []string
	// Signer is the only key offered to this host (the identity ssh
	// would offer it, say); nil means Options.Signer.
	Signer ssh.Signer
}

// Status is the outcome of one target (the values of the CLI contract).
type Status string

const (
	StatusOK            Status = "ok"
	StatusKeyRejected   Status = "key-rejected"
	StatusHostUnknown   Status = "host-unknown"
	StatusHostMismatch  Status = "host-mismatch"
	StatusUnreachable   Status = "unreachable"
	StatusTimeout       Status = "timeout"
	StatusRepoNotFound  Status = "repo-not-found"
	StatusNoWriteAccess Status = "no-write-access"
	StatusBadURL        Status = "bad-url"
	StatusKeyError      Status = "key-error"
)

// Result is the outcome for one Target.
type Result struct {
	Target  Target
	Status  Status
	User    string // whoami; "" when the server did not say
	Refs    *int   // refs advertised by git-upload-pack; nil if not read
	Write   *bool  // nil unless Options.Write
	Message string
	Elapsed time.Duration
	// HostKeyAdded is set on every result for a host whose key was
	// appended to known_hosts during this call.
	HostKeyAdded bool
	HostKey      ssh.PublicKey // the key the server presented, if it got that far
	// HostCheck is what known_hosts said about the host key (nil when
	// the server was not reached); for a push elsewhere that failed on
	// its host key, the push host's.
	HostCheck *HostKeyCheck
	// Pins are the decisions about unknown host keys made during this
	// call for the hosts of this target (and of its push URL with Write,
	// and of the jump hosts on the way).
	Pins []Pin
	// Hop is set when a jump host's key was the problem (the status is
	// then host-unknown or host-mismatch about that host, not the target).
	Hop *HostKeyError
}

// Options configures Verify.
type Options struct {
	// Signer is the only key offered, nothing else, to targets whose
	// HostSettings name none. A target with no key is key-error.
	Signer ssh.Signer
	// KnownHostsFile is the user's known_hosts: read, and appended to
	// (never rewritten) when a new host key is accepted; created 0644 if
	// missing (its directory must exist).
	KnownHostsFile string
	// ExtraKnownHosts are read-only files (e.g. /etc/ssh/ssh_known_hosts);
	// missing ones are ignored.
	ExtraKnownHosts []string
	// HostKeyPolicy decides about a host that known_hosts does not know.
	// nil means host-unknown. Decisions are serialized and made at most
	// once per host name and known_hosts file; target timeouts stand
	// still while one is made.
	HostKeyPolicy *HostKeyPolicy
	// Write also opens git-receive-pack (and closes it without pushing).
	Write bool
	// Timeout per target: connect, handshake and commands. Default 15s.
	Timeout time.Duration
	// MaxSessionsPerConn is the number of concurrent channels per SSH
	// connection (OpenSSH's MaxSessions). Default 10. A channel the server
	// refuses is retried on another connection to that host.
	MaxSessionsPerConn int
	// User is the SSH user of targets that name none; default the URL's
	// user, else "git".
	User string
	// Dial replaces net.Dialer.DialContext for targets without their own
	// HostSettings.Dial (tests).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Clock times the targets (Timeout); nil: one of Verify's own. A
	// caller that checks other targets meanwhile passes the one its own
	// checks use, so that a decision made by either stops both.
	Clock *Clock
}
