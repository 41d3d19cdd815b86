// Package credential asks git for Bitbucket credentials through
// `git credential fill`, and tells git's helpers whether they worked
// (`approve`, `reject`). Secrets travel only through the child's stdin and
// stdout, never its arguments, and this package stores nothing itself.
package credential

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"

	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
)

// Credential is a user name and a password or token.
type Credential struct {
	Username string
	Password string
}

// String and GoString never show the password, so a stray %v or %#v
// cannot leak it.
func (c Credential) String() string { return fmt.Sprintf("%s:<redacted>", c.Username) }
func (c Credential) GoString() string {
	return fmt.Sprintf("credential.Credential{Username: %q, Password: <redacted>}", c.Username)
}

// ErrNoCredential means git found no credential and could not (or was not
// allowed to) ask for one.
var ErrNoCredential = errors.New("git credential fill gave no password")

// Helper runs `git credential`.
type Helper struct {
	Git string   // path to git; "" means "git" from PATH
	Env []string // extra environment for git, after os.Environ()
	Dir string   // working directory, so that repository config applies
	// Interactive lets git prompt on the terminal. When false, git's
	// terminal prompt is turned off (GIT_TERMINAL_PROMPT=0) and so are
	// askpass programs, which would pop up a window nobody may be watching.
	Interactive bool
}

// Fill asks git for the credential of rawURL (https://host[/context]).
// A user name in the URL is passed on; a password in it is not.
func (h *Helper) Fill(ctx context.Context, rawURL string) (*Credential, error) {
	desc, err := describe(rawURL, nil)
	if err != nil {
		return nil, err
	}
	out, err := h.run(ctx, "fill", desc)
	if err != nil {
		return nil, err
	}
	var c Credential
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch key {
		case "username":
			c.Username = value
		case "password":
			c.Password = value
		}
	}
	if c.Password == "" {
		return nil, fmt.Errorf("no credential for %s: %w", redact(rawURL), ErrNoCredential)
	}
	return &c, nil
}

// Approve tells git's helpers that c worked for rawURL, so they may store it.
func (h *Helper) Approve(ctx context.Context, rawURL string, c *Credential) error {
	return h.report(ctx, "approve", rawURL, c)
}

// Reject tells git's helpers that c did not work, so they forget it.
func (h *Helper) Reject(ctx context.Context, rawURL string, c *Credential) error {
	return h.report(ctx, "reject", rawURL, c)
}

func (h *Helper) report(ctx context.Context, action, rawURL string, c *Credential) error {
	if c == nil {
		return fmt.Errorf("git credential %s: no credential given", action)
	}
	desc, err := describe(rawURL, c)
	if err != nil {
		return err
	}
	_, err = h.run(ctx, action, desc)
	return err
}

// describe writes git's credential description: protocol, host (with port),
// path, and for approve/reject the credential itself. Git applies
// credential.useHttpPath to decide whether the path matters.
func describe(rawURL string, c *Credential) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// The parse error would quote the URL, which might hold a password.
		return nil, errors.New("credential url does not parse as a url")
	}
	if u.Scheme == "" || u.Host == "" {
		// Not echoed: without a scheme we cannot tell what part is secret.
		return nil, errors.New("credential url must be absolute (https://host[/path])")
	}
	fields := [][2]string{
		{"protocol", u.Scheme},
		{"host", u.Host},
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		fields = append(fields, [2]string{"path", p})
	}
	switch {
	case c != nil:
		fields = append(fields, [2]string{"username", c.Username}, [2]string{"password", c.Password})
	case u.User != nil && u.User.Username() != "":
		fields = append(fields, [2]string{"username", u.User.Username()})
	}
	var b bytes.Buffer
	for _, f := range fields {
		// A newline or NUL would let a value inject other fields; git
		// refuses them too.
		if strings.ContainsAny(f[1], "\n\x00") {
			return nil, fmt.Errorf("credential %s for %s contains a newline or NUL", f[0], redact(rawURL))
		}
		fmt.Fprintf(&b, "%s=%s\n", f[0], f[1])
	}
	b.WriteString("\n")
	return b.Bytes(), nil
}

func (h *Helper) run(ctx context.Context, action string, stdin []byte) ([]byte, error) {
	git := h.Git
	if git == "" {
		git = "git"
	}
	cmd := exec.CommandContext(ctx, git, "credential", action)
	cmd.Dir = h.Dir
	cmd.Env = append(os.Environ(), h.Env...)
	if !h.Interactive {
		// An empty GIT_ASKPASS stops git from falling back to core.askPass
		// and SSH_ASKPASS; GCM_INTERACTIVE=never does the same for Git
		// Credential Manager's own dialogs.
		cmd.Env = append(cmd.Env, "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=", "GCM_INTERACTIVE=never")
	}
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if gitconfig.MissingGit(err, git) {
			return nil, fmt.Errorf("git credential %s: cannot run %q: %w", action, git, gitconfig.ErrGitNotFound)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("git credential %s: %w", action, ctx.Err())
		}
		if msg := lastLine(stderr.String()); msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		var exit *exec.ExitError
		if action == "fill" && errors.As(err, &exit) {
			// Without a helper and without a terminal, git fails rather
			// than prompting: for the caller that is "no credential".
			return nil, fmt.Errorf("git credential fill: %w (%w)", err, ErrNoCredential)
		}
		return nil, fmt.Errorf("git credential %s: %w", action, err)
	}
	return stdout.Bytes(), nil
}

// lastLine is git's final word on stderr ("fatal: could not read Username
// for …"), bounded in length; git never echoes a password there.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 300 {
		l = l[:300]
	}
	return l
}

func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}
