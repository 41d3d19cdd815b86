package doctor

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

const serverFix = "pass --server https://bitbucket.example.com, or run: git config --global bbkey.url https://bitbucket.example.com"

func checkSSHConfig(f *Facts) []Check {
	var out []Check
	add := func(k Kind, st Status, msg, fix string) {
		out = append(out, Check{Name: "ssh-config", Kind: k, Status: st, Message: msg, Fix: fix})
	}
	cfg := f.SSHConfig
	if cfg.Exists && !f.Windows && cfg.Mode.Perm()&0o022 != 0 {
		add(SSHConfigWritable, Fail, fmt.Sprintf("%s is %04o: writable by group or others, who could make ssh run anything; ssh refuses it (Bad owner or permissions) unless given with -F", f.tilde(cfg.Path), cfg.Mode.Perm()),
			"chmod 600 "+f.shell(cfg.Path))
		return out
	}
	read := false
	for _, e := range f.endpoints() {
		var refused *openssh.SSHError
		switch {
		case errors.As(e.Err, &refused):
			add(SSHConfigRefused, Fail, fmt.Sprintf("ssh refuses its configuration for %s: %v", f.label(e), refused),
				fmt.Sprintf("fix the line it names, then check with: ssh -G %s", e.Target.HostArg()))
			continue
		case e.Settings == nil:
			continue
		}
		s := e.Settings
		read = read || slices.Contains(s.ConfigFiles, cfg.Path)
		for _, id := range e.MissingIdentities {
			add(SSHConfigMissingIdentity, Warn, fmt.Sprintf("ssh's settings name IdentityFile %s for %s, which does not exist", f.tilde(id.HomePath), f.label(e)),
				"correct the IdentityFile line in ~/.ssh/config, or create the key: git bbkey generate --file "+f.shell(id.HomePath))
		}
		if !s.IdentitiesOnly && s.IdentityAgent != "none" && len(f.Agent.Keys) >= manyAgentKeys {
			add(SSHConfigAgentFlood, Warn, fmt.Sprintf("the ssh-agent holds %d keys and IdentitiesOnly is no for %s: ssh offers them all first and the server may hang up (Too many authentication failures) or take another user's key",
				len(f.Agent.Keys), f.label(e)),
				fmt.Sprintf("add 'IdentitiesOnly yes' and 'IdentityFile' for your key to the Host %s block of ~/.ssh/config (git bbkey setup --ssh-config writes one)", e.Target.Host))
		}
	}
	switch {
	case len(out) > 0:
	case !cfg.Exists:
		add(SSHConfigNone, Skip, "no "+f.tilde(cfg.Path), "")
	case read:
		add(SSHConfigOK, OK, fmt.Sprintf("ssh reads %s, and nothing in it stops git", f.tilde(cfg.Path)), "")
	default:
		add(SSHConfigOK, OK, fmt.Sprintf("nothing in %s stops git", f.tilde(cfg.Path)), "")
	}
	return out
}

// checkKnownHosts judges, for each server git's ssh goes to, the host keys
// known for it in the files ssh reads, as OpenSSH does (@revoked refuses,
// @cert-authority alone does not make a plain key known), against the
// fingerprint the server publishes over a trusted channel.
func checkKnownHosts(f *Facts) []Check {
	var out []Check
	seen := map[string]bool{}
	for _, e := range f.endpoints() {
		if e.Settings == nil {
			out = append(out, Check{Name: "known-hosts", Kind: HostKeySkipped, Status: Skip,
				Message: fmt.Sprintf("%s: ssh's settings are not known, so neither are its host keys", f.label(e))})
			continue
		}
		key := e.Settings.KnownHostsName() + "\x00" + strings.Join(e.KnownHostsFiles, "\x00")
		if !seen[key] {
			seen[key] = true
			out = append(out, checkHostKey(f, e))
		}
	}
	if len(out) == 0 {
		msg := "the Bitbucket SSH host is not known"
		if f.Server.Base != "" {
			msg = fmt.Sprintf("the SSH address of %s is not known (its SSH settings could not be read)", f.Server.Base)
		}
		return []Check{{Name: "known-hosts", Kind: HostKeySkipped, Status: Skip, Message: msg, Fix: serverFixIf(f)}}
	}
	return out
}

func serverFixIf(f *Facts) string {
	if f.Server.Base == "" {
		return serverFix
	}
	return ""
}

