package doctor

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/openssh"
)

func checkRemotes(f *Facts) []Check {
	one := func(k Kind, st Status, msg string) []Check {
		return []Check{{Name: "remote", Kind: k, Status: st, Message: msg}}
	}
	switch {
	case errors.Is(f.RemotesErr, gitremote.ErrNotRepository):
		return one(RemoteNotRepository, Skip, "not inside a git repository")
	case f.RemotesErr != nil:
		return []Check{{Name: "remote", Kind: RemoteUnreadable, Status: Warn, Message: fmt.Sprintf("cannot read the remotes: %v", f.RemotesErr), Cause: f.RemotesErr}}
	case len(f.Remotes) == 0:
		return one(RemoteNone, Skip, "this repository has no remotes")
	}
	var out []Check
	seen := map[*Endpoint]bool{}
	for _, r := range f.Remotes {
		out = append(out, checkRemote(f, r))
		if e := r.Endpoint; e != nil && r.Reach == ReachYes && !seen[e] {
			seen[e] = true
			out = append(out, checkRemoteKey(f, e)...)
		}
		out = append(out, checkRepo(f, r)...)
	}
	return out
}

func checkRemote(f *Facts, r RemoteFacts) Check {
	c := Check{Name: "remote"}
	set := func(k Kind, st Status, msg, fix string) Check {
		c.Kind, c.Status, c.Message, c.Fix = k, st, msg, fix
		return c
	}
	if r.ParseErr != nil {
		if errors.Is(r.ParseErr, gitremote.ErrNotSSHOrHTTPS) {
			return set(RemoteBadURL, Skip, fmt.Sprintf("%s: %s is not an ssh or https URL", r.Name, r.URL), "")
		}
		return set(RemoteBadURL, Warn, fmt.Sprintf("%s: %v", r.Name, r.ParseErr), "")
	}
	u := r.Parsed
	if u.Scheme != "ssh" {
		if r.Reach == ReachNo {
			return set(RemoteNotBitbucket, Skip, fmt.Sprintf("%s: %s is not a Bitbucket repository URL of %s", r.Name, u.Raw, orUnknown(f.Server.Base)), "")
		}
		return set(RemoteHTTPS, Warn, fmt.Sprintf("%s uses https (%s): SSH keys are not used for it", r.Name, u.Raw),
			fmt.Sprintf("switch it to SSH: git bbkey setup --fix-remote --remote %s", r.Name))
	}
	e := r.Endpoint
	if r.Reach == ReachNo {
		return set(RemoteNotBitbucket, Skip, fmt.Sprintf("%s: %s is not the Bitbucket SSH host %s", r.Name, u.Host, orUnknown(f.Server.Address.Host)), "")
	}
	form := ""
	if u.SCPLike {
		form = "the scp-like "
	}
	var refused *openssh.SSHError
	switch {
	case r.Reach == ReachUnknown:
		return set(RemoteUnknownHost, Skip, fmt.Sprintf("%s uses %s%s: %s; whether %s is Bitbucket's SSH host is not known (%s)",
			r.Name, form, u.Raw, f.routeOrErr(e), u.Host, unknownWhy(f)), serverFixIf(f))
	case errors.As(e.Err, &refused):
		return set(RemoteSettingsFailed, Skip, fmt.Sprintf("%s uses %s%s: ssh refuses its configuration (see ssh-config)", r.Name, form, u.Raw), "")
	case e.Err != nil:
		c.Cause = e.Err
		return set(RemoteSettingsFailed, Fail, fmt.Sprintf("%s uses %s%s: cannot tell how git's ssh reaches it: %v", r.Name, form, u.Raw, e.Err), "")
	}
	s := e.Settings
	summary := fmt.Sprintf("%s uses %s%s: %s", r.Name, form, u.Raw, f.route(e))
	want := 0
	if a := f.Server.Address; a.Host != "" && e.OnServer {
		want = a.Port
	}
	user := u.User
	if user == "" {
		user = "git"
	}
	fixURL := func(port int) string {
		return fmt.Sprintf("git remote set-url %s ssh://%s@%s/%s", r.Name, user, net.JoinHostPort(u.Host, strconv.Itoa(port)), strings.TrimPrefix(u.Path, "/"))
	}
	switch {
	case want != 0 && s.Port == want, want == 0 && !(u.SCPLike && s.Port == 22):
		if want == 0 {
			summary += " (the server's SSH port is not known)"
		}
		return set(RemoteOK, OK, summary, "")
	case want == 0:
		return set(RemotePort22, Warn, fmt.Sprintf("%s uses the scp-like %s, which means port 22; Bitbucket Server listens on %d unless an admin changed it",
			r.Name, u.Raw, bbsession.DefaultSSHPort), fixURL(bbsession.DefaultSSHPort))
	case e.Target.Port != 0:
		return set(RemoteWrongPort, Fail, fmt.Sprintf("%s uses port %d (%s); Bitbucket listens for SSH on %d", r.Name, s.Port, u.Raw, want), fixURL(want))
	case s.Port != 22:
		return set(RemoteWrongPort, Fail, fmt.Sprintf("%s uses %s%s, which names no port, and ssh's settings for %s say port %d (~/.ssh/config); Bitbucket listens for SSH on %d",
			r.Name, form, u.Raw, u.Host, s.Port, want),
			fmt.Sprintf("set 'Port %d' in the Host block for %s in ~/.ssh/config, or name the port in the URL: %s", want, u.Host, fixURL(want)))
	case u.SCPLike:
		return set(RemoteWrongPort, Fail, fmt.Sprintf("%s uses the scp-like %s, which means port 22; Bitbucket listens on %d", r.Name, u.Raw, want), fixURL(want))
	}
	return set(RemoteWrongPort, Fail, fmt.Sprintf("%s uses %s, which names no port, so port 22; Bitbucket listens on %d", r.Name, u.Raw, want), fixURL(want))
}

