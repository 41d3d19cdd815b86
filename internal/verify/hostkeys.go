package verify

import (
	"context"
	"strings"

	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

// policy is verify's host-key policy for hosts known_hosts does not know:
// trust a key that matches the fingerprint Bitbucket publishes over a
// trusted channel, take AcceptNewHostKey, or ask a person (one question
// at a time: in-process and through ssh, and no passphrase prompt
// between, see keyring).
func (r *run) policy(ts []*target) *sshverify.HostKeyPolicy {
	var confirm func(ctx context.Context, u sshverify.UnknownHost) (bool, error)
	if r.d.Confirm != nil {
		confirm = func(ctx context.Context, u sshverify.UnknownHost) (bool, error) {
			r.keys.prompt.Lock()
			defer r.keys.prompt.Unlock()
			return r.d.Confirm(ctx, u)
		}
	}
	return &sshverify.HostKeyPolicy{
		AcceptNew: r.opts.AcceptNewHostKey,
		Confirm:   confirm,
		Published: func(ctx context.Context, host string, port int) (sshverify.Published, error) {
			base := r.baseFor(host, port, ts)
			if base == "" {
				return sshverify.Published{}, nil
			}
			fp, trusted, err := r.published(ctx, base, host)
			return sshverify.Published{Server: base, URL: base + "/rest/ssh/1.0/settings", Fingerprint: fp, Trusted: trusted}, err
		},
	}
}

// baseFor is the Bitbucket that serves the SSH host at host:port: the
// server an https remote of it was mapped through, else this run's
// Bitbucket (--server, bbkey.url, the default remote's https URL); ""
// when none is known or the host is a jump host.
func (r *run) baseFor(host string, port int, ts []*target) string {
	known := false
	for _, t := range ts {
		type addr struct {
			host string
			port int
		}
		addrs := []addr{{t.res.Host, t.res.Port}}
		if t.pushSettings != nil {
			addrs = append(addrs, addr{t.pushSettings.Hostname, t.pushSettings.Port})
		}
		for _, a := range addrs {
			if !strings.EqualFold(a.host, host) || a.port != port {
				continue
			}
			if t.base != "" {
				return t.base
			}
			known = true
		}
	}
	if !known {
		return ""
	}
	return r.server()
}

// published is the host key fingerprint base publishes for sshHost, and
// whether it came over a trusted channel.
func (r *run) published(ctx context.Context, base, sshHost string) (fp string, trusted bool, err error) {
	if r.d.Sessions == nil {
		return "", false, nil
	}
	s, err := r.d.Sessions.For(ctx, base)
	if err != nil {
		return "", false, err
	}
	r.progress(Step{Kind: StepBitbucket, Server: base})
	hk, err := s.PublishedHostKey(ctx, sshHost)
	return hk.Fingerprint, hk.Trusted, err
}
