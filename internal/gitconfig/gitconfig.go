// Package gitconfig reads settings through the git binary, so that
// includes, -c, GIT_CONFIG_* and url-matched sections work exactly as in git.
package gitconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
)

// ErrGitNotFound means the git program itself could not be run: it is not
// installed, or not on PATH (or not at the path given).
var ErrGitNotFound = errors.New("git was not found")

// Error is `git config` failing as a whole, typically over a broken
// config file: Msg is git's own message, which names the file and line.
type Error struct {
	Args []string // the arguments after "git config"
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("git config %s: %s", strings.Join(e.Args, " "), e.Msg)
}

// Reader runs `git config` in Dir with Env added to the environment.
type Reader struct {
	Git string   // path to git; "" means "git" from PATH
	Dir string   // working directory (the repository, if any)
	Env []string // full environment for the child; nil inherits

	// MissingGitIsUnset makes every read answer "not set" when git itself
	// cannot be found, instead of failing with ErrGitNotFound: without
	// git there are no git settings, and a setting that has a default
	// takes it. Leave it false to read a value that has no default.
	MissingGitIsUnset bool
}

func (r *Reader) run(ctx context.Context, args ...string) (string, bool, error) {
	git := r.Git
	if git == "" {
		git = "git"
	}
	cmd := exec.CommandContext(ctx, git, append([]string{"config"}, args...)...)
	cmd.Dir = r.Dir
	cmd.Env = r.Env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 && stderr.Len() == 0 {
		return "", false, nil // not set
	}
	if MissingGit(err, git) {
		if r.MissingGitIsUnset {
			return "", false, nil
		}
		return "", false, fmt.Errorf("cannot run %q to read git config: %w", git, ErrGitNotFound)
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", false, &Error{Args: args, Msg: msg}
	}
	return strings.TrimRight(stdout.String(), "\r\n"), true, nil
}

// MissingGit reports whether err, from running the program git, says that
// git itself could not be found (rather than that it ran and failed, or
// that the working directory is missing).
func MissingGit(err error, git string) bool {
	if errors.Is(err, exec.ErrNotFound) {
		return true
	}
	var pe *fs.PathError
	return errors.As(err, &pe) && pe.Path == git && errors.Is(pe.Err, fs.ErrNotExist)
}

// Get returns the value of key and whether it is set.
func (r *Reader) Get(ctx context.Context, key string) (string, bool, error) {
	return r.run(ctx, "--get", key)
}

// GetBool returns a boolean setting as git interprets it.
func (r *Reader) GetBool(ctx context.Context, key string) (value, set bool, err error) {
	v, ok, err := r.run(ctx, "--type=bool", "--get", key)
	if err != nil || !ok {
		return false, ok, err
	}
	return v == "true", true, nil
}

// GetURLMatch returns the value of section.key that applies to url, as git
// picks http.<url>.* settings.
func (r *Reader) GetURLMatch(ctx context.Context, key, url string) (string, bool, error) {
	return r.run(ctx, "--get-urlmatch", key, url)
}

// GetRegexp returns every (key, value) whose key matches the extended
// regular expression pattern, in git's order. Keys come as git prints
// them: section and name in lower case, the subsection as written.
func (r *Reader) GetRegexp(ctx context.Context, pattern string) ([][2]string, error) {
	out, ok, err := r.run(ctx, "-z", "--get-regexp", pattern)
	if err != nil || !ok {
		return nil, err
	}
	var entries [][2]string
	for _, entry := range strings.Split(out, "\x00") {
		if entry == "" {
			continue
		}
		key, value, _ := strings.Cut(entry, "\n")
		entries = append(entries, [2]string{key, value})
	}
	return entries, nil
}
