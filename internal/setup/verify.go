package setup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

// Verify proves over SSH that key works against t: the host key checked
// (and pinned when it can be trusted), Bitbucket's whoami, and for a
// repository the ref advertisement. It is the caller's verify workflow;
// setup and rotate only read its Outcome. An error means the check itself
// could not run to its end (an interrupt), not that the key failed: that
// is an Outcome whose Status is not ok.
type Verify func(ctx context.Context, t Target, key *sshkeys.Unlocked) (Outcome, error)

// Target is what setup and rotate verify: a repository over SSH, or, with
// HostOnly, the server's SSH address alone (to pin its host key and run
// whoami when there is no repository to try).
type Target struct {
	Remote   string // the remote's name; "" for a URL or the host alone
	URL      string // ssh://user@host:port/proj/repo.git (HostOnly: ssh://user@host:port/)
	Host     string
	Port     int
	User     string // "git" unless the URL names another
	Path     string // the repository path as git sends it; "" with HostOnly
	SCPLike  bool   // the remote is written host:path (which cannot name a port)
	HostOnly bool
	// Server is the Bitbucket base URL, whose published host-key
	// fingerprint may pin an unknown host key.
	Server string
}

// Outcome is the verdict of a Verify.
type Outcome struct {
	Status  sshverify.Status // ok, key-rejected, host-unknown, host-mismatch, ...
	Message string           // for people; it may quote the server (escape it)
	User    string           // whoami; "" when not reached
	Refs    int              // refs advertised; 0 with HostOnly
	Pinned  bool             // the host key was added to known_hosts in this run
	Elapsed time.Duration
	// Report is the verify workflow's own result, carried untouched for
	// the caller to render (JSON, hints); setup and rotate never read it.
	Report any
}

// OK tells whether the key was proven to work.
func (o Outcome) OK() bool { return o.Status == sshverify.StatusOK }

// HostTarget is the server's SSH address, for a check without repository.
func HostTarget(ctx context.Context, s *bbsession.Session) (Target, error) {
	addr, err := s.SSHAddress(ctx)
	if err != nil {
		return Target{}, err
	}
	user := addr.User
	if user == "" {
		user = "git"
	}
	return Target{URL: fmt.Sprintf("ssh://%s@%s:%d/", user, hostInURL(addr.Host), addr.Port), Host: addr.Host, Port: addr.Port,
		User: user, HostOnly: true, Server: s.Base()}, nil
}

func hostInURL(host string) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]"
	}
	return host
}

// RemoteTarget is a remote that points at a Bitbucket repository, as an
// SSH target: an ssh remote as it is, an https one mapped to its SSH clone
// URL. Written is the remote's first URL as written in the config (what a
// rollback restores); FetchURL the one git uses (insteadOf applied).
type RemoteTarget struct {
	Target
	Written  string
	FetchURL string
	Shown    string // FetchURL without any password, for people
	HTTPS    bool   // the remote is an https URL (--fix-remote switches it)
}

// FindRemote finds the remote called name when it points at a Bitbucket
// repository; nil (and no error) when there is no repository, no such
// remote, or the remote is not a Bitbucket repository URL. server is the
// base URL that setup talks to (for the host-key fingerprint of an ssh
// remote). Nothing is changed.
func FindRemote(ctx context.Context, sessions *bbsession.Sessions, repo *gitremote.Repo, name, server string) (*RemoteTarget, error) {
	if repo == nil {
		return nil, nil
	}
	r, err := repo.Remote(ctx, name)
	if errors.Is(err, gitremote.ErrRemoteNotFound) || errors.Is(err, gitremote.ErrNotRepository) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	fetch := r.FirstURL()
	u, err := gitremote.Parse(fetch)
	if err != nil {
		return nil, nil // not ssh or https (a path, ext::, ...): not Bitbucket's
	}
	base, project, slug, ok := u.BitbucketRepo()
	if !ok {
		return nil, nil
	}
	rt := &RemoteTarget{Written: fetch, FetchURL: fetch, Shown: u.Raw, HTTPS: u.Scheme != "ssh"}
	if len(r.Written) > 0 {
		rt.Written = r.Written[0]
	}
	if rt.HTTPS {
		s, err := sessions.For(ctx, base)
		if err != nil {
			return nil, err
		}
		link, err := s.CloneURL(ctx, project, slug)
		if err != nil {
			return nil, err
		}
		if u, err = SSHCloneURL(link); err != nil {
			return nil, err
		}
		server = base
	}
	rt.Target = Target{Remote: name, URL: u.String(), Host: u.Host, Port: u.Port, User: u.User, Path: u.Path,
		SCPLike: u.SCPLike, Server: server}
	if rt.User == "" {
		rt.User = "git"
	}
	return rt, nil
}

// SSHCloneURL checks an SSH clone link from Bitbucket before anything uses
// it: only an ssh:// URL with a host that cannot be taken for an option,
// and nothing git or a shell could read as more than one word, is ever
// dialled or written into a remote (an ext:: link would run a command).
func SSHCloneURL(link string) (*gitremote.URL, error) {
	if !strings.HasPrefix(strings.ToLower(link), "ssh://") || strings.IndexFunc(link, unsafeInURL) >= 0 {
		return nil, &UnsafeURLError{URL: link}
	}
	u, err := gitremote.Parse(link)
	if err != nil || u.Scheme != "ssh" || u.SCPLike || u.Host == "" || strings.HasPrefix(u.Host, "-") ||
		strings.HasPrefix(u.User, "-") {
		return nil, &UnsafeURLError{URL: link}
	}
	return u, nil
}

func unsafeInURL(r rune) bool {
	return r <= ' ' || r == 0x7f || r == '\\' || r == '"' || r == '\'' || r == '`'
}
