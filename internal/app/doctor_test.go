package app

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/doctor"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

type doctorJSON struct {
	Checks []doctorCheck `json:"checks"`
	OK     bool          `json:"ok"`
}

func runDoctorJSON(t *testing.T, env *Env, stdout *bytes.Buffer, server string) (doctorJSON, error) {
	t.Helper()
	stdout.Reset()
	err := runDoctor(context.Background(), env, doctorOptions{Server: server, JSON: true})
	var res doctorJSON
	if jerr := json.Unmarshal(stdout.Bytes(), &res); jerr != nil {
		t.Fatalf("doctor --json printed something that is not one JSON document: %v\n%s", jerr, stdout)
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

// An empty home: the missing key fails (exit 1) with the fix, nothing is
// written, and every check has a status of the contract and a message.
func TestDoctorEmptyHomeFailsWithoutWriting(t *testing.T) {
	testutil.RequireTool(t, "git")
	home := t.TempDir()
	env, stdout, _ := TestEnv(home, t.TempDir(), nil)
	res, err := runDoctorJSON(t, env, stdout, "")
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
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Errorf("doctor wrote into the home directory: %v", entries)
	}
	for _, c := range res.Checks {
		switch doctor.Status(c.Status) {
		case doctor.OK, doctor.Warn, doctor.Fail, doctor.Skip:
		default:
			t.Errorf("check %s has status %q", c.Name, c.Status)
		}
		if c.Message == "" {
			t.Errorf("check %s has no message", c.Name)
		}
	}
}

func TestDoctorBadServerFlagIsUsageError(t *testing.T) {
	env, stdout, _ := TestEnv(t.TempDir(), t.TempDir(), nil)
	err := runDoctor(context.Background(), env, doctorOptions{Server: "ftp://example.com", JSON: true})
	if report(&bytes.Buffer{}, err) != exitUsage {
		t.Fatalf("bad --server: %v, want exit 2", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("a usage error printed on stdout: %s", stdout)
	}
}

// A bbkey.url that is no base URL is a failed server check whose fix
// comes from the one place that explains errors.
func TestDoctorBadConfiguredURLIsAFailedCheck(t *testing.T) {
	testutil.RequireTool(t, "git")
	home := t.TempDir()
	env, stdout, _ := TestEnv(home, t.TempDir(), nil)
	if out, err := exec.Command("git", "config", "--file", filepath.Join(home, ".gitconfig"), "bbkey.url", "bitbucket.example.com").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	res, err := runDoctorJSON(t, env, stdout, "")
	if err == nil {
		t.Fatal("doctor passed with a broken bbkey.url")
	}
	if c := findCheck(res, "server", "fail"); c == nil || !strings.Contains(c.Message, "is not a Bitbucket base URL") || c.Fix == nil || !strings.Contains(*c.Fix, "git config --global bbkey.url") {
		t.Errorf("server check: %+v", c)
	}
}

// Text escapes what comes from outside and pads the status words; JSON
// keeps it exact; a fix comes from the check, else from explaining its
// cause; a failed check is exit 1.
func TestDoctorRendering(t *testing.T) {
	hostile := "origin uses ssh://h/\x1b[2J\r\nerror: fake"
	rep := doctor.Report{Checks: []doctor.Check{
		{Name: "ssh-dir", Status: doctor.OK, Message: "~/.ssh is 0700"},
		{Name: "remote", Status: doctor.Fail, Message: hostile, Fix: "git remote set-url origin ssh://h:7999/\x07p.git"},
		{Name: "key-load", Status: doctor.Fail, Message: "~/.ssh/k: OpenSSH will not load this file",
			Cause: &sshkeys.NotLoadableError{Path: "/h/.ssh/k", Reason: sshkeys.LoadLineEndings}},
		{Name: "agent", Status: doctor.Skip, Message: "no ssh-agent is running"},
	}}
	env, stdout, _ := TestEnv(t.TempDir(), t.TempDir(), nil)
	err := reportDoctor(env, false, rep)
	if report(&bytes.Buffer{}, err) != exitFailure || !strings.Contains(err.Error(), "2 of 4 checks failed") {
		t.Fatalf("error %v", err)
	}
	want := "ok    ssh-dir   ~/.ssh is 0700\n" +
		"FAIL  remote    origin uses ssh://h/\\x1b[2J\\r\\nerror: fake\n" +
		"      fix: git remote set-url origin ssh://h:7999/\\x07p.git\n" +
		"FAIL  key-load  ~/.ssh/k: OpenSSH will not load this file\n" +
		"      fix: convert its line endings to LF (the key stays the same): sed -i 's/\\r$//' /h/.ssh/k\n" +
		"skip  agent     no ssh-agent is running\n"
	if got := stdout.String(); got != want {
		t.Errorf("text:\n%s\nwant:\n%s", got, want)
	}
	stdout.Reset()
	reportDoctor(env, true, rep)
	var res doctorJSON
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.OK || len(res.Checks) != 4 || res.Checks[1].Message != hostile || res.Checks[0].Fix != nil || res.Checks[2].Fix == nil {
		t.Errorf("json: %+v", res)
	}
}
