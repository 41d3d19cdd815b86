package doctor

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

// A set-up where git works is all ok: nothing warns, nothing fails.
func TestHealthyIsOK(t *testing.T) {
	w := healthy(t)
	checks := Checks(w.f)
	for _, c := range checks {
		if c.Status != OK && !(c.Name == "agent" && c.Status == Skip) {
			t.Errorf("%s is %s in a healthy set-up: %s", c.Name, c.Status, c.Message)
		}
	}
	for name, kind := range map[string]Kind{"key": KeyOK, "ssh": SSHFound, "known-hosts": HostKeyMatches, "server": ServerOK,
		"key-registered": KeyRegisteredUser, "remote": RemoteOK, "repo": RepoExists, "ssh-config": SSHConfigOK, "ssh-dir": SSHDirOK} {
		if got := find(checks, name); len(got) != 1 || got[0].Kind != kind {
			t.Errorf("%s: %+v, want one of kind %d", name, got, kind)
		}
	}
	if r := (Report{Checks: checks}); !r.OK() || r.Failed() != 0 {
		t.Errorf("report not ok:%s", dump(checks))
	}
	if got := find(checks, "remote")[0].Message; got != "origin uses ssh://git@bb.example.com:7999/proj/demo.git: ssh connects to git@bb.example.com port 7999, offers ~/.ssh/id_ed25519, reads host keys from ~/.ssh/known_hosts" {
		t.Errorf("remote line: %q", got)
	}
}

