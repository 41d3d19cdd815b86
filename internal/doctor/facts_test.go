package doctor

import (
	"crypto/ed25519"
	"crypto/rand"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

// home is a made-up home directory: the checks never look at the disk.
var home = filepath.Join(string(filepath.Separator)+"home", "u")

func sshPath(name string) string { return filepath.Join(home, ".ssh", name) }

func newKey(t testing.TB) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// keyFile is a healthy ed25519 pair at path.
func keyFile(t testing.TB, path string) KeyFacts {
	pub := newKey(t)
	return KeyFacts{Key: sshkeys.Key{PrivateKeyPath: path, PublicKeyPath: path + ".pub", Type: ssh.KeyAlgoED25519,
		Bits: 256, Fingerprint: sshkeys.Fingerprint(pub), PublicKey: pub, Problems: []sshkeys.Problem{}}}
}

func file(p string) openssh.File { return openssh.File{Path: p, HomePath: p} }

// world holds the keys of a made-up healthy set-up, for faults to plant.
type world struct {
	f       *Facts
	key     KeyFacts      // ~/.ssh/id_ed25519, registered, offered for origin
	hostKey ssh.PublicKey // the server's, known and published
	origin  *RemoteFacts
	ep      *Endpoint
}

// healthy is a set-up where git works: a registered key that git's ssh
// offers for origin, its host key known and published over a trusted
// channel, the repository there.
func healthy(t testing.TB) *world {
	w := &world{key: keyFile(t, sshPath("id_ed25519")), hostKey: newKey(t)}
	kh := sshPath("known_hosts")
	s := &openssh.Settings{Hostname: "bb.example.com", Port: 7999, User: "git",
		IdentityFiles: []openssh.File{file(w.key.PrivateKeyPath)}, UserKnownHostsFiles: []openssh.File{file(kh)},
		Variant: openssh.VariantSSH, AccountHome: home, Home: home, ConfigFiles: []string{sshPath("config")}}
	w.ep = &Endpoint{Target: openssh.Target{Host: "bb.example.com", Port: 7999}, Settings: s,
		Offered: file(w.key.PrivateKeyPath), HasOffered: true, SSHOffered: w.key.PrivateKeyPath,
		KnownHostsFiles: []string{kh}, OnServer: true,
		KnownHosts: sshverify.HostKeys{Name: "[bb.example.com]:7999", Keys: []sshverify.KnownHostEntry{{File: kh, Line: 1, Key: w.hostKey}}},
		Published:  bbsession.HostKey{Fingerprint: ssh.FingerprintSHA256(w.hostKey), Trusted: true}}
	u, err := gitremote.Parse("ssh://git@bb.example.com:7999/proj/demo.git")
	if err != nil {
		t.Fatal(err)
	}
	w.f = &Facts{
		Home: home, SSHDir: filepath.Join(home, ".ssh"),
		SSHDirInfo: FileInfo{Path: filepath.Join(home, ".ssh"), Exists: true, Mode: fs.ModeDir | 0o700},
		SSHConfig:  FileInfo{Path: sshPath("config"), Exists: true, Mode: 0o600},
		Keys:       []KeyFacts{w.key},
		Key:        KeyChoice{Path: w.key.PrivateKeyPath},
		SSH: SSHFacts{Command: openssh.Command{Text: "ssh", Variant: openssh.VariantSSH, Words: []string{"ssh"}},
			Path: "/usr/bin/ssh", Version: Version{Major: 9, Minor: 2, Raw: "9.2p1"}},
		Server: ServerFacts{Base: "https://bb.example.com",
			Settings:        &bitbucket.Settings{Enabled: true, Port: 7999, Fingerprint: ssh.FingerprintSHA256(w.hostKey)},
			WithCredentials: true, Address: bbsession.SSHAddress{Host: "bb.example.com", Port: 7999, User: "git"}, Authenticated: true},
		Registration: Registration{Asked: true, UserKeys: map[string]bool{w.key.Fingerprint: true}},
		Remotes: []RemoteFacts{{Name: "origin", URL: u.Raw, Parsed: u, Reach: ReachYes, Project: "proj", Slug: "demo",
			Repo: RepoFacts{Asked: true, Authenticated: true}, Endpoint: w.ep}},
	}
	w.origin = &w.f.Remotes[0]
	return w
}

// setURL points origin at raw, with ssh going to port.
func (w *world) setURL(t testing.TB, raw string, port int) {
	u, err := gitremote.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	w.origin.URL, w.origin.Parsed = raw, u
	w.ep.Target = target(u.Host, u.Port, u.User)
	w.ep.Settings.Port = port
}

// find returns the checks named name.
func find(checks []Check, name string) []Check {
	var out []Check
	for _, c := range checks {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

func dump(checks []Check) string {
	var b strings.Builder
	for _, c := range checks {
		b.WriteString("\n  " + string(c.Status) + " " + c.Name + ": " + c.Message)
		if c.Fix != "" {
			b.WriteString("\n      fix: " + c.Fix)
		}
	}
	return b.String()
}
