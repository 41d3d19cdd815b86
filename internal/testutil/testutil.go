// Package testutil holds helpers shared by the test suites.
package testutil

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// RequireEnv is the environment variable that turns a missing external tool
// from a skip into a failure. .ci/run sets it so that CI never counts a
// skipped integration test as passing.
const RequireEnv = "BBKEY_REQUIRE_TOOLS"

// RequireTool returns the absolute path of an external program the test
// needs (ssh-keygen, git, sshd, ...). Locally a missing tool skips the test
// with the reason; with BBKEY_REQUIRE_TOOLS=1 (as in CI) it fails it.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	// sshd usually lives outside a normal user's PATH. (Not on Windows,
	// where under Wine /usr/sbin would find Linux programs.)
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		p := dir + "/" + name
		if st, err := os.Stat(p); runtime.GOOS != "windows" && err == nil && !st.IsDir() {
			return p
		}
	}
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("required tool %q is not installed (%s=1)", name, RequireEnv)
	}
	where := ""
	if runtime.GOOS == "windows" {
		where = " as a Windows program"
	}
	t.Skipf("skipping: %q is not installed%s (install it, or set %s=1 to make this a failure)", name, where, RequireEnv)
	return ""
}