func checkHostKey(f *Facts, e *Endpoint) Check {
	c := Check{Name: "known-hosts"}
	set := func(k Kind, st Status, msg, fix string) Check {
		c.Kind, c.Status, c.Message, c.Fix = k, st, msg, fix
		return c
	}
	name := e.Settings.KnownHostsName()
	if e.KnownHostsErr != nil {
		return set(KnownHostsUnreadable, Fail, fmt.Sprintf("cannot read the known hosts of %s: %v", name, e.KnownHostsErr),
			"make sure you can read the file it names")
	}
	hk := e.KnownHosts
	published := ""
	if e.Published.Trusted && !e.otherPort(f) {
		published = e.Published.Fingerprint
	}
	where := func(entry sshverify.KnownHostEntry) string {
		return fmt.Sprintf("%s:%d", f.tilde(entry.File), entry.Line)
	}
	if published != "" {
		for _, r := range hk.Revoked {
			if ssh.FingerprintSHA256(r.Key) == published {
				return set(HostKeyPublishedRevoked, Fail, fmt.Sprintf("the host key %s publishes for %s (%s) is marked @revoked in %s: ssh refuses to connect",
					f.Server.Base, name, published, where(r)),
					"ask your Bitbucket admin why the server still uses a withdrawn host key; do not delete the @revoked line to get past this")
			}
		}
	}
	usable := hk.Usable()
	if r := revokedOnly(hk); r != nil {
		return set(HostKeyRevoked, Fail, fmt.Sprintf("the known_hosts entry for %s (%s) is marked @revoked in %s: ssh refuses that key",
			name, ssh.FingerprintSHA256(r.Key), where(*r)),
			fmt.Sprintf("ask your Bitbucket admin for the server's current host key fingerprint, then remove the old entry: ssh-keygen -R '%s' && git bbkey verify", name))
	}
	var files []string
	for _, kf := range e.Settings.UserKnownHostsFiles {
		files = append(files, kf.HomePath)
	}
	if len(usable) == 0 {
		fix := "git bbkey verify (pins the host key after checking it against the fingerprint Bitbucket publishes)"
		if published == "" {
			fix = "compare the fingerprint with your Bitbucket admin, then: git bbkey verify --accept-new-host-key"
		}
		msg := fmt.Sprintf("no entry for %s in %s", name, f.tildes(files))
		if refusesUnknown(e.Settings) {
			return set(HostKeyUnknown, Fail, msg+": ssh refuses a host it does not know ("+strictWhy(e.Settings)+"), so git fails", fix)
		}
		return set(HostKeyUnknown, Warn, msg+": the first connection cannot check who answers", fix)
	}
	var fps []string
	for _, entry := range usable {
		fp := ssh.FingerprintSHA256(entry.Key)
		if fp == published {
			return set(HostKeyMatches, OK, fmt.Sprintf("%s is known in %s (%s %s) and matches the fingerprint %s publishes",
				name, f.tilde(entry.File), entry.Key.Type(), fp, f.Server.Base), "")
		}
		fps = append(fps, fp)
	}
	if published == "" {
		return set(HostKeyKnown, OK, fmt.Sprintf("%s is known in %s (%s); not compared with the server: %s",
			name, f.tilde(usable[0].File), strings.Join(fps, ", "), notComparedWhy(f, e)), "")
	}
	return set(HostKeyChanged, Fail,
		fmt.Sprintf("the known_hosts entry for %s (%s) does not match the host key %s publishes (%s): the server's key changed, or someone is intercepting the connection",
			name, strings.Join(fps, ", "), f.Server.Base, published),
		fmt.Sprintf("check the fingerprint with your Bitbucket admin first; if the key really changed: ssh-keygen -R '%s' && git bbkey verify", name))
}

// notComparedWhy says why no published fingerprint was compared.
func notComparedWhy(f *Facts, e *Endpoint) string {
	switch {
	case f.Server.Base == "":
		return "no Bitbucket server is known"
	case !e.OnServer:
		return "it is not the server's SSH host"
	case e.otherPort(f):
		return fmt.Sprintf("the server's SSH port is %d, not %d", f.Server.Address.Port, e.Settings.Port)
	case e.PublishedErr != nil || f.Server.SettingsErr != nil:
		return "its SSH settings could not be read"
	case e.Published.Fingerprint != "":
		return "the server publishes its host key for another SSH host"
	case f.Server.Settings != nil && f.Server.Settings.Fingerprint == "":
		return "the server publishes no host key fingerprint"
	}
	return "its SSH settings came over a connection that is not verified HTTPS"
}

// revokedOnly is the @revoked line that refuses the host's first key when
// every key known for the host is refused; nil otherwise.
func revokedOnly(hk sshverify.HostKeys) *sshverify.KnownHostEntry {
	if len(hk.Keys) == 0 || len(hk.Usable()) > 0 {
		return nil
	}
	return hk.RevokedBy(hk.Keys[0].Key)
}

// otherPort tells whether the endpoint is on the server's host but not on
// its SSH port (another SSH server may answer there, with its own key).
func (e *Endpoint) otherPort(f *Facts) bool {
	return f.Server.Address.Port != 0 && e.Settings != nil && e.Settings.Port != f.Server.Address.Port
}

// refusesUnknown tells whether ssh stops at a host key it does not know
// (StrictHostKeyChecking yes, or ask with nobody to ask in batch mode).
func refusesUnknown(s *openssh.Settings) bool {
	return s.StrictHostKeyChecking == "yes" || s.StrictHostKeyChecking == "ask" && s.BatchMode
}

func strictWhy(s *openssh.Settings) string {
	if s.StrictHostKeyChecking == "yes" {
		return "StrictHostKeyChecking yes"
	}
	return "BatchMode yes"
}