func orUnknown(s string) string {
	if s == "" {
		return "(not known)"
	}
	return s
}

// route says how git's ssh reaches an endpoint: where it connects, through
// what, with which key, and where it looks the host key up.
func (f *Facts) route(e *Endpoint) string {
	s := e.Settings
	msg := fmt.Sprintf("ssh connects to %s@%s port %d", s.User, s.Hostname, s.Port)
	switch {
	case s.ProxyJump != "":
		msg += " through the jump host " + s.ProxyJump
	case s.ProxyCommand != "":
		msg += " through the ProxyCommand " + s.ProxyCommand
	}
	if e.HasOffered {
		msg += ", offers " + f.tilde(e.Offered.HomePath)
	} else {
		msg += ", offers no key file"
	}
	if !s.IdentitiesOnly && s.IdentityAgent != "none" && len(f.Agent.Keys) > 0 {
		msg += " (after the ssh-agent's " + plural(len(f.Agent.Keys), "key", "keys") + ")"
	}
	var files []string
	for _, kf := range s.UserKnownHostsFiles {
		if s.Approximated {
			files = append(files, kf.HomePath) // no OpenSSH here to read its own home
		} else {
			files = append(files, kf.Path)
		}
	}
	msg += ", reads host keys"
	if s.HostKeyAlias != "" {
		msg += " for " + s.HostKeyAlias
	}
	return msg + " from " + f.tildes(files)
}

// checkRemoteKey flags where the key git's ssh offers for an endpoint and
// the key git-bbkey uses disagree, and an endpoint with no key at all.
func checkRemoteKey(f *Facts, e *Endpoint) []Check {
	if e.Settings == nil {
		return nil
	}
	one := func(k Kind, st Status, msg, fix string) []Check {
		return []Check{{Name: "remote-key", Kind: k, Status: st, Message: msg, Fix: fix}}
	}
	s, label := e.Settings, f.label(e)
	if !e.HasOffered {
		var tried []string
		for _, id := range s.IdentityFiles {
			tried = append(tried, f.tilde(id.HomePath))
		}
		msg := fmt.Sprintf("for %s, git's ssh finds none of its identity files (%s)", label, strings.Join(tried, ", "))
		if !s.IdentitiesOnly && s.IdentityAgent != "none" && len(f.Agent.Keys) > 0 {
			return one(RemoteNoIdentity, Warn, msg+": it offers only the ssh-agent's keys", "git bbkey setup, or name your key with IdentityFile in ~/.ssh/config")
		}
		return one(RemoteNoIdentity, Fail, msg+": it has no key to offer", "git bbkey setup (creates ~/.ssh/id_ed25519, which ssh tries by default), or name your key with IdentityFile in ~/.ssh/config")
	}
	offered := e.Offered.HomePath
	switch k := f.Key; {
	case k.Path == "" || k.Path == offered:
		return nil
	case k.Configured:
		return one(RemoteKeyDiffers, Warn, fmt.Sprintf("for %s, git's ssh offers %s, but bbkey.keyFile is %s: git bbkey verify checks a key git does not use",
			label, f.tilde(offered), f.tilde(k.Path)),
			fmt.Sprintf("git config --global bbkey.keyFile %s, or have ssh offer your key (IdentityFile in ~/.ssh/config)", f.shell(offered)))
	default:
		return one(RemoteKeyDiffers, Warn, fmt.Sprintf("for %s, git's ssh offers %s, but git bbkey add and setup use %s", label, f.tilde(offered), f.tilde(k.Path)),
			fmt.Sprintf("git config --global bbkey.keyFile %s", f.shell(offered)))
	}
}

