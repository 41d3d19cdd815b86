//go:build linux || darwin

package prompt

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/term"
)

// ptyTerminal is a Terminal on a fresh pseudo-terminal: the test types on
// the controller side and reads what the prompt shows there.
type ptyTerminal struct {
	*Terminal
	ctrl, tty *os.File
	before    *term.State

	mu     sync.Mutex
	screen bytes.Buffer
	done   chan struct{}
}

func newPTYTerminal(t *testing.T) *ptyTerminal {
	t.Helper()
	ctrl, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	ctrl = pollable(t, ctrl)
	before, err := term.GetState(int(tty.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	p := &ptyTerminal{ctrl: ctrl, tty: tty, before: before, done: make(chan struct{})}
	p.Terminal = &Terminal{Allowed: true, open: func() (in, out *os.File, err error) {
		// A second handle on the same terminal, as /dev/tty would be.
		f, err := os.OpenFile(tty.Name(), os.O_RDWR, 0)
		return f, f, err
	}}
	go func() {
		defer close(p.done)
		buf := make([]byte, 256)
		for {
			n, err := ctrl.Read(buf)
			p.mu.Lock()
			p.screen.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		ctrl.Close()
		tty.Close()
		<-p.done
	})
	return p
}

// pollable returns f as a file the runtime poller serves: pty.Open leaves
// the controller in blocking mode, where Close waits for a pending Read and
// the test could never hang the terminal up.
func pollable(t *testing.T, f *os.File) *os.File {
	t.Helper()
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	syscall.CloseOnExec(fd) // a child holding the controller would keep the terminal up
	if err := syscall.SetNonblock(fd, true); err != nil {
		t.Fatal(err)
	}
	return os.NewFile(uintptr(fd), "ptmx")
}

// waitFor waits until the screen shows s.
func (p *ptyTerminal) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(p.shown(), s) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the terminal never showed %q; it shows %q", s, p.shown())
}

func (p *ptyTerminal) shown() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.screen.String()
}

func (p *ptyTerminal) typeKeys(t *testing.T, keys string) {
	t.Helper()
	if _, err := p.ctrl.Write([]byte(keys)); err != nil {
		t.Fatal(err)
	}
}

// restored checks that the terminal is back in the mode it had before.
func (p *ptyTerminal) restored(t *testing.T) {
	t.Helper()
	after, err := term.GetState(int(p.tty.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.before, after) {
		t.Errorf("terminal mode not restored:\nbefore %+v\nafter  %+v", p.before, after)
	}
}

type answer struct {
	secret []byte
	err    error
}

func (p *ptyTerminal) askSecret(ctx context.Context) chan answer {
	c := make(chan answer, 1)
	go func() {
		s, err := p.Secret(ctx, "Enter passphrase: ")
		c <- answer{s, err}
	}()
	return c
}

func waitAnswer(t *testing.T, c chan answer) answer {
	t.Helper()
	select {
	case a := <-c:
		return a
	case <-time.After(5 * time.Second):
		t.Fatal("the prompt did not return")
		return answer{}
	}
}

func TestTerminalSecretIsReadWithoutEcho(t *testing.T) {
	p := newPTYTerminal(t)
	c := p.askSecret(context.Background())
	p.waitFor(t, "Enter passphrase: ")
	p.typeKeys(t, "correct horse\r")
	a := waitAnswer(t, c)
	if a.err != nil || string(a.secret) != "correct horse" {
		t.Fatalf("got %q, %v", a.secret, a.err)
	}
	p.restored(t)
	if strings.Contains(p.shown(), "horse") {
		t.Errorf("the secret was echoed: %q", p.shown())
	}
}

func TestTerminalCtrlCInterrupts(t *testing.T) {
	p := newPTYTerminal(t)
	c := p.askSecret(context.Background())
	p.waitFor(t, "Enter passphrase: ")
	p.typeKeys(t, "half\x03")
	a := waitAnswer(t, c)
	if !errors.Is(a.err, ErrInterrupted) || a.secret != nil {
		t.Fatalf("got %q, %v; want ErrInterrupted", a.secret, a.err)
	}
	p.restored(t)
	p.waitFor(t, "^C")
}

func TestTerminalCtrlDCancels(t *testing.T) {
	p := newPTYTerminal(t)
	c := make(chan error, 1)
	go func() {
		_, err := p.Confirm(context.Background(), "Overwrite (y/n)?")
		c <- err
	}()
	p.waitFor(t, "Overwrite (y/n)? ")
	p.typeKeys(t, "\x04")
	select {
	case err := <-c:
		if !errors.Is(err, ErrCancelled) {
			t.Fatalf("got %v, want ErrCancelled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the prompt did not return")
	}
	p.restored(t)
}

func TestTerminalLineEchoesAndEdits(t *testing.T) {
	p := newPTYTerminal(t)
	c := make(chan string, 1)
	go func() {
		s, err := p.Line(context.Background(), "Name:\nlabel? ")
		if err != nil {
			s = "error: " + err.Error()
		}
		c <- s
	}()
	p.waitFor(t, "Name:\r\nlabel? ")
	p.typeKeys(t, "laptoq\x7fp\r")
	select {
	case s := <-c:
		if s != "laptop" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the prompt did not return")
	}
	p.restored(t)
	p.waitFor(t, "laptoq\b \bp")
}

// A signal while a prompt waits cancels the context: the prompt returns at
// once with the context's cause, and the terminal is restored.
func TestTerminalReturnsWhenTheContextEnds(t *testing.T) {
	p := newPTYTerminal(t)
	cause := errors.New("terminated signal received")
	ctx, cancel := context.WithCancelCause(context.Background())
	c := p.askSecret(ctx)
	p.waitFor(t, "Enter passphrase: ")
	cancel(cause)
	a := waitAnswer(t, c)
	if !errors.Is(a.err, cause) {
		t.Fatalf("got %v, want the context's cause", a.err)
	}
	p.restored(t)

	// A context that ended before the question: nothing is asked.
	if _, err := p.Secret(ctx, "Again: "); !errors.Is(err, cause) {
		t.Fatalf("ended context: %v", err)
	}
	if strings.Contains(p.shown(), "Again") {
		t.Error("asked although the context had ended")
	}
}

// The terminal going away (the window closed) interrupts the prompt.
func TestTerminalHangUpInterrupts(t *testing.T) {
	p := newPTYTerminal(t)
	c := p.askSecret(context.Background())
	p.waitFor(t, "Enter passphrase: ")
	p.ctrl.Close()
	a := waitAnswer(t, c)
	if !errors.Is(a.err, ErrInterrupted) {
		t.Fatalf("got %v, want ErrInterrupted", a.err)
	}
}

// Keys typed before the question (type-ahead) are answers too, and the
// terminal's own end-of-file mark left from cooked mode is a cancel.
func TestTerminalTypeAhead(t *testing.T) {
	p := newPTYTerminal(t)
	p.typeKeys(t, "early\n\x04")
	time.Sleep(50 * time.Millisecond) // let the line discipline take it in cooked mode
	a := waitAnswer(t, p.askSecret(context.Background()))
	if a.err != nil || string(a.secret) != "early" {
		t.Fatalf("first: %q, %v", a.secret, a.err)
	}
	a = waitAnswer(t, p.askSecret(context.Background()))
	if !errors.Is(a.err, ErrCancelled) {
		t.Fatalf("second: %q, %v; want ErrCancelled", a.secret, a.err)
	}
	p.restored(t)
}
