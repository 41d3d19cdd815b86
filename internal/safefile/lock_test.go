package safefile

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestLockExcludesAnotherProcess holds the lock in a child process (flock
// locks are per open file, so a second process is the honest test).
func TestLockExcludesAnotherProcess(t *testing.T) {
	if os.Getenv("SAFEFILE_LOCK_CHILD") != "" {
		unlock, err := Lock(context.Background(), os.Getenv("SAFEFILE_LOCK_CHILD"))
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("locked\n")
		time.Sleep(time.Second)
		unlock()
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "lock")
	child := exec.Command(os.Args[0], "-test.run=TestLockExcludesAnotherProcess")
	child.Env = append(os.Environ(), "SAFEFILE_LOCK_CHILD="+path)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked\n" {
		t.Fatalf("child did not lock: %q %v", buf, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, path); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock while the child holds it: %v", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	unlock, err := Lock(ctx2, path)
	if err != nil {
		t.Fatalf("lock after the child let go: %v", err)
	}
	unlock()
	child.Wait()
}
