//go:build linux || darwin

package app

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// While doctor waits for Bitbucket, a terminal shows a status line saying
// so; an interrupt there ends the run with exit 130 and "interrupted",
// and nothing after it on stdout.
func TestDoctorStatusLineWhileWaiting(t *testing.T) {
	testutil.RequireTool(t, "git")
	hole, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	ctrl, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ctrl.Close()
	defer tty.Close()
	screen := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ctrl.Read(buf)
			if n > 0 {
				screen <- string(buf[:n])
			}
			if err != nil {
				close(screen)
				return
			}
		}
	}()

	env, stdout, _ := TestEnv(t.TempDir(), t.TempDir(), map[string]string{"TERM": "xterm"})
	env.Stderr = tty
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	code := make(chan int, 1)
	go func() {
		code <- Main(ctx, []string{"git-bbkey", "doctor", "--server", "http://" + hole.Addr().String()}, env)
	}()

	var seen strings.Builder
	deadline := time.After(20 * time.Second)
	for !strings.Contains(seen.String(), "waiting for Bitbucket") {
		select {
		case s := <-screen:
			seen.WriteString(s)
		case <-deadline:
			t.Fatalf("the terminal never showed the status line; it shows %q", seen.String())
		}
	}
	cancel() // as SIGINT does
	select {
	case c := <-code:
		if c != exitInterrupted {
			t.Errorf("exit %d, want %d", c, exitInterrupted)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("doctor did not stop when interrupted")
	}
	tty.Close()
	for s := range screen {
		seen.WriteString(s)
	}
	if !strings.Contains(seen.String(), "interrupted\r\n") || strings.Count(seen.String(), "waiting for Bitbucket") != 1 {
		t.Errorf("terminal: %q", seen.String())
	}
	if bytes.Contains(stdout.Bytes(), []byte("server")) {
		t.Errorf("checks printed after the interrupt: %s", stdout)
	}
}
