package testutil

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCommandDeadline: a process that stalls is killed at the deadline,
// and Wait returns soon after even though a process it started still
// holds the output pipe (as git's ssh does when git is killed). Without
// WaitDelay, Wait would wait the 20 s for the orphan to end.
func TestCommandDeadline(t *testing.T) {
	sh := RequireTool(t, "sh")
	sleep := RequireTool(t, "sleep")
	pidFile := filepath.Join(t.TempDir(), "orphan.pid")
	// The orphan is ended when the test is (by its process id).
	t.Cleanup(func() {
		b, err := os.ReadFile(pidFile)
		if err != nil {
			return
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			if p, err := os.FindProcess(pid); err == nil {
				p.Kill()
				p.Release()
			}
		}
	})
	cmd := command(t, 300*time.Millisecond, sh, "-c", `"$0" 20 & echo $! >"$1"; exec "$0" 20`, sleep, pidFile)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err == nil {
		t.Fatalf("a process that sleeps for 20 s ended well in %v: %s", took, out)
	}
	if limit := 300*time.Millisecond + CommandWaitDelay + 5*time.Second; took > limit {
		t.Fatalf("Wait returned after %v (deadline 300ms, WaitDelay %v): %v", took, CommandWaitDelay, err)
	}
	if cmd.ProcessState == nil || cmd.ProcessState.Success() {
		t.Fatalf("process state after the deadline: %v", cmd.ProcessState)
	}
	t.Logf("killed after %v: %v", took, err)
}
