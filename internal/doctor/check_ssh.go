package doctor

import (
	"fmt"
	"slices"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/sshagent"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// manyAgentKeys is where an agent starts to exhaust the server's
// authentication attempts (OpenSSH's MaxAuthTries is 6) before ssh gets to
// the right key, unless IdentitiesOnly is set.
const manyAgentKeys = 5

// settings is the first endpoint's settings, nil when there are none.
func (f *Facts) settings() *openssh.Settings {
	for _, e := range f.endpoints() {
		if e.Settings != nil {
			return e.Settings
		}
	}
	return nil
}

// checkSSH says which ssh git runs, and whether its settings come from
// OpenSSH itself.
func checkSSH(f *Facts) []Check {
	one := func(k Kind, st Status, msg, fix string, cause error) []Check {
		return []Check{{Name: "ssh", Kind: k, Status: st, Message: msg, Fix: fix, Cause: cause}}
	}
	if f.SSH.CommandErr != nil {
		return one(SSHCommandUnknown, Fail, fmt.Sprintf("cannot tell which ssh git runs: %v", f.SSH.CommandErr), "", f.SSH.CommandErr)
	}
	cmd := f.SSH.Command
	runs := "git runs ssh"
	if cmd.Source != openssh.SourceDefault {
		runs = fmt.Sprintf("git runs `%s` (%s)", cmd.Text, cmd.Source)
	}
	if !cmd.Plain() {
		runs += " through the shell (a wrapper or shell construct)"
	}
	variant := cmd.Variant
	approximated := false
	if s := f.settings(); s != nil {
		variant, approximated = s.Variant, s.Approximated
	}
	switch variant {
	case openssh.VariantPlink, openssh.VariantPutty, openssh.VariantTortoisePlink, openssh.VariantSimple:
		return one(SSHNotOpenSSH, Warn, fmt.Sprintf("%s, which is %s, not OpenSSH: it does not read ~/.ssh/config, so the settings shown here are a guess and may differ from what it does", runs, variant),
			"git bbkey verify checks through that program itself", nil)
	}
	if f.SSH.Path == "" && cmd.Program() != "" || approximated {
		msg := fmt.Sprintf("%s, which is not found on PATH: the settings shown here were read from ~/.ssh/config without it, and OpenSSH's verdict may differ", runs)
		fix := "install the OpenSSH client, or tell git which ssh to run: git config --global core.sshCommand /path/to/ssh"
		if f.Windows || len(f.endpoints()) == 0 {
			// Git for Windows runs the ssh it brings along, wherever PATH points.
			return one(SSHMissing, Warn, msg, fix, nil)
		}
		return one(SSHMissing, Fail, msg+"; git cannot reach ssh:// remotes without it", fix, nil)
	}
	what := runs
	if f.SSH.Path != "" {
		what += " (" + f.SSH.Path
		if v := f.SSH.Version.Raw; v != "" {
			what += ", OpenSSH " + v
		}
		what += ")"
	}
	if s := f.settings(); s != nil && !s.HomeDiffers() {
		what += ", which reads " + f.tilde(f.SSHDir)
	}
	return one(SSHFound, OK, what, "", nil)
}

// checkSSHHome looks at where OpenSSH finds its files when it takes its
// home from the password database and that is not $HOME (sudo without
// -H, some containers): git's ssh may then use other keys, config and
// known_hosts than git-bbkey sees.
func checkSSHHome(f *Facts) []Check {
	s := f.settings()
	if s == nil || !s.HomeDiffers() || s.Approximated {
		return nil // without OpenSSH here, where it would look is a guess (see the ssh check)
	}
	kind, st := SSHHomeSame, OK
	worse := func(k Kind, s Status) {
		if st != Fail {
			kind, st = k, s
		}
	}
	var notes []string
	for _, e := range f.endpoints() {
		if e.Settings == nil {
			continue
		}
		want, mine := "", "none"
		if e.HasOffered {
			want, mine = e.Offered.Path, f.tilde(e.Offered.HomePath)
		}
		if e.SSHOffered != want {
			worse(SSHHomeKey, Fail)
			found := "no key file"
			if e.SSHOffered != "" {
				found = e.SSHOffered
			}
			notes = append(notes, fmt.Sprintf("for %s it offers %s, where git bbkey sees %s", f.label(e), found, mine))
		}
		if e.SSHKnownHosts == nil {
			continue
		}
		var files []string
		for _, kf := range e.Settings.UserKnownHostsFiles {
			files = append(files, kf.Path)
		}
		note := "it reads host keys from " + strings.Join(files, ", ")
		if len(e.SSHKnownHosts.Usable()) == 0 {
			note += ", which do not know " + e.Settings.KnownHostsName()
			if refusesUnknown(e.Settings) {
				worse(SSHHomeKnownHosts, Fail)
			}
		}
		if !slices.Contains(notes, note) {
			notes = append(notes, note)
			worse(SSHHomeFiles, Warn)
		}
	}
	if f.SSHConfig.Exists {
		read := false
		for _, e := range f.endpoints() {
			if e.Settings != nil && slices.Contains(e.Settings.ConfigFiles, f.SSHConfig.Path) {
				read = true
			}
		}
		if !read {
			notes = append(notes, "it does not read "+f.tilde(f.SSHConfig.Path))
			worse(SSHHomeFiles, Warn)
		}
	}
	msg := fmt.Sprintf("OpenSSH takes its home from the password database (%s), not $HOME (%s)", s.AccountHome, s.Home)
	if st == OK {
		return []Check{{Name: "ssh-home", Kind: kind, Status: st, Message: msg + ", but git's ssh command names the files it uses"}}
	}
	return []Check{{Name: "ssh-home", Kind: kind, Status: st, Message: msg + ": " + strings.Join(notes, "; "),
		Fix: fmt.Sprintf("run git and git bbkey with the same home (sudo -H, or HOME=%s), or name ssh's files in git's ssh command: git config --global core.sshCommand 'ssh -i ~/.ssh/KEY -o UserKnownHostsFile=~/.ssh/known_hosts'", s.AccountHome)}}
}

// label names an endpoint in messages: the remotes that go there, else
// the server's SSH address.
func (f *Facts) label(e *Endpoint) string {
	var names []string
	for _, r := range f.Remotes {
		if r.Endpoint == e && r.Reach == ReachYes {
			names = append(names, r.Name)
		}
	}
	if len(names) > 0 {
		return strings.Join(names, ", ")
	}
	return e.Target.HostArg()
}

// offeredFor lists the remotes (or the server's SSH address) for which
// git's ssh offers the key file at path.
func (f *Facts) offeredFor(path string) []string {
	var out []string
	for _, e := range f.endpoints() {
		if e.HasOffered && e.Offered.HomePath == path {
			out = append(out, f.label(e))
		}
	}
	return out
}

func checkRSA(f *Facts) []Check {
	one := func(k Kind, st Status, msg, fix string) []Check {
		return []Check{{Name: "rsa-sha1", Kind: k, Status: st, Message: msg, Fix: fix}}
	}
	var rsa []string
	for _, k := range f.Keys {
		if k.Type == ssh.KeyAlgoRSA && k.PrivateKeyPath != "" {
			rsa = append(rsa, f.tilde(k.PrivateKeyPath))
		}
	}
	v := f.SSH.Version
	version := fmt.Sprintf("%d.%d", v.Major, v.Minor)
	switch {
	case f.SSH.Path == "":
		return one(RSAUnknown, Skip, "the OpenSSH client (ssh) is not installed", "")
	case v.Raw == "":
		return one(RSAUnknown, Skip, "ssh -V does not say which OpenSSH version this is", "")
	case len(rsa) == 0:
		return one(RSANoKeys, OK, fmt.Sprintf("OpenSSH %s; no RSA key in %s", version, f.tilde(f.SSHDir)), "")
	case !v.AtLeast(8, 8):
		return one(RSAOldSSH, OK, fmt.Sprintf("OpenSSH %s still signs with ssh-rsa, so RSA keys work", version), "")
	}
	host := "bitbucket.example.com"
	for _, e := range f.endpoints() {
		if e.Settings == nil {
			continue
		}
		host = e.Target.Host
		if slices.Contains(e.PubkeyAlgorithms, ssh.KeyAlgoRSA) {
			return one(RSAEnabled, OK, fmt.Sprintf("OpenSSH %s, and ssh's settings enable ssh-rsa for %s (PubkeyAcceptedAlgorithms)", version, host), "")
		}
	}
	return one(RSASHA1Trap, Warn,
		fmt.Sprintf("OpenSSH %s will not sign with ssh-rsa (SHA-1) and Bitbucket does not advertise server-sig-algs: git can fail with %s while other tools work",
			version, strings.Join(rsa, ", ")),
		fmt.Sprintf("git bbkey setup --new (an ed25519 key), or add 'PubkeyAcceptedAlgorithms +ssh-rsa' to the 'Host %s' block of ~/.ssh/config", host))
}

func checkAgent(f *Facts) []Check {
	one := func(k Kind, st Status, msg, fix string) []Check {
		return []Check{{Name: "agent", Kind: k, Status: st, Message: msg, Fix: fix}}
	}
	var def *KeyFacts
	if f.Key.Path != "" {
		def = f.keyAt(f.Key.Path)
	}
	addFix, start := "", `eval "$(ssh-agent -s)"`
	if f.Windows {
		start = "Start-Service ssh-agent"
	}
	if def != nil {
		addFix = "ssh-add " + f.shell(def.PrivateKeyPath)
	}
	a := f.Agent
	noAgent := !a.Running && a.Err == nil && (a.Addr == "" || a.Addr == sshagent.WindowsPipe)
	switch {
	case noAgent && def != nil && def.Encrypted:
		return one(AgentNeeded, Warn, fmt.Sprintf("no ssh-agent is running: ssh asks for the passphrase of %s on every git fetch and push", f.tilde(def.PrivateKeyPath)),
			start+" && "+addFix)
	case noAgent:
		return one(AgentNone, Skip, "no ssh-agent is running; an unencrypted key does not need one", "")
	case !a.Running && a.Err != nil:
		return one(AgentDown, Warn, fmt.Sprintf("the ssh-agent at %s cannot be reached: %v", a.Addr, a.Err), "")
	case !a.Running:
		return one(AgentDown, Warn, fmt.Sprintf("no ssh-agent answers at %s (SSH_AUTH_SOCK)", a.Addr), "start one: "+start)
	case a.Err != nil:
		return one(AgentListFailed, Warn, fmt.Sprintf("the ssh-agent at %s does not list its keys: %v", a.Addr, a.Err), "")
	}
	msg := "ssh-agent holds " + plural(len(a.Keys), "key", "keys")
	if def == nil || def.Fingerprint == "" {
		return one(AgentHolds, OK, msg, "")
	}
	for _, k := range a.Keys {
		if sshkeys.Fingerprint(k) == def.Fingerprint {
			return one(AgentHolds, OK, fmt.Sprintf("%s, %s among them", msg, f.tilde(def.PrivateKeyPath)), "")
		}
	}
	if def.Encrypted {
		return one(AgentLacksKey, Warn, fmt.Sprintf("%s, but not %s, so ssh asks for its passphrase every time", msg, f.tilde(def.PrivateKeyPath)), addFix)
	}
	return one(AgentHolds, OK, fmt.Sprintf("%s, not %s (ssh reads it from the file)", msg, f.tilde(def.PrivateKeyPath)), "")
}
