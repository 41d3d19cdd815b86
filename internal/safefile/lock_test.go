package safefile

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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

// A lock that cannot be taken at all (a directory in the lock file's place,
// a read-only directory) says so at once instead of posing as a busy lock.
func TestLockReportsTheRealError(t *testing.T) {
	dir := t.TempDir()
	asDir := filepath.Join(dir, "lockdir")
	os.Mkdir(asDir, 0o700)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := Lock(ctx, asDir)
	var lf *LockFileError
	if !errors.As(err, &lf) || errors.Is(err, ErrLocked) || time.Since(start) > 2*time.Second {
		t.Fatalf("lock path is a directory: %v (after %v), want a LockFileError at once", err, time.Since(start))
	}
	if runtime.GOOS == "windows" || os.Getuid() == 0 {
		return // root writes into read-only directories
	}
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o500)
	if _, err := Lock(ctx, filepath.Join(ro, "lock")); !errors.As(err, &lf) || !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("read-only directory: %v, want a LockFileError with ErrPermission", err)
	}
}

// A lock still busy when the context ends is a LockBusyError that also
// carries the context's reason (an interrupt is not a timeout).
func TestLockBusyCarriesTheContextError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	unlock, err := Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// flock locks are per open file: a second open in this process conflicts too.
	_, err = Lock(ctx, path)
	if !errors.Is(err, ErrLocked) || !errors.Is(err, context.Canceled) {
		t.Fatalf("%v, want ErrLocked and context.Canceled", err)
	}
}
