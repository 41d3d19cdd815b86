package verify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// Target is one target of Check, before any connection: a Bitbucket
// remote or the server's SSH address (setup.RemoteTarget, setup.HostTarget).
type Target struct {
	Remote string // "" for the server's address
	// URL is the SSH URL to check: an https remote's SSH clone URL.
	URL string
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

// Check verifies one target with a key the caller has opened (setup's
// new key, rotate's), as Run does: OpenSSH's settings for the host, the
// same host-key policy (pinning against t.Base), through the user's ssh
// where in-process cannot match. Key names its file. The error is an
// interrupt (ctx ended) or git's ssh command that cannot be read.
func Check(ctx context.Context, d Deps, t Target, key *sshkeys.Unlocked, o CheckOptions) (Result, error) {
	if key == nil || key.Signer == nil {
		return Result{}, errors.New("verify.Check needs an opened key")
	}
	ctx, cancel := context.WithCancel(ctx)
	r := newRun(ctx, &d, Options{Key: key.Path, Write: o.Write && !t.HostOnly, AcceptNewHostKey: o.AcceptNewHostKey, Timeout: o.Timeout})
	defer r.finish(cancel)
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
	r.goBg(func() { r.openSSH(ctx) })
	if err := r.check(ctx, []*target{tg}); err != nil {
		return tg.res, err
	}
	return tg.res, nil
}
