package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/openssh"
)

// NotBitbucketURLError: an http(s) URL that is not a Bitbucket repository
// URL, so there is no SSH clone URL to map it to.
type NotBitbucketURLError struct{ URL string }

func (e *NotBitbucketURLError) Error() string {
	return fmt.Sprintf("%s is not a Bitbucket repository URL (https://host[/context]/scm/PROJECT/REPO.git)", e.URL)
}

// PushURLError: the push URL of a target cannot be checked.
type PushURLError struct {
	Remote string // "" for a URL given as such (a pushInsteadOf rule)
	URL    string // the push URL (password hidden)
	Fetch  string // the fetch URL it belongs to
	Err    error
}

func (e *PushURLError) Error() string { return fmt.Sprintf("the push URL %s: %v", e.URL, e.Err) }
func (e *PushURLError) Unwrap() error { return e.Err }

// target is one name on its way to a verdict.
type target struct {
	res      Result
	done     bool           // decided before any connection
	url      *gitremote.URL // the SSH URL to check
	push     *gitremote.URL // with Write: the SSH push URL, when elsewhere
	base     string         // the Bitbucket base URL of an https remote
	hostOnly bool           // check the host, the key and whoami only

	settings, pushSettings *openssh.Settings
	key                    string // the private key checked
}

func (t *target) decide(st Status, err error) {
	t.done = true
	t.res.Status, t.res.Err = st, err
	if err != nil {
		t.res.Message = err.Error()
	}
}

// sshTarget is the destination git's ssh is given for an SSH URL: the
// port only when the URL names one (ssh's configuration decides otherwise).
func sshTarget(u *gitremote.URL) openssh.Target {
	t := openssh.Target{Host: u.Host, User: u.User}
	if u.PortGiven {
		t.Port = u.Port
	}
	return t
}

// parse reads n's URLs, mapping Bitbucket https URLs to their SSH clone
// URL. A URL that cannot be checked decides the target (bad-url); with
// All, an https URL that is no Bitbucket repository is skipped.
func (r *run) parse(ctx context.Context, n name) *target {
	t := &target{res: Result{Remote: n.remote, URL: gitremote.Redact(n.url)}}
	u, base, err := r.sshURL(ctx, n.url)
	var notBB *NotBitbucketURLError
	switch {
	case r.opts.All && errors.As(err, &notBB):
		t.done = true
		t.res.Status, t.res.Skip = StatusSkipped, &SkipReason{Host: hostOf(n.url)}
		return t
	case err != nil:
		t.decide(StatusBadURL, err)
		return t
	}
	t.url, t.base = u, base
	t.res.URL, t.res.SSHHost, t.res.SCPLike, t.res.PortGiven = u.String(), u.Host, u.SCPLike, u.PortGiven
	t.res.Host, t.res.Port = u.Host, u.Port
	if r.opts.Write && n.push != "" {
		pu, _, err := r.sshURL(ctx, n.push)
		if err != nil {
			t.decide(StatusBadURL, &PushURLError{Remote: n.remote, URL: gitremote.Redact(n.push), Fetch: t.res.URL, Err: err})
			return t
		}
		t.push = pu
		t.res.PushURL = pu.String()
	}
	return t
}

// sshURL parses raw; an https URL of a Bitbucket repository becomes its
// SSH clone URL (base is then the server's base URL).
func (r *run) sshURL(ctx context.Context, raw string) (u *gitremote.URL, base string, err error) {
	u, err = gitremote.Parse(raw)
	if err != nil {
		return nil, "", err
	}
	if u.Scheme == "ssh" {
		return u, "", nil
	}
	base, project, slug, ok := u.BitbucketRepo()
	if !ok || base == "" {
		return nil, "", &NotBitbucketURLError{URL: u.Raw}
	}
	if r.d.Sessions == nil {
		return nil, base, fmt.Errorf("%s: no Bitbucket session to map it to its SSH clone URL", u.Raw)
	}
	s, err := r.d.Sessions.For(ctx, base)
	if err != nil {
		return nil, base, err
	}
	r.progress(Step{Kind: StepBitbucket, Server: base})
	link, err := s.CloneURL(ctx, project, slug)
	if err != nil {
		return nil, base, err
	}
	if u, err = gitremote.Parse(link); err != nil {
		return nil, base, err
	}
	return u, base, nil
}

// hostOf is the host of a URL for a message, "" when it has none.
func hostOf(raw string) string {
	if u, err := gitremote.Parse(raw); err == nil {
		return u.Host
	}
	return ""
}

// thisBitbucket tells whether a target's host is this Bitbucket's (the
// host of its base URL, or of the SSH address it advertises); true when
// no Bitbucket is known, so that nothing is skipped then. When the SSH
// address cannot be read, only the base URL's host counts (addrErr says
// why).
func (r *run) thisBitbucket(ctx context.Context, t *target) (ok bool, base string, addrErr error) {
	base = r.server()
	if base == "" || t.base != "" {
		return true, base, nil
	}
	hosts := []string{t.url.Host}
	if t.settings != nil {
		hosts = append(hosts, t.settings.Hostname)
	}
	if bu, err := gitremote.Parse(base); err == nil && hasHost(hosts, bu.Host) {
		return true, base, nil
	}
	s, err := r.d.Sessions.For(ctx, base)
	if err != nil {
		return false, base, err
	}
	r.progress(Step{Kind: StepBitbucket, Server: base})
	addr, err := s.SSHAddress(ctx)
	if addr.Host == "" {
		return false, base, err
	}
	return hasHost(hosts, addr.Host), base, nil
}

func hasHost(hosts []string, h string) bool {
	for _, x := range hosts {
		if strings.EqualFold(strings.TrimSuffix(x, "."), strings.TrimSuffix(h, ".")) {
			return true
		}
	}
	return false
}
