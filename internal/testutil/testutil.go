// Package testutil holds helpers shared by the test suites.
package testutil

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"
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

// CommandTimeout is how long a process started by Command may run before
// it is killed: far more than any test's git or ssh needs, far less than
// go test's own timeout.
const CommandTimeout = time.Minute

// CommandWaitDelay is how long, once the process has exited or been
// killed, Wait waits for its output pipes to close before closing them
// itself.
const CommandWaitDelay = 5 * time.Second

// Command is exec.Command with a deadline, for a test that runs a real
// tool (git, ssh, a re-run of the test binary) against a server or
// anything else that may accept and then stall: the process is killed
// after CommandTimeout, and Wait returns CommandWaitDelay later even if a
// process it started (git's ssh, a ProxyCommand) still holds the pipes.
// The deadline is released when the test ends.
func Command(t testing.TB, name string, args ...string) *exec.Cmd {
	t.Helper()
	return command(t, CommandTimeout, name, args...)
}

func command(t testing.TB, timeout time.Duration, name string, args ...string) *exec.Cmd {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = CommandWaitDelay
	return cmd
}
