package setup

import (
	"bytes"
	"context"
	"net/url"
	"os/exec"
	"strings"

	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
)

// GitWriter changes the repository's settings: the only writes setup
// makes outside ~/.ssh.
type GitWriter interface {
	// SetRemoteURL sets the first URL of the remote name.
	SetRemoteURL(ctx context.Context, name, url string) error
	// SetConfig sets key to value in the repository's own config.
	SetConfig(ctx context.Context, key, value string) error
}

// Git is a GitWriter that runs the git binary in Dir. Options and
// operands are always separated by "--", so that no remote name or value
// (a remote called "-evil", say) is ever read as an option.
type Git struct {
	Path string   // the git binary; "" means "git" from PATH
	Dir  string   // the working directory (the repository)
	Env  []string // the whole environment; nil inherits
}

func (g Git) SetRemoteURL(ctx context.Context, name, url string) error {
	return g.run(ctx, "remote", "set-url", "--", name, url)
}

func (g Git) SetConfig(ctx context.Context, key, value string) error {
	return g.run(ctx, "config", "--local", "--", key, value)
}

func (g Git) run(ctx context.Context, args ...string) error {
	path := g.Path
	if path == "" {
		path = "git"
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir, cmd.Env = g.Dir, g.Env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if gitconfig.MissingGit(err, path) {
			return gitconfig.ErrGitNotFound
		}
		shown := make([]string, len(args))
		for i, a := range args {
			shown[i] = redact(a)
		}
		return &GitError{Args: shown, Output: redactAll(strings.TrimSpace(out.String()), args), Err: err}
	}
	return nil
}

// redact hides a password written into a URL (https://user:pw@host/...).
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			return u.Redacted()
		}
	}
	return s
}

// redactAll hides in text the passwords of the URLs among args.
func redactAll(text string, args []string) string {
	for _, a := range args {
		if r := redact(a); r != a {
			if u, err := url.Parse(a); err == nil {
				pw, _ := u.User.Password()
				text = strings.ReplaceAll(text, pw, "xxxxx")
			}
		}
	}
	return text
}

// gitWords is a git command line for a message, without the "--".
func gitWords(args []string) string {
	var words []string
	for _, a := range args {
		if a != "--" {
			words = append(words, a)
		}
	}
	return strings.Join(words, " ")
}
