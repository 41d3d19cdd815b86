package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/git-bbkey/git-bbkey/internal/gitremote"
)

// ErrNoRemotes: --all in a repository without remotes.
var ErrNoRemotes = errors.New("this repository has no remotes")

// NoRemoteError: the default remote (bbkey.remote, else origin) does not
// exist.
type NoRemoteError struct{ Name string }

func (e *NoRemoteError) Error() string {
	return fmt.Sprintf("this repository has no remote %q", e.Name)
}

// UnknownNameError: a name that is neither a remote of this repository
// nor a URL (a usage error).
type UnknownNameError struct{ Name string }

func (e *UnknownNameError) Error() string {
	return fmt.Sprintf("%q is neither a remote of this repository nor a URL", e.Name)
}

// NotRepositoryError: a remote was asked for outside a repository.
type NotRepositoryError struct{ Err error }

func (e *NotRepositoryError) Error() string {
	return "not inside a git repository, and no remote or URL was given"
}

func (e *NotRepositoryError) Unwrap() error { return e.Err }

// name is one thing to verify: a remote ("" for a URL given as such), the
// URL git fetches from, and where git pushes when that is elsewhere.
type name struct{ remote, url, push string }

func remoteName(r *gitremote.Remote) name {
	n := name{remote: r.Name, url: r.FirstURL()}
	if len(r.PushURLs) > 0 && r.PushURLs[0] != n.url {
		n.push = r.PushURLs[0]
	}
	return n
}

// names lists what to verify, with git's URL rules applied.
func (d *Deps) names(ctx context.Context, opts Options) ([]name, error) {
	if opts.All {
		remotes, err := d.Repo.Remotes(ctx)
		if err != nil {
			return nil, repoError(err)
		}
		var out []name
		for i := range remotes {
			if len(remotes[i].URLs) > 0 {
				out = append(out, remoteName(&remotes[i]))
			}
		}
		if len(out) == 0 {
			return nil, ErrNoRemotes
		}
		return out, nil
	}
	if len(opts.Names) == 0 {
		def := opts.DefaultRemote
		if def == "" {
			def = "origin"
		}
		r, err := d.Repo.Remote(ctx, def)
		if errors.Is(err, gitremote.ErrRemoteNotFound) {
			return nil, &NoRemoteError{Name: def}
		}
		if err != nil {
			return nil, repoError(err)
		}
		return []name{remoteName(r)}, nil
	}
	var out []name
	for _, n := range opts.Names {
		if !strings.ContainsAny(n, ":/\\@") {
			r, err := d.Repo.Remote(ctx, n)
			switch {
			case err == nil:
				out = append(out, remoteName(r))
				continue
			case errors.Is(err, gitremote.ErrRemoteNotFound), errors.Is(err, gitremote.ErrNotRepository):
				return nil, &UnknownNameError{Name: n}
			default:
				return nil, err // git config failed: its message says where
			}
		}
		rules, err := d.Repo.Rules(ctx)
		if err != nil {
			return nil, err
		}
		nm := name{url: rules.FetchURL(n)}
		if push := rules.PushURL(n); push != nm.url {
			nm.push = push
		}
		out = append(out, nm)
	}
	return out, nil
}

func repoError(err error) error {
	if errors.Is(err, gitremote.ErrNotRepository) {
		return &NotRepositoryError{Err: err}
	}
	return err
}
