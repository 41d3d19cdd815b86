package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"git-bbkey": func() {
			version = "test"
			os.Exit(run())
		},
	})
}

// TestScripts runs the end-to-end scripts in testdata/script: the real
// binary, called through real git as `git bbkey`, with a fresh HOME each.
func TestScripts(t *testing.T) {
	testutil.RequireTool(t, "git")
	testutil.RequireTool(t, "ssh-keygen")
	testscript.Run(t, scriptParams(t, "testdata/script"))
}

func scriptParams(t *testing.T, dir string) testscript.Params {
	return testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		Condition:           toolCondition,
		Setup: func(e *testscript.Env) error {
			home := filepath.Join(e.WorkDir, "home")
			if err := os.MkdirAll(home, 0o755); err != nil {
				return err
			}
			e.Setenv("HOME", home)
			e.Setenv("USERPROFILE", home)
			e.Setenv("GIT_CONFIG_NOSYSTEM", "1")
			e.Setenv("GIT_TERMINAL_PROMPT", "")
			e.Setenv("BITBUCKET_TOKEN", "")
			e.Setenv("SSH_AUTH_SOCK", "")
			e.Values[sandboxKey{}] = &sandboxHolder{}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"checkkey":     cmdCheckKey,
			"stdoutfp":     cmdStdoutFingerprint,
			"mode":         cmdMode,
			"chmod":        cmdChmod,
			"sshkeygen-fp": cmdSSHKeygenFP,
			"onlydir":      cmdOnlyDir,
			"sandbox":      cmdSandbox,
			"bbuserkey":    cmdBBUserKey,
			"bbaccesskey":  cmdBBAccessKey,
			"bbfail":       cmdBBFail,
			"bbfaults":     cmdBBFaults,
			"bbssh":        cmdBBSSH,
			"snapshot":     cmdSnapshot,
			"unchanged":    cmdUnchanged,
			"bbcount":      cmdBBCount,
		},
	}
}

// sshKeygen runs ssh-keygen with a passphrase given as a file through
// SSH_ASKPASS-free means: -P on argv is fine here, it is a test secret.
func sshKeygen(ts *testscript.TestScript, args ...string) (string, error) {
	out, err := exec.Command("ssh-keygen", args...).CombinedOutput()
	return string(out), err
}

// checkkey PRIVATE [PASSFILE]: ssh-keygen must read our private key, derive
// the same public key as PRIVATE.pub, and agree on its fingerprint.
func cmdCheckKey(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: checkkey PRIVATE [PASSFILE]")
	}
	priv := ts.MkAbs(args[0])
	pass := ""
	if len(args) == 2 {
		pass = strings.SplitN(ts.ReadFile(args[1]), "\n", 2)[0]
	}
	derived, err := sshKeygen(ts, "-y", "-P", pass, "-f", priv)
	if neg {
		if err == nil {
			ts.Fatalf("ssh-keygen read %s with that passphrase", priv)
		}
		return
	}
	if err != nil {
		ts.Fatalf("ssh-keygen -y -f %s: %v\n%s", priv, err, derived)
	}
	pubLine := strings.Fields(ts.ReadFile(args[0] + ".pub"))
	got := strings.Fields(derived)
	if len(got) < 2 || len(pubLine) < 2 || got[0] != pubLine[0] || got[1] != pubLine[1] {
		ts.Fatalf("public key derived by ssh-keygen %q differs from %s.pub %q", got, priv, pubLine)
	}
	fpPriv := sshKeygenFingerprint(ts, priv)
	fpPub := sshKeygenFingerprint(ts, priv+".pub")
	if fpPriv != fpPub {
		ts.Fatalf("fingerprints differ: %s vs %s", fpPriv, fpPub)
	}
}

func sshKeygenFingerprint(ts *testscript.TestScript, path string) string {
	out, err := sshKeygen(ts, "-l", "-E", "sha256", "-f", path)
	if err != nil {
		ts.Fatalf("ssh-keygen -l -f %s: %v\n%s", path, err, out)
	}
	f := strings.Fields(out)
	if len(f) < 2 {
		ts.Fatalf("unexpected ssh-keygen -l output %q", out)
	}
	return f[1]
}

// stdoutfp FILE: the last command's stdout contains the fingerprint that
// ssh-keygen -l -E sha256 computes for FILE.
func cmdStdoutFingerprint(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: stdoutfp KEYFILE")
	}
	fp := sshKeygenFingerprint(ts, ts.MkAbs(args[0]))
	has := strings.Contains(ts.ReadFile("stdout"), fp)
	if has == neg {
		ts.Fatalf("stdout contains ssh-keygen's fingerprint %s: %v", fp, has)
	}
}

// sshkeygen-fp FILE: prints ssh-keygen's fingerprint into $FP for later use.
func cmdSSHKeygenFP(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: sshkeygen-fp VAR KEYFILE")
	}
	ts.Setenv(args[0], sshKeygenFingerprint(ts, ts.MkAbs(args[1])))
}

// mode PATH OCTAL: the file's permission bits are exactly OCTAL.
func cmdMode(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: mode PATH OCTAL")
	}
	st, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	want, err := strconv.ParseUint(args[1], 8, 32)
	ts.Check(err)
	if (uint64(st.Mode().Perm()) == want) == neg {
		ts.Fatalf("%s has mode %04o, want %s%s", args[0], st.Mode().Perm(), map[bool]string{true: "not ", false: ""}[neg], args[1])
	}
}

// chmod OCTAL PATH
func cmdChmod(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: chmod OCTAL PATH")
	}
	m, err := strconv.ParseUint(args[0], 8, 32)
	ts.Check(err)
	ts.Check(os.Chmod(ts.MkAbs(args[1]), os.FileMode(m)))
}

// onlydir VAR DIR: DIR has exactly one subdirectory; its path goes to $VAR.
func cmdOnlyDir(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: onlydir VAR DIR")
	}
	des, err := os.ReadDir(ts.MkAbs(args[1]))
	ts.Check(err)
	var dirs []string
	for _, de := range des {
		if de.IsDir() {
			dirs = append(dirs, de.Name())
		}
	}
	if len(dirs) != 1 {
		ts.Fatalf("%s has subdirectories %v, want exactly one", args[1], dirs)
	}
	ts.Setenv(args[0], filepath.Join(ts.MkAbs(args[1]), dirs[0]))
}

// toolCondition answers [tool:NAME]: whether an external program is
// installed. Under BBKEY_REQUIRE_TOOLS=1 (CI) a missing tool is an error,
// so a script can never skip there for want of it.
func toolCondition(cond string) (bool, error) {
	name, ok := strings.CutPrefix(cond, "tool:")
	if !ok {
		return false, fmt.Errorf("unknown condition %q", cond)
	}
	if _, err := exec.LookPath(name); err == nil {
		return true, nil
	}
	if os.Getenv(testutil.RequireEnv) == "1" {
		return false, fmt.Errorf("required tool %q is not installed (%s=1)", name, testutil.RequireEnv)
	}
	return false, nil
}
