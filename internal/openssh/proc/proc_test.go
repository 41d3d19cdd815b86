//go:build linux

package proc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBuffer(t *testing.T) {
	b := &Buffer{Max: 5}
	for _, s := range []string{"abc", "def", "ghi"} {
		if n, err := b.Write([]byte(s)); n != 3 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if b.String() != "abcde" || !b.Truncated() {
		t.Errorf("kept %q, truncated %v", b.String(), b.Truncated())
	}
}

// TestCancelEndsGroup: a cancelled command ends with everything it
// started, not only the program itself.
func TestCancelEndsGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	cmd := Command(ctx, "/bin/sh", "sh", "-c", "sleep 30 & echo $! > "+pidFile+"; wait")
	start := time.Now()
	_ = cmd.Run()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Run took %s", d)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid := strings.TrimSpace(string(data))
	deadline := time.Now().Add(2 * time.Second)
	for {
		st, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil || strings.Contains(string(st), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shell's child %s still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
