package bbsession

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
)

// Settings are the server's SSH settings, read once per run (with the
// run's credentials when there are any, else anonymously).
func (s *Session) Settings(ctx context.Context) (*bitbucket.Settings, error) {
	s.settingsOnce.Do(func() {
		c, authed, err := s.Reader(ctx)
		if err != nil {
			s.settingsErr = err
			return
		}
		s.settingsAuth = authed
		s.settings, s.settingsErr = c.SSHSettings(ctx)
	})
	return s.settings, s.settingsErr
}

// SettingsWithCredentials reports whether Settings were read with
// credentials (false: anonymously, or not read yet).
func (s *Session) SettingsWithCredentials() bool { return s.settingsAuth }

// SSHAddress is where users reach the server's SSH: host, port and user.
type SSHAddress struct {
	Host string
	Port int
	User string // "git" unless the server says otherwise
}

// URL is the ssh:// URL of path on the address ("/proj/repo.git"), with
// the port left out when it is 22, as Bitbucket writes its clone links.
func (a SSHAddress) URL(path string) string {
	host := a.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if a.Port != 22 {
		host += ":" + strconv.Itoa(a.Port)
	}
	return "ssh://" + a.User + "@" + host + "/" + strings.TrimPrefix(path, "/")
}

// SSHAddress is the SSH address Bitbucket advertises to its users: the
// host and port of the settings' SSH base URL (port 22 when it names
// none, as its clone links then have none). Only when the settings give
// no base URL does it fall back to the base URL's host and settings.port,
// which is where Bitbucket itself listens and may sit behind a port
// forward; and to DefaultSSHPort when that is missing too.
//
// SSH switched off on the server is a *SSHDisabledError, returned with the
// address it would have (for a diagnosis; nothing should dial it).
func (s *Session) SSHAddress(ctx context.Context) (SSHAddress, error) {
	set, err := s.Settings(ctx)
	if err != nil {
		return SSHAddress{}, err
	}
	a, ok := parseSSHBase(set.BaseURL)
	if !ok {
		bu, err := url.Parse(s.base)
		if err != nil {
			return SSHAddress{}, err
		}
		a = SSHAddress{Host: bu.Hostname(), Port: set.Port, User: "git"}
		if a.Port <= 0 || a.Port > 65535 {
			a.Port = DefaultSSHPort
		}
	}
	if !set.Enabled {
		return a, &SSHDisabledError{Base: s.base}
	}
	return a, nil
}

// parseSSHBase reads an SSH base URL, "ssh://[user@]host[:port][/]"; a
// value without a scheme is taken as if it had ssh://.
func parseSSHBase(raw string) (SSHAddress, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return SSHAddress{}, false
	}
	if !strings.Contains(raw, "://") {
		raw = "ssh://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "ssh" || u.Hostname() == "" || strings.ContainsAny(u.Hostname(), " \t\r\n") {
		return SSHAddress{}, false
	}
	a := SSHAddress{Host: u.Hostname(), Port: 22, User: "git"}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return SSHAddress{}, false
		}
		a.Port = n
	}
	if u.User != nil && u.User.Username() != "" {
		a.User = u.User.Username()
	}
	return a, true
}

// HostKey is the SSH host key fingerprint a server publishes.
type HostKey struct {
	Fingerprint string // "SHA256:<unpadded base64>"; "" when none was read
	// Trusted: it came over a trusted channel (TrustedChannel) and is
	// published for the SSH host asked about.
	Trusted bool
}

// PublishedHostKey is the fingerprint the server publishes for sshHost in
// its SSH settings. Over a channel that is not trusted nothing is read
// (Trusted false, no error): such a fingerprint proves nothing.
func (s *Session) PublishedHostKey(ctx context.Context, sshHost string) (HostKey, error) {
	if !s.TrustedChannel() {
		return HostKey{}, nil
	}
	set, err := s.Settings(ctx)
	if err != nil {
		return HostKey{}, err
	}
	hk := HostKey{Fingerprint: set.Fingerprint}
	if !strings.HasPrefix(hk.Fingerprint, "SHA256:") {
		return HostKey{}, nil
	}
	ours := false
	if bu, err := url.Parse(s.base); err == nil && strings.EqualFold(bu.Hostname(), sshHost) {
		ours = true
	}
	if a, ok := parseSSHBase(set.BaseURL); ok && strings.EqualFold(a.Host, sshHost) {
		ours = true
	}
	hk.Trusted = ours
	return hk, nil
}

// CloneURL is the SSH clone URL of a repository: the clone link named
// "ssh" that the server gives for it, else one built from SSHAddress as
// Bitbucket builds its links (project key in lower case). A link that is
// not an ssh:// URL is refused (*CloneLinkError), never used.
func (s *Session) CloneURL(ctx context.Context, project, slug string) (string, error) {
	c, _, err := s.Reader(ctx)
	if err != nil {
		return "", err
	}
	repo, repoErr := c.Repository(ctx, project, slug)
	if repoErr == nil && repo.CloneLinks["ssh"] != "" {
		link := repo.CloneLinks["ssh"]
		if u, err := gitremote.Parse(link); err != nil || u.Scheme != "ssh" || u.SCPLike || !strings.HasPrefix(link, "ssh://") {
			return "", &CloneLinkError{Project: project, Slug: slug, Link: link}
		}
		return link, nil
	}
	addr, err := s.SSHAddress(ctx)
	if err != nil {
		var disabled *SSHDisabledError
		if errors.As(err, &disabled) {
			return "", err
		}
		if repoErr != nil {
			err = repoErr
		}
		return "", &CloneURLError{Base: s.base, Project: project, Slug: slug, Err: err}
	}
	return addr.URL(strings.ToLower(project) + "/" + slug + ".git"), nil
}
