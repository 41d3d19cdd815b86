package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// doctorTestEnv is an Env with a fresh home and working directory, and
// only the variables in vars (plus PATH).
func doctorTestEnv(t *testing.T, vars map[string]string) (*Env, string, *bytes.Buffer) {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("needs git")
	}
	home := t.TempDir()
	all := map[string]string{"HOME": home, "USERPROFILE": home, "GIT_CONFIG_NOSYSTEM": "1", "PATH": os.Getenv("PATH")}
	for k, v := range vars {
		all[k] = v
	}
	var environ []string
	for k, v := range all {
		environ = append(environ, k+"="+v)
	}
	var stdout bytes.Buffer
	env := &Env{
		Stdin:    strings.NewReader(""),
		Stdout:   &stdout,
		Stderr:   &bytes.Buffer{},
		Getenv:   func(k string) string { return all[k] },
		Environ:  func() []string { return environ },
		Home:     func() (string, error) { return home, nil },
		Now:      time.Now,
		Dir:      t.TempDir(),
		Prompter: noPrompt{},
		Git:      git,
		Random:   rand.Reader,
		Version:  "test",
	}
	return env, home, &stdout
}

type doctorJSON struct {
	Checks []doctorCheck `json:"checks"`
	OK     bool          `json:"ok"`
}

func runDoctorJSON(t *testing.T, env *Env, server string) (doctorJSON, error) {
	t.Helper()
	out := env.Stdout.(*bytes.Buffer)
	out.Reset()
	err := runDoctor(context.Background(), env, doctorOptions{Server: server, JSON: true})
	var res doctorJSON
	if jerr := json.Unmarshal(out.Bytes(), &res); jerr != nil {
		t.Fatalf("doctor --json printed something that is not one JSON document: %v\n%s", jerr, out)
	}
	return res, err
}

func findCheck(res doctorJSON, name, status string) *doctorCheck {
	for i, c := range res.Checks {
		if c.Name == name && (status == "" || c.Status == status) {
			return &res.Checks[i]
		}
	}
	return nil
}

func writeKeyPair(t *testing.T, path string, encrypted bool) ssh.PublicKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var pass []byte
	if encrypted {
		pass = []byte("correct horse")
	}
	pem, err := sshkeys.MarshalPrivateKey(priv, "t@example.com", pass)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".pub", sshkeys.MarshalPublicKey(pub, "t@example.com"), 0o644); err != nil {
		t.Fatal(err)
	}
	return pub
}

