package doctor

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/register"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

// target is the destination git names for a URL's host, port and user:
// no port when it is 22 (git passes no -p then, and ~/.ssh/config may set
// one).
func target(host string, port int, user string) openssh.Target {
	if port == 22 {
		port = 0
	}
	return openssh.Target{Host: host, Port: port, User: user}
}

// endpoints gathers each distinct destination once.
type endpoints struct {
	w        World
	srv      Server
	f        *Facts
	byTarget map[string]*Endpoint
	progress func(string)
}

func (eps *endpoints) get(ctx context.Context, t openssh.Target) *Endpoint {
	key := t.String()
	if e := eps.byTarget[key]; e != nil {
		return e
	}
	eps.progress("asking ssh how git reaches " + t.Host)
	e := &Endpoint{Target: t, OnServer: eps.f.onServer(t.Host)}
	eps.byTarget[key] = e
	s, err := eps.w.SSHSettings(ctx, t)
	if err != nil {
		e.Err = err
		return e
	}
	e.Settings = s
	e.Offered, e.HasOffered = s.OfferedIdentity()
	for _, id := range s.IdentityFiles {
		if e.SSHOffered == "" && isRegular(id.Path) {
			e.SSHOffered = id.Path
		}
		if !s.DefaultIdentity(id) && !isRegular(id.HomePath) {
			e.MissingIdentities = append(e.MissingIdentities, id)
		}
	}
	if v := s.Get("pubkeyacceptedalgorithms"); len(v) > 0 {
		e.PubkeyAlgorithms = strings.Split(v[0], ",")
	}
	// The files under $HOME, as git-bbkey reads and pins them; and when
	// OpenSSH's home is another, what the files it reads there say.
	var sshFiles []string
	for _, kf := range s.UserKnownHostsFiles {
		e.KnownHostsFiles = append(e.KnownHostsFiles, kf.HomePath)
		sshFiles = append(sshFiles, kf.Path)
	}
	e.KnownHostsFiles = append(e.KnownHostsFiles, s.GlobalKnownHostsFiles...)
	if kh, err := sshverify.LoadKnownHosts(e.KnownHostsFiles...); err != nil {
		e.KnownHostsErr = err
	} else {
		e.KnownHosts = kh.Known(e.HostRef())
	}
	if !slices.Equal(sshFiles, e.KnownHostsFiles[:len(sshFiles)]) {
		if kh, err := sshverify.LoadKnownHosts(append(sshFiles, s.GlobalKnownHostsFiles...)...); err == nil {
			known := kh.Known(e.HostRef())
			e.SSHKnownHosts = &known
		}
	}
	e.OnServer = e.OnServer || eps.f.onServer(s.Hostname)
	if e.OnServer && eps.srv != nil {
		e.Published, e.PublishedErr = eps.srv.PublishedHostKey(ctx, s.Hostname)
	}
	return e
}

func (eps *endpoints) anyOnServer() bool {
	for _, e := range eps.byTarget {
		if e.OnServer {
			return true
		}
	}
	return false
}

// onServer tells whether host is the server's SSH host or web host.
func (f *Facts) onServer(host string) bool {
	if host == "" {
		return false
	}
	if a := f.Server.Address.Host; a != "" && strings.EqualFold(a, host) {
		return true
	}
	u, err := url.Parse(f.Server.Base)
	return f.Server.Base != "" && err == nil && strings.EqualFold(u.Hostname(), host)
}

func gatherRemotes(ctx context.Context, w World, srv Server, eps *endpoints, f *Facts) {
	remotes, err := w.Remotes(ctx)
	if err != nil {
		f.RemotesErr = err
		return
	}
	for _, r := range remotes {
		rf := RemoteFacts{Name: r.Name, URL: r.FirstURL()}
		if rf.URL == "" {
			continue
		}
		u, err := gitremote.Parse(rf.URL)
		if err != nil {
			rf.ParseErr = err
			f.Remotes = append(f.Remotes, rf)
			continue
		}
		rf.Parsed = u
		base, project, slug, isRepo := u.BitbucketRepo()
		if isRepo {
			rf.Project, rf.Slug = project, slug
		}
		switch {
		case u.Scheme == "ssh":
			rf.Endpoint = eps.get(ctx, target(u.Host, u.Port, u.User))
			rf.Reach = f.reach(rf.Endpoint.OnServer, true)
		case !isRepo:
			rf.Reach = ReachNo
		default:
			rf.Reach = f.reach(f.onServer(hostOf(base)), false)
		}
		if srv != nil && rf.Reach == ReachYes && rf.Project != "" {
			eps.progress("waiting for Bitbucket")
			rf.Repo.Asked = true
			rf.Repo.Authenticated, rf.Repo.Err = srv.Repository(ctx, rf.Project, rf.Slug)
		}
		f.Remotes = append(f.Remotes, rf)
	}
}

// reach judges a host that is (on) or is not the server's. An SSH host
// that is not the server's web host may still be its SSH host when that
// address is not known (its settings could not be read).
func (f *Facts) reach(on, sshHost bool) Reach {
	switch {
	case f.Server.Base == "":
		return ReachUnknown
	case on:
		return ReachYes
	case sshHost && f.Server.Address.Host == "":
		return ReachUnknown
	}
	return ReachNo
}

func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// gatherRegistration asks the server which of the keys that matter (and of
// the agent's keys) are registered: as the user's keys, else as access
// keys of the remotes' repositories and projects.
func gatherRegistration(ctx context.Context, srv Server, f *Facts) {
	uses := f.keyUses()
	if srv == nil || !f.Server.Authenticated || len(uses) == 0 {
		return
	}
	var fps []string
	for _, u := range uses {
		if u.fingerprint() != "" {
			fps = append(fps, u.fingerprint())
		}
	}
	for _, k := range f.Agent.Keys {
		fps = append(fps, sshkeys.Fingerprint(k))
	}
	reg := &f.Registration
	reg.Asked = true
	reg.UserKeys, reg.Err = srv.Registered(ctx, fps)
	if reg.Err != nil {
		return
	}
	missing := map[string]bool{}
	for _, u := range uses {
		if fp := u.fingerprint(); fp != "" && !reg.UserKeys[fp] {
			missing[fp] = true
		}
	}
	if len(missing) == 0 {
		return
	}
	reg.Access = map[string][]bitbucket.AccessKey{}
	for _, scope := range f.scopes() {
		keys, err := srv.AccessKeys(ctx, scope)
		if err != nil {
			reg.Unlisted = append(reg.Unlisted, ScopeError{Scope: scope, Err: err})
			continue
		}
		for _, k := range keys {
			if fp := register.Fingerprint(k.Key); missing[fp] {
				reg.Access[fp] = append(reg.Access[fp], k)
			}
		}
	}
}

// scopes are the repositories of the remotes on the server, then their
// projects: where an access key for them would be.
func (f *Facts) scopes() []bitbucket.Scope {
	var repos, projects []bitbucket.Scope
	seen := map[bitbucket.Scope]bool{}
	for _, r := range f.Remotes {
		if r.Reach != ReachYes || r.Project == "" {
			continue
		}
		for _, s := range []bitbucket.Scope{{Project: r.Project, Slug: r.Slug}, {Project: r.Project}} {
			if !seen[s] {
				seen[s] = true
				if s.IsRepo() {
					repos = append(repos, s)
				} else {
					projects = append(projects, s)
				}
			}
		}
	}
	return append(repos, projects...)
}
