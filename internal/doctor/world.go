package doctor

import (
	"context"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/openssh"
)

// World is what doctor reads beyond files: programs, the agent, the
// repository and the server. System is the real one; tests pass fakes.
type World interface {
	// SSHCommand is the ssh command git runs (openssh.GitCommand).
	SSHCommand(ctx context.Context) (openssh.Command, error)
	// LookPath finds a program on the PATH git and ssh get.
	LookPath(name string) (string, error)
	// SSHVersion runs `program -V` and returns what it printed.
	SSHVersion(ctx context.Context, program string) (string, error)
	// SSHSettings are OpenSSH's effective settings for a destination, as
	// the ssh git runs computes them (openssh.Resolver).
	SSHSettings(ctx context.Context, t openssh.Target) (*openssh.Settings, error)
	// Agent lists the keys of the user's ssh-agent. addr is where it was
	// looked for; an error matching sshagent.ErrNoAgent means none runs.
	Agent(ctx context.Context) (addr string, keys []ssh.PublicKey, err error)
	// Remotes are the repository's remotes as git uses them.
	Remotes(ctx context.Context) ([]gitremote.Remote, error)
	// Server is the Bitbucket server of this run; nil and no error when
	// none is configured.
	Server(ctx context.Context) (Server, error)
}

// Server is one Bitbucket server, as a bbsession.Session answers for it.
type Server interface {
	Base() string
	// Settings are the server's SSH settings (with credentials when there
	// are any); SettingsWithCredentials says whether they were used.
	Settings(ctx context.Context) (*bitbucket.Settings, error)
	SettingsWithCredentials() bool
	// SSHAddress is where users reach the server's SSH.
	SSHAddress(ctx context.Context) (bbsession.SSHAddress, error)
	// PublishedHostKey is the fingerprint published for sshHost.
	PublishedHostKey(ctx context.Context, sshHost string) (bbsession.HostKey, error)
	// Authenticate gets credentials, never asking anyone.
	Authenticate(ctx context.Context) error
	// Registered tells which fingerprints are the user's SSH keys.
	Registered(ctx context.Context, fingerprints []string) (map[string]bool, error)
	// AccessKeys lists the access keys of a repository or project.
	AccessKeys(ctx context.Context, scope bitbucket.Scope) ([]bitbucket.AccessKey, error)
	// Repository reads a repository; authenticated says whether with
	// credentials.
	Repository(ctx context.Context, project, slug string) (authenticated bool, err error)
}
