package doctor

import (
	"errors"
	"fmt"
	"strings"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// keyUse is a key that must be registered for git, or git-bbkey, to get
// in: the key git's ssh offers for a remote on the server (or for the
// server's SSH address), and bbkey.keyFile (or, with no remote, the key
// git-bbkey uses).
type keyUse struct {
	path      string
	key       *KeyFacts   // nil when the file could not be read as a key
	by        []string    // where git's ssh offers it (labels)
	endpoints []*Endpoint // those endpoints
	bbkey     bool        // git-bbkey uses it
}

func (u keyUse) fingerprint() string {
	if u.key == nil {
		return ""
	}
	return u.key.Fingerprint
}

func (f *Facts) keyUses() []keyUse {
	var out []keyUse
	use := func(path string) *keyUse {
		for i := range out {
			if out[i].path == path {
				return &out[i]
			}
		}
		out = append(out, keyUse{path: path, key: f.keyAt(path)})
		return &out[len(out)-1]
	}
	onServer := 0
	for _, e := range f.endpoints() {
		if !e.OnServer || e.Settings == nil {
			continue
		}
		onServer++
		if e.HasOffered {
			u := use(e.Offered.HomePath)
			u.by = append(u.by, f.label(e))
			u.endpoints = append(u.endpoints, e)
		}
	}
	if f.Key.Path != "" && !f.KeyMissing && (f.Key.Configured || onServer == 0) {
		use(f.Key.Path).bbkey = true
	}
	return out
}

// named is a key's path and fingerprint.
func (f *Facts) named(u keyUse) string {
	if fp := u.fingerprint(); fp != "" {
		return f.tilde(u.path) + " (" + fp + ")"
	}
	return f.tilde(u.path)
}

// users says who uses a key, after a semicolon.
func (u keyUse) users() string {
	var who []string
	if len(u.by) > 0 {
		who = append(who, "git's ssh offers it for "+strings.Join(u.by, ", "))
	}
	if u.bbkey {
		who = append(who, "git bbkey uses it")
	}
	if len(who) == 0 {
		return ""
	}
	return "; " + strings.Join(who, " and ")
}

func checkRegistration(f *Facts) []Check {
	uses := f.keyUses()
	if len(uses) == 0 {
		return nil
	}
	one := func(k Kind, st Status, msg, fix string, cause error) []Check {
		return []Check{{Name: "key-registered", Kind: k, Status: st, Message: msg, Fix: fix, Cause: cause}}
	}
	s := f.Server
	var noCreds *bbsession.NoCredentialsError
	switch {
	case s.Base == "":
		return one(KeyRegistrationUnknown, Skip, "no Bitbucket server is known, so whether your key is registered is not either", serverFix, nil)
	case s.Err != nil:
		return nil // the server check says why
	case errors.As(s.AuthErr, &noCreds):
		return one(KeyRegistrationUnknown, Skip, fmt.Sprintf("no credentials for %s: whether your key is registered cannot be seen", s.Base),
			"set BITBUCKET_TOKEN to an HTTP access token, or store your password with git credential approve", nil)
	case s.AuthErr != nil:
		return one(KeyRegistrationUnknown, Skip, fmt.Sprintf("whether your key is registered cannot be seen: %v", s.AuthErr), "", s.AuthErr)
	case f.Registration.Err != nil:
		return one(KeyRegistrationUnknown, Warn, fmt.Sprintf("cannot list your SSH keys on %s: %v", s.Base, f.Registration.Err), "", f.Registration.Err)
	case !f.Registration.Asked:
		return nil
	}
	var out []Check
	for _, u := range uses {
		out = append(out, checkKeyRegistered(f, u)...)
	}
	return out
}

func checkKeyRegistered(f *Facts, u keyUse) []Check {
	one := func(k Kind, st Status, msg, fix string) []Check {
		return []Check{{Name: "key-registered", Kind: k, Status: st, Message: msg, Fix: fix}}
	}
	base, reg := f.Server.Base, f.Registration
	fp := u.fingerprint()
	addFix := "git bbkey add " + f.shell(u.path+".pub")
	switch {
	case fp == "":
		return one(KeyRegistrationUnknown, Skip, fmt.Sprintf("%s: its fingerprint is not known (no readable %s.pub), so neither is whether it is registered", f.tilde(u.path), f.tilde(u.path)),
			fmt.Sprintf("ssh-keygen -y -f %s > %s", f.shell(u.path), f.shell(u.path+".pub")))
	case reg.UserKeys[fp]:
		return one(KeyRegisteredUser, OK, fmt.Sprintf("%s is registered on %s as your SSH key%s", f.named(u), base, u.users()), "")
	case len(reg.Access[fp]) > 0:
		var where []string
		for _, g := range reg.Access[fp] {
			scope := ""
			switch {
			case g.Repository != nil:
				scope = g.Repository.Project.Key + "/" + g.Repository.Slug
			case g.Project != nil:
				scope = g.Project.Key
			}
			where = append(where, fmt.Sprintf("%s (%s)", scope, g.Permission))
		}
		return one(KeyRegisteredAccess, OK, fmt.Sprintf("%s is registered on %s as an access key of %s%s", f.named(u), base, strings.Join(where, ", "), u.users()), "")
	}
	if agentKey := f.registeredAgentKey(u); agentKey != "" {
		return one(KeyRegisteredAgent, Warn, fmt.Sprintf("%s is not registered on %s, but git's ssh gets in with the ssh-agent's key %s, which it offers first%s",
			f.named(u), base, agentKey, u.users()), addFix)
	}
	scopes := f.scopes()
	switch {
	case len(scopes) == 0:
		return one(KeyRegisteredUnsure, Warn, fmt.Sprintf("%s is not registered on %s as your SSH key (access keys are looked up on the remotes' repositories, and there are none here)%s",
			f.named(u), base, u.users()), addFix)
	case len(reg.Unlisted) > 0:
		var names []string
		for _, s := range reg.Unlisted {
			names = append(names, s.Scope.String())
		}
		return one(KeyRegisteredUnsure, Warn, fmt.Sprintf("%s is not registered on %s as your SSH key, and whether it is an access key of %s cannot be seen (listing access keys needs admin rights)%s",
			f.named(u), base, strings.Join(names, ", "), u.users()), addFix)
	}
	var names []string
	for _, s := range scopes {
		names = append(names, s.String())
	}
	return one(KeyNotRegistered, Fail, fmt.Sprintf("%s is not registered on %s: neither as your SSH key nor as an access key of %s%s",
		f.named(u), base, strings.Join(names, ", "), u.users()), addFix)
}

// registeredAgentKey is the fingerprint of a registered key in the agent
// that git's ssh offers before u on every endpoint u is offered for (no
// IdentitiesOnly, an agent in use); "" when there is none.
func (f *Facts) registeredAgentKey(u keyUse) string {
	if len(u.endpoints) == 0 || u.bbkey && f.Key.Configured {
		return ""
	}
	for _, e := range u.endpoints {
		if e.Settings.IdentitiesOnly || e.Settings.IdentityAgent == "none" {
			return ""
		}
	}
	for _, k := range f.Agent.Keys {
		if fp := sshkeys.Fingerprint(k); f.Registration.UserKeys[fp] {
			return fp
		}
	}
	return ""
}
