package app

import (
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
	"github.com/git-bbkey/git-bbkey/internal/prompt"
)

// Env holds every outside dependency of a command, so tests can run the
// whole command with a fake home, clock, terminal and git.
type Env struct {
	Stdin    io.Reader
	Stdout   io.Writer
	Stderr   io.Writer
	Getenv   func(string) string
	Environ  func() []string
	Home     func() (string, error)
	Now      func() time.Time
	Dir      string // working directory
	Prompter prompt.Prompter
	Git      string    // git binary
	Random   io.Reader // key material
	Version  string

	// sessions holds one Bitbucket session per base URL for this run, so
	// git credential fill (which may ask the user) runs once per server.
	// A pointer, so that copies of the Env share it.
	sessions *sessionCache
	// insteadOf holds the url.<base>.insteadOf rules, read once.
	insteadOf *insteadOfCache
	// ui is the status line and colours of a run of Main (nil outside).
	ui *runUI
}

type sessionCache struct {
	mu sync.Mutex
	m  map[string]*session
}

// SystemEnv is the real environment of the process.
func SystemEnv(version string) *Env {
	dir, _ := os.Getwd()
	return &Env{
		Stdin:     os.Stdin,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
		Getenv:    os.Getenv,
		Environ:   os.Environ,
		Home:      os.UserHomeDir,
		Now:       time.Now,
		Dir:       dir,
		Prompter:  prompt.NewTerminal(os.Getenv, os.Stdin, os.Stderr),
		Git:       "git",
		Random:    rand.Reader,
		Version:   versionString(version),
		sessions:  &sessionCache{},
		insteadOf: &insteadOfCache{},
	}
}

// versionString prefers the version set at link time, then the module
// version recorded by `go install`, then "devel".
func versionString(linked string) string {
	if linked != "" {
		return linked
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return strings.TrimPrefix(info.Main.Version, "v")
	}
	return "devel"
}

// sshDir is ~/.ssh.
func (e *Env) sshDir() (string, error) {
	home, err := e.Home()
	if err != nil || home == "" {
		return "", &Error{Code: 1, Msg: "cannot find your home directory",
			Hints: []string{"set HOME (or USERPROFILE on Windows)"}}
	}
	return filepath.Join(home, ".ssh"), nil
}

// config reads git settings in the working directory.
func (e *Env) config() *gitconfig.Reader {
	return &gitconfig.Reader{Git: e.Git, Dir: e.Dir, Env: e.Environ()}
}

// configValue returns a git config value, "" when unset.
func (e *Env) configValue(ctx context.Context, key string) (string, error) {
	v, _, err := e.config().Get(ctx, key)
	if err != nil {
		return "", configError(err)
	}
	return v, nil
}

// configError is git config failing as a whole (a broken config file, no
// git): git's own message names the file and line.
func configError(err error) error {
	return failuref(err, "fix the file git names above (git config --global --edit opens yours), then run again")
}

// absPath resolves a user-given path against the working directory and
// expands a leading ~/ as the shell would.
func (e *Env) absPath(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, `~\`) {
		if home, err := e.Home(); err == nil {
			p = filepath.Join(home, p[1:])
		}
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(e.Dir, p)
	}
	return filepath.Clean(p)
}
