//go:build windows

package proc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// KillGroup ends what the process started too: a ProxyCommand's program
// behind cmd.exe must not outlive the connection. Here the process
// started is this test binary, which starts itself again and sleeps.
func TestKillGroupEndsGrandchildren(t *testing.T) {
	switch os.Getenv("PROC_TEST_ROLE") {
	case "parent":
		child := exec.Command(os.Args[0], "-test.run=^TestKillGroupEndsGrandchildren$")
		child.Env = append(os.Environ(), "PROC_TEST_ROLE=child")
		if err := child.Start(); err != nil {
			os.Exit(3)
		}
		os.WriteFile(os.Getenv("PROC_TEST_PIDFILE"), []byte(strconv.Itoa(child.Process.Pid)), 0o644)
		time.Sleep(time.Minute)
		os.Exit(0)
	case "child":
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd := Command(context.Background(), os.Args[0], os.Args[0], "-test.run=^TestKillGroupEndsGrandchildren$")
	cmd.Env = append(os.Environ(), "PROC_TEST_ROLE=parent", "PROC_TEST_PIDFILE="+pidFile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	for deadline := time.Now().Add(30 * time.Second); pid == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			KillGroup(cmd)
			cmd.Wait()
			t.Fatal("the grandchild never started")
		}
		data, _ := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(data)))
	}
	h, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		t.Fatalf("cannot open the grandchild %d: %v", pid, err)
	}
	defer windows.CloseHandle(h)
	if err := KillGroup(cmd); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if ev, _ := windows.WaitForSingleObject(h, 10_000); ev != windows.WAIT_OBJECT_0 {
		windows.TerminateProcess(h, 1)
		t.Fatal("the grandchild outlived KillGroup")
	}
}
