package testutil

import (
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
	cmd := command(t, 300*time.Millisecond, sh, "-c", `"$0" 20 & "$0" 20`, sleep)
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
