package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// Target is one target of Check, before any connection: a Bitbucket
// remote (RemoteTarget) or the server's SSH address (HostTarget).
type Target struct {
	Remote string // "" for the server's address
	// URL is the SSH URL to check: an https remote's SSH clone URL.
	URL string
	// Given is the remote's URL as git uses it (https for a remote that
	// is not switched to SSH yet); nil for the server's address.
	Given *gitremote.URL
	// Base is the Bitbucket base URL the target belongs to: an unknown
	// host key is checked against the fingerprint it publishes.
	Base string
	// HostOnly checks the host key, the key and whoami, no repository.
	HostOnly bool
}

// CheckOptions are Check's choices.
type CheckOptions struct {
	AcceptNewHostKey bool
	Write            bool
	Timeout          time.Duration
}

// RemoteTarget is the remote called name when it points at a Bitbucket
// repository, with an https URL mapped to its SSH clone URL through
// Bitbucket's session (base is the server to pin host keys against when
// the remote does not name one). nil, nil when there is no such remote
// (or no repository); an error when the mapping failed.
func (d *Deps) RemoteTarget(ctx context.Context, name, base string) (*Target, error) {
	r, err := d.Repo.Remote(ctx, name)
	if err != nil {
		return nil, nil
	}
	u, err := gitremote.Parse(r.FirstURL())
	if err != nil {
		return nil, nil
	}
	if _, _, _, ok := u.BitbucketRepo(); !ok {
		return nil, nil
	}
	t := &Target{Remote: name, URL: u.String(), Given: u}
	if u.Scheme != "ssh" {
		su, b, err := d.SSHURL(ctx, r.FirstURL())
		if err != nil {
			return nil, err
		}
		t.URL, t.Base = su.String(), b
	}
	if t.Base == "" {
		t.Base = base
	}
	return t, nil
}

// HostTarget is the SSH address s advertises, to check the host key and
// the key where there is no repository to verify.
func HostTarget(ctx context.Context, s *bbsession.Session) (*Target, error) {
	addr, err := s.SSHAddress(ctx)
	if err != nil {
		return nil, err
	}
	return &Target{URL: addr.URL("/"), Base: s.Base(), HostOnly: true}, nil
}

// Check verifies one target with a key the caller has opened (setup's
// new key, rotate's), as Run does: OpenSSH's settings for the host, the
// same host-key policy (pinning against t.Base), through the user's ssh
// where in-process cannot match. Key names its file. The error is an
// interrupt (ctx ended) or git's ssh command that cannot be read.
func Check(ctx context.Context, d Deps, t Target, key *sshkeys.Unlocked, o CheckOptions) (Result, error) {
	if key == nil || key.Signer == nil {
		return Result{}, errors.New("verify.Check needs an opened key")
	}
	r := newRun(ctx, &d, Options{Key: key.Path, Write: o.Write && !t.HostOnly, AcceptNewHostKey: o.AcceptNewHostKey, Timeout: o.Timeout})
	r.keys.add(key.Path, key)
	r.server = func() string { return t.Base }
	tg := &target{res: Result{Remote: t.Remote, URL: t.URL}, base: t.Base, hostOnly: t.HostOnly}
	u, err := gitremote.Parse(t.URL)
	switch {
	case err != nil:
		tg.decide(StatusBadURL, err)
	case u.Scheme != "ssh":
		tg.decide(StatusBadURL, fmt.Errorf("%s is not an SSH URL", u.Raw))
	default:
		tg.url = u
		tg.res.URL, tg.res.SSHHost, tg.res.SCPLike, tg.res.PortGiven = u.String(), u.Host, u.SCPLike, u.PortGiven
		tg.res.Host, tg.res.Port = u.Host, u.Port
	}
	go r.openSSH(ctx)
	if err := r.check(ctx, []*target{tg}); err != nil {
		return tg.res, err
	}
	return tg.res, nil
}

// SSHURL is the SSH URL git's ssh is given for raw: raw itself when it
// is one, else the SSH clone URL of a Bitbucket https URL (base is then
// that server's base URL). A <transport>:: URL is a
// *gitremote.TransportError; an https URL that is no Bitbucket repository
// a *NotBitbucketURLError.
func (d *Deps) SSHURL(ctx context.Context, raw string) (u *gitremote.URL, base string, err error) {
	return newRun(ctx, d, Options{}).sshURL(ctx, raw)
}
