package app

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/prompt"
	"github.com/git-bbkey/git-bbkey/internal/sshagent"
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
	// repo is the repository in Dir with git's URL rules, read once.
	repo *gitremote.Repo
	// ui is the status line and colours of a run of Main (nil outside).
	ui *runUI
	// agent is the ssh-agent of a run of Main (nil outside): connected
	// once, when a key first needs it.
	agent *sshagent.Lazy
}

// SystemEnv is the real environment of the process.
func SystemEnv(version string) *Env {
	dir, _ := os.Getwd()
	return &Env{
		Stdin:    os.Stdin,
		Stdout:   os.Stdout,
		Stderr:   os.Stderr,
		Getenv:   os.Getenv,
		Environ:  os.Environ,
		Home:     os.UserHomeDir,
		Now:      time.Now,
		Dir:      dir,
		Prompter: prompt.NewTerminal(os.Getenv, os.Stdin, os.Stderr),
		Git:      "git",
		Random:   rand.Reader,
		Version:  versionString(version),
		sessions: &sessionCache{},
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

// gitRepo is the repository in the working directory as git uses it
// (remotes with url.<base>.insteadOf applied), shared by copies of e.
func (e *Env) gitRepo() *gitremote.Repo {
	if e.repo == nil {
		e.repo = &gitremote.Repo{Dir: e.Dir, Config: e.config()}
	}
	return e.repo
}

// config reads git settings in the working directory. Without git every
// setting takes its default; a value with no default is read with
// MissingGitIsUnset false, so that the user hears that git is missing.
func (e *Env) config() *gitconfig.Reader {
	return &gitconfig.Reader{Git: e.Git, Dir: e.Dir, Env: e.Environ(), MissingGitIsUnset: true}
}

// configValue returns a git config value, "" when unset.
func (e *Env) configValue(ctx context.Context, key string) (string, error) {
	v, _, err := e.config().Get(ctx, key)
	return v, err
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

// TestEnv is an Env for tests: home is both $HOME and the home directory,
// vars is the whole environment (PATH is taken from the process unless
// vars sets it), dir is the working directory, and nothing can prompt.
// Output goes to the returned buffers.
func TestEnv(home, dir string, vars map[string]string) (env *Env, stdout, stderr *bytes.Buffer) {
	all := map[string]string{"HOME": home, "USERPROFILE": home, "GIT_CONFIG_NOSYSTEM": "1", "PATH": os.Getenv("PATH")}
	for k, v := range vars {
		all[k] = v
	}
	environ := make([]string, 0, len(all))
	for k, v := range all {
		environ = append(environ, k+"="+v)
	}
	sort.Strings(environ)
	stdout, stderr = &bytes.Buffer{}, &bytes.Buffer{}
	return &Env{
		Stdin:    strings.NewReader(""),
		Stdout:   stdout,
		Stderr:   stderr,
		Getenv:   func(k string) string { return all[k] },
		Environ:  func() []string { return environ },
		Home:     func() (string, error) { return home, nil },
		Now:      time.Now,
		Dir:      dir,
		Prompter: noPrompt{},
		Git:      "git",
		Random:   rand.Reader,
		Version:  "test",
		sessions: &sessionCache{},
	}, stdout, stderr
}

// noPrompt is a Prompter with no terminal: it never asks, git credential
// included.
type noPrompt struct{}

func (noPrompt) CanPrompt() bool                                { return false }
func (noPrompt) Secret(context.Context, string) ([]byte, error) { return nil, prompt.ErrNoTerminal }
func (noPrompt) Confirm(context.Context, string) (bool, error)  { return false, prompt.ErrNoTerminal }
func (noPrompt) Line(context.Context, string) (string, error)   { return "", prompt.ErrNoTerminal }
func (noPrompt) Say(string) error                               { return nil }