func checkRepo(f *Facts, r RemoteFacts) []Check {
	if r.Reach != ReachYes || r.Project == "" || !r.Repo.Asked {
		return nil
	}
	one := func(k Kind, st Status, msg, fix string, cause error) []Check {
		return []Check{{Name: "repo", Kind: k, Status: st, Message: msg, Fix: fix, Cause: cause}}
	}
	repo, base := r.Project+"/"+r.Slug, f.Server.Base
	err := r.Repo.Err
	var be *bitbucket.Error
	denied := errors.As(err, &be) && (be.Kind == bitbucket.KindUnauthorized || be.Kind == bitbucket.KindForbidden)
	switch {
	case err == nil:
		return one(RepoExists, OK, fmt.Sprintf("%s: %s exists on %s", r.Name, repo, base), "", nil)
	case errors.As(err, &be) && be.Kind == bitbucket.KindNotFound:
		return one(RepoMissing, Fail, fmt.Sprintf("%s: %s has no repository %s (%s)", r.Name, base, repo, strings.Join(be.Messages, "; ")),
			fmt.Sprintf("check the remote's URL (Bitbucket's Clone dialog shows it), then: git remote set-url %s ssh://git@HOST:PORT/%s.git", r.Name, strings.ToLower(repo)), nil)
	case denied && !r.Repo.Authenticated:
		return one(RepoUnknown, Skip, fmt.Sprintf("%s: %s shows %s only to a signed-in user, and there are no credentials", r.Name, base, repo),
			"set BITBUCKET_TOKEN to an HTTP access token, or store your password with git credential approve", nil)
	case denied && f.accessKeyOn(r):
		return one(RepoExists, OK, fmt.Sprintf("%s: %s is readable with the access key git's ssh offers (your user may not read it)", r.Name, repo), "", nil)
	case denied:
		return one(RepoDenied, Fail, fmt.Sprintf("%s: your Bitbucket user may not read %s on %s (or it does not exist)", r.Name, repo, base),
			"ask an admin of the project for read access, or check the remote's URL", nil)
	}
	return one(RepoUnknown, Warn, fmt.Sprintf("%s: cannot tell whether %s exists on %s: %v", r.Name, repo, base, err), "", err)
}

// accessKeyOn tells whether the key git's ssh offers for r is an access
// key of r's repository or project.
func (f *Facts) accessKeyOn(r RemoteFacts) bool {
	e := r.Endpoint
	if e == nil || !e.HasOffered {
		return false
	}
	k := f.keyAt(e.Offered.HomePath)
	if k == nil {
		return false
	}
	for _, g := range f.Registration.Access[k.Fingerprint] {
		if g.Repository != nil && strings.EqualFold(g.Repository.Project.Key, r.Project) && strings.EqualFold(g.Repository.Slug, r.Slug) ||
			g.Project != nil && g.Repository == nil && strings.EqualFold(g.Project.Key, r.Project) {
			return true
		}
	}
	return false
}

// routeOrErr is route, or why it is not known.
func (f *Facts) routeOrErr(e *Endpoint) string {
	if e.Settings == nil {
		return fmt.Sprintf("how git's ssh reaches it is not known (%v)", e.Err)
	}
	return f.route(e)
}

func unknownWhy(f *Facts) string {
	if f.Server.Base == "" {
		return "no Bitbucket server URL"
	}
	return "the SSH settings of " + f.Server.Base + " could not be read"
}