// Each fault that makes git (and verify) fail makes doctor fail, with the
// check that names it; faults git survives only warn.
func TestFaults(t *testing.T) {
	denied := &bitbucket.Error{StatusCode: 401, Kind: bitbucket.KindUnauthorized}
	for _, tc := range []struct {
		name   string
		plant  func(t *testing.T, w *world)
		check  string
		kind   Kind
		status Status
		fix    string // a part of the fix, when it matters
	}{
		{"key removed from Bitbucket", func(t *testing.T, w *world) {
			w.f.Registration.UserKeys = map[string]bool{}
		}, "key-registered", KeyNotRegistered, Fail, "git bbkey add ~/.ssh/id_ed25519.pub"},
		{"an access key of the repository", func(t *testing.T, w *world) {
			w.f.Registration.UserKeys = map[string]bool{}
			w.f.Registration.Access = map[string][]bitbucket.AccessKey{w.key.Fingerprint: {{Permission: bitbucket.RepoRead,
				Repository: &bitbucket.Repository{Slug: "demo", Project: bitbucket.Project{Key: "PROJ"}}}}}
		}, "key-registered", KeyRegisteredAccess, OK, ""},
		{"access keys that cannot be listed", func(t *testing.T, w *world) {
			w.f.Registration.UserKeys = map[string]bool{}
			w.f.Registration.Unlisted = []ScopeError{{Scope: bitbucket.Scope{Project: "proj", Slug: "demo"}, Err: denied}}
		}, "key-registered", KeyRegisteredUnsure, Warn, ""},
		{"the agent's registered key goes first", func(t *testing.T, w *world) {
			agentKey := newKey(t)
			w.f.Agent = AgentFacts{Running: true, Keys: []ssh.PublicKey{agentKey}}
			w.f.Registration.UserKeys = map[string]bool{sshkeys.Fingerprint(agentKey): true}
		}, "key-registered", KeyRegisteredAgent, Warn, ""},
		{"repository missing", func(t *testing.T, w *world) {
			w.origin.Repo.Err = &bitbucket.Error{StatusCode: 404, Kind: bitbucket.KindNotFound, Messages: []string{"Repository proj/demo does not exist."}}
		}, "repo", RepoMissing, Fail, "git remote set-url origin"},
		{"repository not readable", func(t *testing.T, w *world) { w.origin.Repo.Err = denied }, "repo", RepoDenied, Fail, ""},
		{"repository not readable anonymously", func(t *testing.T, w *world) {
			w.origin.Repo.Err, w.origin.Repo.Authenticated = denied, false
		}, "repo", RepoUnknown, Skip, "BITBUCKET_TOKEN"},
		{"host key changed", func(t *testing.T, w *world) {
			w.ep.KnownHosts.Keys[0].Key = newKey(t)
		}, "known-hosts", HostKeyChanged, Fail, "ssh-keygen -R '[bb.example.com]:7999'"},
		{"the published host key is @revoked", func(t *testing.T, w *world) {
			w.ep.KnownHosts.Revoked = []sshverify.KnownHostEntry{{File: sshPath("known_hosts"), Line: 3, Marker: sshverify.MarkerRevoked, Key: w.hostKey}}
		}, "known-hosts", HostKeyPublishedRevoked, Fail, ""},
		{"the only known host key is @revoked", func(t *testing.T, w *world) {
			w.ep.Published = bbsession.HostKey{}
			w.ep.KnownHosts.Revoked = []sshverify.KnownHostEntry{{File: sshPath("known_hosts"), Line: 3, Marker: sshverify.MarkerRevoked, Key: w.hostKey}}
		}, "known-hosts", HostKeyRevoked, Fail, ""},
		{"unknown host", func(t *testing.T, w *world) { w.ep.KnownHosts.Keys = nil }, "known-hosts", HostKeyUnknown, Warn, "git bbkey verify"},
		{"unknown host, and ssh refuses unknown hosts", func(t *testing.T, w *world) {
			w.ep.KnownHosts.Keys, w.ep.Settings.StrictHostKeyChecking = nil, "yes"
		}, "known-hosts", HostKeyUnknown, Fail, "git bbkey verify"},
		{"unknown host, in batch mode", func(t *testing.T, w *world) {
			w.ep.KnownHosts.Keys, w.ep.Settings.StrictHostKeyChecking, w.ep.Settings.BatchMode = nil, "ask", true
		}, "known-hosts", HostKeyUnknown, Fail, ""},
		{"a @cert-authority line alone", func(t *testing.T, w *world) {
			w.ep.KnownHosts.Authorities, w.ep.KnownHosts.Keys = w.ep.KnownHosts.Keys, nil
		}, "known-hosts", HostKeyUnknown, Warn, ""},
		{"known_hosts unreadable", func(t *testing.T, w *world) {
			w.ep.KnownHostsErr = fs.ErrPermission
		}, "known-hosts", KnownHostsUnreadable, Fail, ""},
		{"key with CRLF line endings", func(t *testing.T, w *world) {
			w.f.Keys[0].NotLoadable = &sshkeys.NotLoadableError{Path: w.key.PrivateKeyPath, Reason: sshkeys.LoadLineEndings}
		}, "key-load", KeyNotLoadable, Fail, ""},
		{"key mode 0644", func(t *testing.T, w *world) {
			w.f.Keys[0].Unprotected = &safefile.UnprotectedError{Path: w.key.PrivateKeyPath, Mode: 0o644, Principals: []string{"group", "others"}}
		}, "key-mode", KeyUnprotected, Fail, "chmod 600 ~/.ssh/id_ed25519"},
		{"key ACL on Windows", func(t *testing.T, w *world) {
			w.f.Windows = true
			w.f.Keys[0].Unprotected = &safefile.UnprotectedError{Path: w.key.PrivateKeyPath, Principals: []string{`BUILTIN\Users`}}
		}, "key-mode", KeyUnprotected, Fail, `/inheritance:r /grant:r "%USERNAME%:F" /remove "BUILTIN\Users"`},
		{"scp-like URL on port 22", func(t *testing.T, w *world) {
			w.setURL(t, "git@bb.example.com:proj/demo.git", 22)
		}, "remote", RemoteWrongPort, Fail, "git remote set-url origin ssh://git@bb.example.com:7999/proj/demo.git"},
		{"a wrong port in ~/.ssh/config", func(t *testing.T, w *world) {
			w.setURL(t, "ssh://git@bb.example.com/proj/demo.git", 2222)
		}, "remote", RemoteWrongPort, Fail, "set 'Port 7999' in the Host block for bb.example.com"},
		{"an explicit wrong port", func(t *testing.T, w *world) {
			w.setURL(t, "ssh://git@bb.example.com:7998/proj/demo.git", 7998)
		}, "remote", RemoteWrongPort, Fail, "ssh://git@bb.example.com:7999/proj/demo.git"},
		{"IdentityFile names an unregistered key", func(t *testing.T, w *world) {
			work := keyFile(t, sshPath("work_key"))
			w.f.Keys = append(w.f.Keys, work)
			w.ep.Offered, w.ep.SSHOffered = file(work.PrivateKeyPath), work.PrivateKeyPath
			w.ep.Settings.IdentityFiles = []openssh.File{file(work.PrivateKeyPath)}
		}, "key-registered", KeyNotRegistered, Fail, "git bbkey add ~/.ssh/work_key.pub"},
		{"no identity file and no agent", func(t *testing.T, w *world) {
			w.ep.HasOffered, w.ep.Offered, w.ep.SSHOffered = false, openssh.File{}, ""
		}, "remote-key", RemoteNoIdentity, Fail, "git bbkey setup"},
		{"ssh refuses its configuration", func(t *testing.T, w *world) {
			w.ep.Settings, w.ep.Err = nil, &openssh.SSHError{Argv: []string{"ssh", "-G", "bb.example.com"}, ExitCode: 255,
				Stderr: "/home/u/.ssh/config: line 2: Bad configuration option: nosuchoption"}
		}, "ssh-config", SSHConfigRefused, Fail, "ssh -G bb.example.com"},
		{"ssh -G cannot run at all", func(t *testing.T, w *world) {
			w.ep.Settings, w.ep.Err = nil, &openssh.TimeoutError{Argv: []string{"ssh", "-G", "bb.example.com"}}
		}, "remote", RemoteSettingsFailed, Fail, ""},
		{"OpenSSH looks under another home", func(t *testing.T, w *world) {
			s := w.ep.Settings
			s.AccountHome = "/root"
			w.ep.Offered = openssh.File{Path: "/root/.ssh/id_ed25519", HomePath: w.key.PrivateKeyPath}
			w.ep.SSHOffered = ""
		}, "ssh-home", SSHHomeKey, Fail, "HOME=/root"},
		{"OpenSSH reads host keys under another home, which lack the host", func(t *testing.T, w *world) {
			s := w.ep.Settings
			s.AccountHome, s.StrictHostKeyChecking = "/root", "yes"
			s.UserKnownHostsFiles = []openssh.File{{Path: "/root/.ssh/known_hosts", HomePath: sshPath("known_hosts")}}
			w.ep.SSHKnownHosts = &sshverify.HostKeys{}
		}, "ssh-home", SSHHomeKnownHosts, Fail, ""},
		{"SSH disabled on the server", func(t *testing.T, w *world) {
			w.f.Server.AddressErr = &bbsession.SSHDisabledError{Base: w.f.Server.Base}
		}, "server", ServerSSHDisabled, Fail, ""},
		{"credentials rejected", func(t *testing.T, w *world) {
			w.f.Server.SettingsErr = denied
		}, "server", ServerCredentialsRejected, Fail, ""},
		{"no key at all", func(t *testing.T, w *world) {
			w.f.Keys, w.f.Key = nil, KeyChoice{}
		}, "key", NoKey, Fail, "git bbkey setup"},
		{"bbkey.keyFile names no file", func(t *testing.T, w *world) {
			w.f.Key, w.f.KeyMissing = KeyChoice{Path: sshPath("gone"), Configured: true}, true
		}, "key", KeyFileMissing, Fail, ""},
		{"the used key lacks its .pub", func(t *testing.T, w *world) {
			w.f.Keys[0].PublicKeyPath = ""
		}, "key-pair", KeyNoPublic, Fail, "ssh-keygen -y -f ~/.ssh/id_ed25519 > ~/.ssh/id_ed25519.pub"},
		{"~/.ssh writable by others", func(t *testing.T, w *world) {
			w.f.SSHDirInfo.Mode = fs.ModeDir | 0o777
		}, "ssh-dir", SSHDirWritable, Fail, "chmod 700 ~/.ssh"},
		{"~/.ssh/config writable by others", func(t *testing.T, w *world) {
			w.f.SSHConfig.Mode = 0o666
		}, "ssh-config", SSHConfigWritable, Fail, "chmod 600 ~/.ssh/config"},
		{"ssh not installed", func(t *testing.T, w *world) {
			w.f.SSH.Path, w.ep.Settings.Approximated = "", true
		}, "ssh", SSHMissing, Fail, "install the OpenSSH client"},
		{"ssh not on PATH, on Windows", func(t *testing.T, w *world) {
			w.f.SSH.Path, w.ep.Settings.Approximated, w.f.Windows = "", true, true
		}, "ssh", SSHMissing, Warn, "core.sshCommand"},
		{"git runs plink", func(t *testing.T, w *world) {
			w.f.SSH.Command = openssh.Command{Text: "plink", Source: openssh.SourceGitSSH, Variant: openssh.VariantPlink, Words: []string{"plink"}}
			w.ep.Settings.Variant, w.ep.Settings.Approximated = openssh.VariantPlink, true
		}, "ssh", SSHNotOpenSSH, Warn, ""},
		{"another home, but the files are named", func(t *testing.T, w *world) {
			w.ep.Settings.AccountHome = "/root"
		}, "ssh-home", SSHHomeSame, OK, ""},
		{"an RSA key with OpenSSH 9", func(t *testing.T, w *world) {
			w.f.Keys[0].Type, w.f.Keys[0].Bits = ssh.KeyAlgoRSA, 4096
		}, "rsa-sha1", RSASHA1Trap, Warn, "PubkeyAcceptedAlgorithms +ssh-rsa"},
		{"an RSA key, ssh-rsa enabled", func(t *testing.T, w *world) {
			w.f.Keys[0].Type, w.f.Keys[0].Bits = ssh.KeyAlgoRSA, 4096
			w.ep.PubkeyAlgorithms = []string{"ssh-ed25519", ssh.KeyAlgoRSA}
		}, "rsa-sha1", RSAEnabled, OK, ""},
		{"many agent keys, IdentitiesOnly no", func(t *testing.T, w *world) {
			w.f.Agent = AgentFacts{Running: true}
			for range manyAgentKeys {
				w.f.Agent.Keys = append(w.f.Agent.Keys, newKey(t))
			}
		}, "ssh-config", SSHConfigAgentFlood, Warn, "IdentitiesOnly yes"},
		{"an IdentityFile that does not exist", func(t *testing.T, w *world) {
			w.ep.MissingIdentities = []openssh.File{file(sshPath("nope"))}
		}, "ssh-config", SSHConfigMissingIdentity, Warn, "git bbkey generate --file ~/.ssh/nope"},
		{"an encrypted key and no agent", func(t *testing.T, w *world) {
			w.f.Keys[0].Encrypted = true
		}, "agent", AgentNeeded, Warn, `eval "$(ssh-agent -s)" && ssh-add ~/.ssh/id_ed25519`},
		{"bbkey.keyFile is not what git's ssh offers", func(t *testing.T, w *world) {
			other := keyFile(t, sshPath("other"))
			w.f.Keys = append(w.f.Keys, other)
			w.f.Key = KeyChoice{Path: other.PrivateKeyPath, Configured: true}
			w.f.Registration.UserKeys[other.Fingerprint] = true
		}, "remote-key", RemoteKeyDiffers, Warn, "git config --global bbkey.keyFile ~/.ssh/id_ed25519"},
		{"bbkey.keyFile is not registered", func(t *testing.T, w *world) {
			other := keyFile(t, sshPath("other"))
			w.f.Keys = append(w.f.Keys, other)
			w.f.Key = KeyChoice{Path: other.PrivateKeyPath, Configured: true}
		}, "key-registered", KeyNotRegistered, Fail, "git bbkey add ~/.ssh/other.pub"},
		{"an https remote", func(t *testing.T, w *world) {
			w.setURL(t, "https://bb.example.com/scm/proj/demo.git", 0)
			w.origin.Endpoint = nil
		}, "remote", RemoteHTTPS, Warn, "git bbkey setup --fix-remote --remote origin"},
		{"a GitHub remote", func(t *testing.T, w *world) {
			w.f.Remotes = append(w.f.Remotes, RemoteFacts{Name: "hub", URL: "https://github.com/o/r.git", Reach: ReachNo})
			w.f.Remotes[1].Parsed, _ = gitremote.Parse("https://github.com/o/r.git")
		}, "remote", RemoteNotBitbucket, Skip, ""},
		{"no Bitbucket server known", func(t *testing.T, w *world) {
			w.f.Server, w.f.Registration = ServerFacts{}, Registration{}
			w.origin.Reach, w.origin.Repo = ReachUnknown, RepoFacts{}
		}, "remote", RemoteUnknownHost, Skip, "bbkey.url"},
		{"leftovers of a killed run", func(t *testing.T, w *world) {
			w.f.Leftovers = []sshkeys.Leftover{{Kind: sshkeys.LeftoverTempFile, Path: sshPath(".id_ed25519.tmp-1")}}
		}, "key-leftover", KeyLeftover, Warn, "git bbkey backup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := healthy(t)
			tc.plant(t, w)
			checks := Checks(w.f)
			var hit *Check
			for i, c := range checks {
				if c.Name == tc.check && c.Kind == tc.kind {
					hit = &checks[i]
				}
			}
			if hit == nil || hit.Status != tc.status {
				t.Fatalf("no %s check of kind %d with status %s:%s", tc.check, tc.kind, tc.status, dump(checks))
			}
			if !strings.Contains(hit.Fix, tc.fix) {
				t.Errorf("fix %q does not say %q", hit.Fix, tc.fix)
			}
			if hit.Status == Fail && hit.Fix == "" && hit.Cause == nil {
				t.Errorf("%s fails with no fix and no cause to explain", hit.Name)
			}
			if ok := (Report{Checks: checks}).OK(); ok != (tc.status != Fail) {
				t.Errorf("report ok = %v with a %s check:%s", ok, tc.status, dump(checks))
			}
		})
	}
}