// serveAgent runs an in-process ssh-agent holding n fresh keys (and
// extra) on a unix socket; it returns the socket path.
func serveAgent(t *testing.T, n int, extra ...any) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("unix sockets")
	}
	dir, err := os.MkdirTemp("", "agent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	keyring := agent.NewKeyring()
	for i := 0; i < n; i++ {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range extra {
		if err := keyring.Add(agent.AddedKey{PrivateKey: k}); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	return sock
}

func TestDoctorEmptyHomeFailsWithoutWriting(t *testing.T) {
	env, home, _ := doctorTestEnv(t, nil)
	res, err := runDoctorJSON(t, env, "")
	if err == nil || res.OK {
		t.Fatalf("doctor with no key passed: ok=%v err=%v", res.OK, err)
	}
	if report(&bytes.Buffer{}, err) != exitFailure {
		t.Errorf("exit code is not 1")
	}
	if c := findCheck(res, "key", "fail"); c == nil || c.Fix == nil || *c.Fix != "git bbkey setup" {
		t.Errorf("no failing key check with the setup fix: %+v", res.Checks)
	}
	if c := findCheck(res, "server", "skip"); c == nil || c.Fix == nil || !strings.Contains(*c.Fix, "bbkey.url") {
		t.Errorf("server check does not say how to name the server: %+v", c)
	}
	entries, _ := os.ReadDir(home)
	if len(entries) != 0 {
		t.Errorf("doctor wrote into the home directory: %v", entries)
	}
	for _, c := range res.Checks {
		switch c.Status {
		case doctorOK, doctorWarn, doctorFail, doctorSkip:
		default:
			t.Errorf("check %s has status %q", c.Name, c.Status)
		}
		if c.Message == "" {
			t.Errorf("check %s has no message", c.Name)
		}
	}
}

func TestDoctorBadServerFlagIsUsageError(t *testing.T) {
	env, _, out := doctorTestEnv(t, nil)
	err := runDoctor(context.Background(), env, doctorOptions{Server: "ftp://example.com", JSON: true})
	if report(&bytes.Buffer{}, err) != exitUsage {
		t.Fatalf("bad --server: %v, want exit 2", err)
	}
	if out.Len() != 0 {
		t.Errorf("a usage error printed on stdout: %s", out)
	}
}

func TestDoctorBadConfiguredURLIsAFailedCheck(t *testing.T) {
	env, home, _ := doctorTestEnv(t, nil)
	writeKeyPair(t, filepath.Join(home, ".ssh", "id_ed25519"), false)
	if out, err := exec.Command(env.Git, "config", "--file", filepath.Join(home, ".gitconfig"), "bbkey.url", "bitbucket.example.com").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	res, err := runDoctorJSON(t, env, "")
	if err == nil {
		t.Fatal("doctor passed with a broken bbkey.url")
	}
	if c := findCheck(res, "server", "fail"); c == nil || !strings.Contains(c.Message, "is not a Bitbucket base URL") || c.Fix == nil || !strings.Contains(*c.Fix, "git config --global bbkey.url") {
		t.Errorf("server check: %+v", c)
	}
}

func TestDoctorEncryptedKeyWithoutAgent(t *testing.T) {
	env, home, _ := doctorTestEnv(t, nil)
	key := filepath.Join(home, ".ssh", "id_ed25519")
	writeKeyPair(t, key, true)
	res, err := runDoctorJSON(t, env, "")
	if err != nil {
		t.Fatalf("warnings only, yet: %v\n%+v", err, res.Checks)
	}
	c := findCheck(res, "agent", "warn")
	if c == nil || c.Fix == nil || *c.Fix != `eval "$(ssh-agent -s)" && ssh-add ~/.ssh/id_ed25519` {
		t.Fatalf("agent check: %+v", c)
	}
}

func TestDoctorAgentHoldsDefaultKey(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	sock := serveAgent(t, 2, priv)
	env, home, _ := doctorTestEnv(t, map[string]string{"SSH_AUTH_SOCK": sock})
	key := filepath.Join(home, ".ssh", "id_ed25519")
	pem, _ := sshkeys.MarshalPrivateKey(priv, "t", []byte("pw"))
	pub, _ := ssh.NewPublicKey(priv.Public())
	os.MkdirAll(filepath.Dir(key), 0o700)
	os.WriteFile(key, pem, 0o600)
	os.WriteFile(key+".pub", sshkeys.MarshalPublicKey(pub, "t"), 0o644)
	res, _ := runDoctorJSON(t, env, "")
	c := findCheck(res, "agent", "")
	if c == nil || c.Status != doctorOK || c.Message != "ssh-agent holds 3 keys, ~/.ssh/id_ed25519 among them" {
		t.Fatalf("agent check: %+v", c)
	}
}

func TestDoctorManyAgentKeysWithoutIdentitiesOnly(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skip("needs the OpenSSH client")
	}
	sock := serveAgent(t, doctorManyAgentKeys+1)
	env, home, _ := doctorTestEnv(t, map[string]string{"SSH_AUTH_SOCK": sock})
	writeKeyPair(t, filepath.Join(home, ".ssh", "id_ed25519"), false)
	cfg := filepath.Join(home, ".ssh", "config")
	if err := os.WriteFile(cfg, []byte("Host 127.0.0.1\n  User git\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// nothing listens on port 1: the server check fails, the SSH host is still known
	res, _ := runDoctorJSON(t, env, "http://127.0.0.1:1")
	c := findCheck(res, "ssh-config", "warn")
	if c == nil || !strings.Contains(c.Message, "holds 6 keys and IdentitiesOnly is no for 127.0.0.1") || c.Fix == nil || !strings.Contains(*c.Fix, "IdentitiesOnly yes") {
		t.Fatalf("ssh-config check: %+v\n%+v", c, res.Checks)
	}
	if c := findCheck(res, "server", "fail"); c == nil || !strings.Contains(c.Message, "cannot read the SSH settings of http://127.0.0.1:1") {
		t.Errorf("server check: %+v", c)
	}
	os.WriteFile(cfg, []byte("Host 127.0.0.1\n  IdentitiesOnly yes\n"), 0o600)
	res, _ = runDoctorJSON(t, env, "http://127.0.0.1:1")
	if c := findCheck(res, "ssh-config", "warn"); c != nil {
		t.Errorf("IdentitiesOnly yes still warns: %+v", c)
	}
	if c := findCheck(res, "ssh-config", "ok"); c == nil || !strings.HasSuffix(c.Message, "identitiesonly yes") {
		t.Errorf("ssh-config summary: %+v", c)
	}
}

func TestDoctorWithoutSSHClient(t *testing.T) {
	env, home, _ := doctorTestEnv(t, nil)
	writeKeyPair(t, filepath.Join(home, ".ssh", "id_ed25519"), false)
	os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte("Host *\n  IdentitiesOnly yes\n"), 0o600)
	t.Setenv("PATH", t.TempDir()) // no ssh; git is called by its full path
	res, _ := runDoctorJSON(t, env, "http://127.0.0.1:1")
	if c := findCheck(res, "rsa-sha1", "skip"); c == nil || c.Message != "the OpenSSH client (ssh) is not installed" {
		t.Errorf("rsa-sha1 check: %+v", c)
	}
	if c := findCheck(res, "ssh-config", "skip"); c == nil || !strings.Contains(c.Message, "not installed") {
		t.Errorf("ssh-config check: %+v", c)
	}
}

func TestDoctorMissingConfiguredKeyFile(t *testing.T) {
	env, home, _ := doctorTestEnv(t, nil)
	writeKeyPair(t, filepath.Join(home, ".ssh", "id_ed25519"), false)
	if out, err := exec.Command(env.Git, "config", "--file", filepath.Join(home, ".gitconfig"), "bbkey.keyFile", "~/keys/gone").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	res, err := runDoctorJSON(t, env, "")
	if err == nil {
		t.Fatal("doctor passed with bbkey.keyFile naming no file")
	}
	if c := findCheck(res, "key", "fail"); c == nil || !strings.Contains(c.Message, "~/keys/gone, which does not exist") {
		t.Errorf("key check: %+v", res.Checks)
	}
}

func TestParseSSHDashG(t *testing.T) {
	e := parseSSHDashG([]byte("user git\nhostname bb.example.com\nport 7999\nidentityfile ~/.ssh/id_ed25519\nidentityfile /k/two words\nidentitiesonly yes\npubkeyacceptedalgorithms ssh-ed25519,ssh-rsa\n"))
	if e.user != "git" || e.hostname != "bb.example.com" || e.port != 7999 || !e.identitiesOnly {
		t.Errorf("parsed %+v", e)
	}
	if len(e.identityFiles) != 2 || e.identityFiles[1] != "/k/two words" {
		t.Errorf("identity files %q", e.identityFiles)
	}
	if len(e.pubkeyAlgos) != 2 || e.pubkeyAlgos[1] != "ssh-rsa" {
		t.Errorf("algorithms %q", e.pubkeyAlgos)
	}
}

func TestDoctorShellPaths(t *testing.T) {
	d := &doctor{home: "/home/u", sshDir: "/home/u/.ssh"}
	for in, want := range map[string]string{
		"/home/u/.ssh/id_rsa":      "~/.ssh/id_rsa",
		"/home/u/.ssh/my key":      "'/home/u/.ssh/my key'",
		"/home/u/.ssh/it's":        `'/home/u/.ssh/it'\''s'`,
		"/elsewhere/id_ed25519":    "/elsewhere/id_ed25519",
		"/home/user2/.ssh/id_rsa2": "/home/user2/.ssh/id_rsa2",
	} {
		if got := d.shell(in); got != want {
			t.Errorf("shell(%q) = %q, want %q", in, got, want)
		}
	}
	// An absolute path on Windows starts with a drive.
	vol := map[bool]string{true: "C:"}[runtime.GOOS == "windows"]
	d = &doctor{home: vol + "/home/u", sshDir: vol + "/home/u/.ssh"}
	for in, want := range map[string]string{
		"~/.ssh/k":                         vol + "/home/u/.ssh/k",
		"%d/.ssh/k":                        vol + "/home/u/.ssh/k",
		"relative":                         vol + "/home/u/.ssh/relative",
		filepath.FromSlash(vol + "/abs/k"): vol + "/abs/k",
		"~/.ssh/%h_k":                      "",
	} {
		if got := d.expandSSHPath(in); got != filepath.FromSlash(want) && !(want == "" && got == "") {
			t.Errorf("expandSSHPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every problem sshkeys reports shows up exactly once, under the right
// check: the messages doctor recognises must stay in step with sshkeys.
func TestDoctorKeyProblemsAreReportedOnce(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes")
	}
	env, home, _ := doctorTestEnv(t, nil)
	dir := filepath.Join(home, ".ssh")
	key := filepath.Join(dir, "id_ed25519")
	writeKeyPair(t, key, false)
	os.Chmod(key, 0o644)
	os.Remove(key + ".pub")
	other := filepath.Join(dir, "other")
	writeKeyPair(t, other, false)
	strangerPub := writeKeyPair(t, filepath.Join(t.TempDir(), "stranger"), false)
	os.WriteFile(other+".pub", sshkeys.MarshalPublicKey(strangerPub, "x"), 0o644)
	os.WriteFile(filepath.Join(dir, "id_broken"), []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nbm90IGEga2V5\n-----END OPENSSH PRIVATE KEY-----\n"), 0o600)

	res, err := runDoctorJSON(t, env, "")
	if err == nil {
		t.Fatal("doctor passed")
	}
	count := map[string]int{}
	for _, c := range res.Checks {
		if strings.HasPrefix(c.Name, "key") {
			count[c.Name+"/"+c.Status]++
			if c.Status == doctorFail && c.Fix == nil {
				t.Errorf("%s fails without a fix: %s", c.Name, c.Message)
			}
		}
	}
	want := map[string]int{
		"key-mode/fail":  1, // id_ed25519 is 0644
		"key-pair/fail":  1, // the default key lacks its .pub
		"key-pair/warn":  1, // so does id_broken, which is no default key
		"key-parse/fail": 2, // other.pub belongs to another key; id_broken does not parse
	}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %d lines, want %d (all: %v)\n%+v", k, count[k], n, count, res.Checks)
		}
	}
	if len(count) != len(want) {
		t.Errorf("unexpected key checks: %v", count)
	}
	if c := findCheck(res, "key-mode", "fail"); c == nil || *c.Fix != "chmod 600 ~/.ssh/id_ed25519" {
		t.Errorf("key-mode: %+v", c)
	}
	if c := findCheck(res, "key-pair", "fail"); c == nil || *c.Fix != "ssh-keygen -y -f ~/.ssh/id_ed25519 > ~/.ssh/id_ed25519.pub" {
		t.Errorf("key-pair: %+v", c)
	}
}
