package doctor

import (
	"context"
	"errors"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/register"
	"github.com/git-bbkey/git-bbkey/internal/sshagent"
)

// sshVersionTimeout bounds `ssh -V`.
const sshVersionTimeout = 10 * time.Second

// System is the real World: git's ssh command and OpenSSH's settings
// (package openssh), the agent (sshagent), the repository (gitremote) and
// the Bitbucket sessions (bbsession, register). Everything comes in as a
// field; nothing is read from the process's own environment.
type System struct {
	Getenv  func(string) string
	Environ []string
	Home    string // $HOME
	Dir     string // the working directory, where git runs ssh
	Config  *gitconfig.Reader
	Repo    *gitremote.Repo
	// Sessions and ServerFlag name the server (--server, bbkey.url, an
	// https remote).
	Sessions   *bbsession.Sessions
	ServerFlag string

	once     sync.Once
	command  openssh.Command
	cmdErr   error
	resolver *openssh.Resolver
}

func (s *System) setup(ctx context.Context) {
	s.once.Do(func() {
		s.command, s.cmdErr = openssh.GitCommand(ctx, s.Getenv, s.Config)
		local, err := openssh.CurrentLocal()
		if err != nil {
			local = openssh.Local{Home: s.Home} // no password entry: ssh would use $HOME
		}
		system := ""
		if runtime.GOOS != "windows" {
			system = "/etc/ssh/ssh_config"
		}
		s.resolver = &openssh.Resolver{Command: s.command, Local: local, Home: s.Home,
			Env: s.Environ, Dir: s.Dir, SystemConfig: system}
	})
}

func (s *System) SSHCommand(ctx context.Context) (openssh.Command, error) {
	s.setup(ctx)
	return s.command, s.cmdErr
}

func (s *System) LookPath(name string) (string, error) {
	if runtime.GOOS == "windows" || strings.ContainsAny(name, `/\`) {
		return exec.LookPath(name)
	}
	for _, dir := range strings.Split(s.Getenv("PATH"), ":") {
		if dir == "" {
			dir = "."
		}
		if p, err := exec.LookPath(dir + "/" + name); err == nil {
			return p, nil
		}
	}
	return "", &exec.Error{Name: name, Err: exec.ErrNotFound}
}

func (s *System) SSHVersion(ctx context.Context, program string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, sshVersionTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, program, "-V")
	cmd.Env, cmd.Dir = s.Environ, s.Dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (s *System) SSHSettings(ctx context.Context, t openssh.Target) (*openssh.Settings, error) {
	s.setup(ctx)
	if s.cmdErr != nil {
		return nil, s.cmdErr
	}
	return s.resolver.Settings(ctx, t)
}

func (s *System) Agent(ctx context.Context) (string, []ssh.PublicKey, error) {
	addr := sshagent.Addr(s.Getenv)
	ag, closer, err := sshagent.Dial(s.Getenv)
	if err != nil {
		return addr, nil, err
	}
	defer closer.Close()
	list, err := ag.List()
	if err != nil {
		return addr, nil, err
	}
	keys := make([]ssh.PublicKey, len(list))
	for i, k := range list {
		keys[i] = k
	}
	return addr, keys, nil
}

func (s *System) Remotes(ctx context.Context) ([]gitremote.Remote, error) {
	return s.Repo.Remotes(ctx)
}

func (s *System) Server(ctx context.Context) (Server, error) {
	base, err := s.Sessions.Resolve(ctx, s.ServerFlag)
	if errors.Is(err, bbsession.ErrNoServer) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sess, err := s.Sessions.For(ctx, base)
	if err != nil {
		return nil, err
	}
	return sessionServer{sess}, nil
}

// sessionServer is a Server over a bbsession.Session.
type sessionServer struct{ *bbsession.Session }

func (s sessionServer) Registered(ctx context.Context, fps []string) (map[string]bool, error) {
	registered, _, err := register.Registered(ctx, s.Session, fps)
	return registered, err
}

func (s sessionServer) AccessKeys(ctx context.Context, scope bitbucket.Scope) ([]bitbucket.AccessKey, error) {
	c, err := s.Client(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := c.ListAccessKeys(ctx, scope)
	if err != nil {
		return nil, s.Explain(ctx, err, bbsession.OpAccessKey)
	}
	return keys, nil
}

func (s sessionServer) Repository(ctx context.Context, project, slug string) (bool, error) {
	c, authenticated, err := s.Reader(ctx)
	if err != nil {
		return false, err
	}
	_, err = c.Repository(ctx, project, slug)
	return authenticated, err
}
