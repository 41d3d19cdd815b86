//go:build wine

// This file runs git-bbkey.exe, the Windows build, under Wine on Linux. It
// is built only with -tags wine, by .ci/wine-tests.sh, which sets up the
// Wine prefix and builds the .exe (TEST-ONLY). The sandbox and the oracles
// (ssh-keygen) run as Linux programs on loopback; no Windows git exists in
// the prefix, so only commands that need no git run, and a command that
// does need git must say that git was not found.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

type wineRun struct {
	t       *testing.T
	wine    string
	exe     string
	prefix  string
	environ []string
}

// run runs git-bbkey.exe with args under Wine and returns stdout, stderr
// and the exit code.
func (w *wineRun) run(args ...string) (string, string, int) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, w.wine, append([]string{w.exe}, args...)...)
	cmd.WaitDelay = testutil.CommandWaitDelay // a Wine service left holding the pipes must not hang the test
	cmd.Env = w.environ
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	w.t.Logf("git-bbkey.exe %s (%s)", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	code := 0
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		w.t.Fatalf("running %q under Wine: %v", args, err)
	}
	return stdout.String(), stderr.String(), code
}

// runJSON runs a command that must succeed and decodes its --json output.
func (w *wineRun) runJSON(v any, args ...string) {
	w.t.Helper()
	stdout, stderr, code := w.run(args...)
	if code != 0 {
		w.t.Fatalf("git-bbkey.exe %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), v); err != nil {
		w.t.Fatalf("git-bbkey.exe %s: stdout is not one JSON document: %v\n%s", strings.Join(args, " "), err, stdout)
	}
}

// unixPath maps a path the Windows program printed (C:\users\...) to the
// Linux path of the same file: drive letters live in the prefix's
// dosdevices directory.
func (w *wineRun) unixPath(win string) string {
	w.t.Helper()
	if len(win) < 3 || win[1] != ':' || win[2] != '\\' {
		w.t.Fatalf("%q is not an absolute Windows path", win)
	}
	drive := strings.ToLower(win[:2])
	return filepath.Join(w.prefix, "dosdevices", drive, filepath.FromSlash(strings.ReplaceAll(win[3:], `\`, "/")))
}

func TestWineEndToEnd(t *testing.T) {
	wine, exe, prefix := os.Getenv("BBKEY_WINE"), os.Getenv("BBKEY_WINE_EXE"), os.Getenv("WINEPREFIX")
	if wine == "" || exe == "" || prefix == "" {
		t.Fatal("run this through .ci/wine-tests.sh, which sets BBKEY_WINE, BBKEY_WINE_EXE and WINEPREFIX")
	}
	sshKeygen := testutil.RequireTool(t, "ssh-keygen")
	testutil.RequireTool(t, "git") // the sandbox serves repositories with Linux git

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := bbsandbox.Start(ctx, bbsandbox.Config{
		DataDir:  t.TempDir(),
		Users:    []bbsandbox.User{{Name: "alice", Password: "alice-pass-Z7", Tokens: []string{"alice-token-Q9"}}},
		Projects: []bbsandbox.Project{{Key: "PROJ", Name: "Project", Repos: []string{"demo"}, Admins: []string{"alice"}}},
		Logf:     t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	var environ []string
	for _, kv := range os.Environ() {
		// Nothing from the Linux side that would change what git-bbkey does.
		if k, _, _ := strings.Cut(kv, "="); k != "SSH_AUTH_SOCK" && k != "BITBUCKET_TOKEN" && !strings.HasPrefix(k, "GIT_") {
			environ = append(environ, kv)
		}
	}
	w := &wineRun{t: t, wine: wine, exe: exe, prefix: prefix, environ: append(environ, "WINEDEBUG=-all")}

	// list: where the keys live (the prefix's %USERPROFILE%\.ssh), empty.
	var list struct {
		SSHDir string `json:"sshDir"`
		Keys   []struct {
			PrivateKeyPath string `json:"privateKeyPath"`
			Fingerprint    string `json:"fingerprint"`
			Comment        string `json:"comment"`
		} `json:"keys"`
	}
	w.runJSON(&list, "list", "--json")
	if !strings.HasPrefix(list.SSHDir, `C:\users\`) || !strings.HasSuffix(list.SSHDir, `\.ssh`) {
		t.Fatalf("sshDir %q is not %%USERPROFILE%%\\.ssh", list.SSHDir)
	}
	sshDir := w.unixPath(list.SSHDir)
	if err := os.RemoveAll(sshDir); err != nil {
		t.Fatal(err)
	}
	w.runJSON(&list, "list", "--json")
	if len(list.Keys) != 0 {
		t.Fatalf("list in an empty home: %+v", list.Keys)
	}

	// generate --comment --no-passphrase: a key ssh-keygen reads back.
	var gen struct {
		PrivateKeyPath, PublicKeyPath, Type, Fingerprint, Comment string
	}
	w.runJSON(&gen, "generate", "--comment", "wine@example.com", "--no-passphrase", "--json")
	if gen.PrivateKeyPath != list.SSHDir+`\id_ed25519` || gen.Type != "ssh-ed25519" || gen.Comment != "wine@example.com" {
		t.Fatalf("generate --json: %+v", gen)
	}
	priv, pub := w.unixPath(gen.PrivateKeyPath), w.unixPath(gen.PublicKeyPath)
	pubText, err := os.ReadFile(pub)
	if err != nil {
		t.Fatal(err)
	}
	// ssh-keygen refuses a private key other users may read, and Wine
	// knows no Unix modes: give the oracle a 0600 copy of the same bytes.
	keyBytes, err := os.ReadFile(priv)
	if err != nil {
		t.Fatal(err)
	}
	oracleCopy := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(oracleCopy, keyBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	derived, err := exec.Command(sshKeygen, "-y", "-f", oracleCopy).Output()
	if err != nil {
		t.Fatalf("ssh-keygen -y cannot read the key git-bbkey.exe wrote: %v", err)
	}
	if f := strings.Fields(string(derived)); len(f) < 2 || !strings.HasPrefix(string(pubText), f[0]+" "+f[1]+" wine@example.com") {
		t.Fatalf("ssh-keygen -y derives %q, the .pub file says %q", derived, pubText)
	}
	fp, err := exec.Command(sshKeygen, "-l", "-E", "sha256", "-f", pub).Output()
	if err != nil || !strings.Contains(string(fp), " "+gen.Fingerprint+" ") {
		t.Fatalf("ssh-keygen -l: %q (%v), git-bbkey said %s", fp, err, gen.Fingerprint)
	}

	// list finds it.
	w.runJSON(&list, "list", "--json")
	if len(list.Keys) != 1 || list.Keys[0].PrivateKeyPath != gen.PrivateKeyPath || list.Keys[0].Fingerprint != gen.Fingerprint {
		t.Fatalf("list after generate: %+v", list.Keys)
	}

	// backup copies both halves, byte for byte.
	var backup struct {
		BackupDir string   `json:"backupDir"`
		Files     []string `json:"files"`
	}
	w.runJSON(&backup, "backup", "--json")
	if !strings.HasPrefix(backup.BackupDir, list.SSHDir+`\key_backup\`) || len(backup.Files) != 2 {
		t.Fatalf("backup --json: %+v", backup)
	}
	for _, f := range backup.Files {
		got, err := os.ReadFile(w.unixPath(f))
		want, _ := os.ReadFile(filepath.Join(sshDir, filepath.Base(w.unixPath(f))))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("backup %s differs from the original (%v)", f, err)
		}
	}

	// A command that needs git (user.email for the comment) says that
	// git was not found: there is no Windows git in the prefix.
	_, stderr, code := w.run("generate", "--file", list.SSHDir+`\id_other`, "--no-passphrase")
	if code != 1 || !strings.HasPrefix(stderr, "error: git was not found\nhint: install git") {
		t.Errorf("generate without a comment and without git: exit %d, stderr:\n%s", code, stderr)
	}

	// add registers the key in the sandbox (the token comes from the
	// environment), and a second add finds it there.
	w.environ = append(w.environ, "BITBUCKET_TOKEN=alice-token-Q9")
	var add struct {
		Results []struct{ Status, Kind, Fingerprint string } `json:"results"`
	}
	w.runJSON(&add, "add", "--server", srv.URL(), "--json", gen.PublicKeyPath)
	if len(add.Results) != 1 || add.Results[0].Status != "added" || add.Results[0].Fingerprint != gen.Fingerprint {
		t.Fatalf("add --json: %+v", add.Results)
	}
	registered := false
	for _, k := range srv.UserKeys("alice") {
		registered = registered || k.Fingerprint == gen.Fingerprint
	}
	if !registered {
		t.Fatalf("the sandbox has no key %s for alice after add", gen.Fingerprint)
	}
	w.runJSON(&add, "add", "--server", srv.URL(), "--json", gen.PublicKeyPath)
	if len(add.Results) != 1 || add.Results[0].Status != "already-present" {
		t.Fatalf("second add --json: %+v", add.Results)
	}

	// verify --key against the sandbox's SSH side: host key pinned on
	// request, whoami and the ref advertisement through real git.
	var verify struct {
		Results []struct {
			Status, User, Key, Fingerprint, Message string
			Refs                                    *int
		} `json:"results"`
	}
	url := srv.CloneURL("PROJ", "demo")
	w.runJSON(&verify, "verify", "--key", gen.PrivateKeyPath, "--accept-new-host-key", "--json", url)
	if len(verify.Results) != 1 || verify.Results[0].Status != "ok" || verify.Results[0].User != "alice" || verify.Results[0].Fingerprint != gen.Fingerprint {
		t.Fatalf("verify --json %s: %+v", url, verify.Results)
	}
	kh, err := os.ReadFile(filepath.Join(sshDir, "known_hosts"))
	if err != nil || !strings.Contains(string(kh), srv.KnownHostsLine()) {
		t.Fatalf("known_hosts after verify --accept-new-host-key: %q (%v), want the line %q", kh, err, srv.KnownHostsLine())
	}
	// Pinned now: a second verify needs no flag.
	w.runJSON(&verify, "verify", "--key", gen.PrivateKeyPath, "--json", url)
	if len(verify.Results) != 1 || verify.Results[0].Status != "ok" {
		t.Fatalf("second verify --json: %+v", verify.Results)
	}
}
