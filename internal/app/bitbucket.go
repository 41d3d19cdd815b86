package app

import (
	"context"
	"sync"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
)

// sessionCache holds the run's Bitbucket sessions (one per server, so git
// credential fill, which may ask the user, runs once per server). A
// pointer in Env, so that copies of the Env share it.
type sessionCache struct {
	once     sync.Once
	sessions *bbsession.Sessions
}

// bitbucket is the run's Bitbucket sessions, built from the Env on first
// use: git config and the environment as git has them, the terminal (git
// credential may prompt only when we may), and the default remote, which
// can name the server.
func (e *Env) bitbucket() *bbsession.Sessions {
	if e.sessions == nil { // an Env built by hand in a test
		e.sessions = &sessionCache{}
	}
	e.sessions.once.Do(func() {
		e.sessions.sessions = bbsession.New(bbsession.Config{
			Git:         e.Git,
			Config:      e.config(),
			Env:         e.Environ(),
			Dir:         e.Dir,
			Interactive: e.Prompter.CanPrompt(),
			UserAgent:   "git-bbkey/" + e.Version,
			RemoteURLs:  e.defaultRemoteURLs,
		})
	})
	return e.sessions.sessions
}

// defaultRemoteURLs are the URLs of the default remote, as written first
// (an https remote names the server even when url.<base>.insteadOf sends
// git over SSH), then as git uses them. None outside a repository.
func (e *Env) defaultRemoteURLs(ctx context.Context) ([]string, error) {
	name, err := defaultRemoteName(ctx, e)
	if err != nil {
		return nil, err
	}
	remote, err := e.gitRepo().Remote(ctx, name)
	if err != nil {
		return nil, nil
	}
	return append(append([]string{}, remote.Written...), remote.URLs...), nil
}

// defaultRemoteName is bbkey.remote, else origin.
func defaultRemoteName(ctx context.Context, env *Env) (string, error) {
	name, err := env.configValue(ctx, "bbkey.remote")
	if err != nil {
		return "", err
	}
	if name == "" {
		name = "origin"
	}
	return name, nil
}