// A key file is reported once per problem, under the right check.
func TestKeyProblemsReportedOnce(t *testing.T) {
	w := healthy(t)
	k := &w.f.Keys[0]
	k.Unprotected = &safefile.UnprotectedError{Path: k.PrivateKeyPath, Mode: 0o644, Principals: []string{"group", "others"}}
	k.Problems = []sshkeys.Problem{{Kind: sshkeys.ProblemLooseMode, Path: k.PrivateKeyPath, Mode: 0o644},
		{Kind: sshkeys.ProblemMissingPublic, Path: k.PrivateKeyPath + ".pub"}}
	k.PublicKeyPath = ""
	broken := KeyFacts{Key: sshkeys.Key{PrivateKeyPath: sshPath("id_broken"),
		Problems: []sshkeys.Problem{{Kind: sshkeys.ProblemPrivateUnparsable, Path: sshPath("id_broken"), Err: errors.New("bad")}}},
		NotLoadable: &sshkeys.NotLoadableError{Path: sshPath("id_broken"), Reason: sshkeys.LoadFormat}}
	w.f.Keys = append(w.f.Keys, broken)
	count := map[string]int{}
	for _, c := range checkKeys(w.f) {
		count[c.Name+"/"+string(c.Status)]++
	}
	want := map[string]int{"key-mode/fail": 1, "key-pair/fail": 1, "key-pair/warn": 1, "key-parse/fail": 1}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %d lines, want %d (all: %v)", k, count[k], n, count)
		}
	}
	if len(count) != len(want) {
		t.Errorf("unexpected key checks: %v", count)
	}
}
