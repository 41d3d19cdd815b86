//go:build linux || darwin

package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/term"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// TestTerminalScripts runs testdata/terminal: what a person does at a
// terminal, typed on a real pseudo-terminal after each prompt is shown
// (Ctrl-C as the key \x03, not a signal to the process), and signals sent
// to a real process.
func TestTerminalScripts(t *testing.T) {
	testutil.RequireTool(t, "git")
	testutil.RequireTool(t, "ssh-keygen")
	p := scriptParams(t, "testdata/terminal")
	setup := p.Setup
	p.Setup = func(e *testscript.Env) error {
		if err := setup(e); err != nil {
			return err
		}
		var keys []string
		for _, kv := range e.Vars {
			if k, _, ok := strings.Cut(kv, "="); ok {
				keys = append(keys, k)
			}
		}
		e.Values[ptyEnvKey{}] = keys
		e.Values[blackholeKey{}] = &blackhole{}
		return nil
	}
	p.Cmds["ptyexec"] = cmdPTYExec
	p.Cmds["blackhole"] = cmdBlackhole
	testscript.Run(t, p)
}

type ptyEnvKey struct{}

// ptyEnvExtra are variables a script may set with `env` that ptyexec
// passes on, besides those testscript starts with.
var ptyEnvExtra = []string{"BITBUCKET_TOKEN", "GIT_TERMINAL_PROMPT", "SSH_AUTH_SOCK", "TERM", "NO_COLOR", "GIT_SSH_COMMAND"}

// ptyexec [-code N] [-stderr] SESSION PROGRAM [ARGS...] runs PROGRAM (from
// the script's PATH) with a fresh pseudo-terminal as its controlling
// terminal and stdin, as a person runs it, stdout and stderr going to the
// script's stdout and stderr (with -stderr, stderr is the terminal too, as
// when a person runs it), and plays SESSION, a file of steps:
//
//	expect REGEXP   wait until the terminal shows REGEXP (after the last match)
//	type TEXT       type TEXT (Go escapes: \x03 is Ctrl-C, \r is Enter)
//	signal NAME     send SIGNAME (TERM, HUP, INT) to the process
//	hangup          close the terminal, as closing the window does
//	accepted        wait until the blackhole listener has a connection
//	sleep DURATION
//
// It then waits for the exit: the exit status must be N (default 0), not a
// death by signal, and the terminal's mode must be what it was before. The
// terminal's output is left in the file ptyout.
func cmdPTYExec(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("ptyexec: use -code instead of !")
	}
	fs := flag.NewFlagSet("ptyexec", flag.ContinueOnError)
	code := fs.Int("code", 0, "")
	stderrTTY := fs.Bool("stderr", false, "")
	ts.Check(fs.Parse(args))
	if fs.NArg() < 2 {
		ts.Fatalf("usage: ptyexec [-code N] [-stderr] SESSION PROGRAM [ARGS...]")
	}
	session := ts.ReadFile(fs.Arg(0))
	prog, err := lookPath(ts.Getenv("PATH"), fs.Arg(1))
	ts.Check(err)

	ctrl, tty, err := pty.Open()
	ts.Check(err)
	ctrl = pollableFile(ts, ctrl)
	defer ctrl.Close()
	defer tty.Close()
	before, err := term.GetState(int(tty.Fd()))
	ts.Check(err)

	cmd := exec.Command(prog, fs.Args()[2:]...)
	cmd.Dir = ts.MkAbs(".")
	for _, k := range append(ts.Value(ptyEnvKey{}).([]string), ptyEnvExtra...) {
		if v := ts.Getenv(k); v != "" || k == "GIT_TERMINAL_PROMPT" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if *stderrTTY {
		cmd.Stderr = tty
	}
	cmd.Stdin = tty
	cmd.ExtraFiles = []*os.File{tty}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 3}
	ts.Check(cmd.Start())
	exited := make(chan error, 1)
	done := make(chan struct{}) // closed when the process has exited
	go func() { err := cmd.Wait(); exited <- err; close(done) }()

	screen := &screenBuffer{}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 1024)
		for {
			n, err := ctrl.Read(buf)
			screen.write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	stopProcess := func() {
		cmd.Process.Kill()
		<-done
	}

	seen := 0
	hungUp := false // the terminal is gone: no mode to compare
	lines := bufio.NewScanner(strings.NewReader(session))
	for lines.Scan() {
		line := strings.TrimSpace(lines.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch verb {
		case "expect":
			re, err := regexp.Compile(arg)
			ts.Check(err)
			end, ok := screen.waitFor(re, seen, 20*time.Second, done)
			if !ok {
				stopProcess()
				ts.Fatalf("the terminal never showed %q; it shows:\n%s\nstderr:\n%s", arg, screen.String(), stderr.String())
			}
			seen = end
		case "type":
			text, err := strconv.Unquote(`"` + arg + `"`)
			ts.Check(err)
			_, err = ctrl.Write([]byte(text))
			ts.Check(err)
		case "signal":
			sig := map[string]syscall.Signal{"TERM": syscall.SIGTERM, "HUP": syscall.SIGHUP, "INT": syscall.SIGINT}[arg]
			if sig == 0 {
				ts.Fatalf("unknown signal %q", arg)
			}
			ts.Check(cmd.Process.Signal(sig))
		case "hangup":
			ts.Check(ctrl.Close())
			hungUp = true
		case "accepted":
			if !ts.Value(blackholeKey{}).(*blackhole).waitAccepted(20 * time.Second) {
				stopProcess()
				ts.Fatalf("nothing connected to the blackhole")
			}
		case "sleep":
			d, err := time.ParseDuration(arg)
			ts.Check(err)
			time.Sleep(d)
		default:
			ts.Fatalf("unknown session step %q", line)
		}
	}

	var waitErr error
	select {
	case waitErr = <-exited:
	case <-time.After(30 * time.Second):
		cmd.Process.Signal(syscall.SIGQUIT) // its goroutines, on stderr
		time.Sleep(time.Second)
		stopProcess()
		ts.Fatalf("%s did not exit; the terminal shows:\n%s\nstderr:\n%s", fs.Arg(1), screen.String(), stderr.String())
	}
	fmt.Fprint(ts.Stdout(), stdout.String())
	fmt.Fprint(ts.Stderr(), stderr.String())

	got := 0
	var exitErr *exec.ExitError
	if errors.As(waitErr, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			ts.Fatalf("%s was killed by %v instead of exiting", fs.Arg(1), ws.Signal())
		}
		got = exitErr.ExitCode()
	} else {
		ts.Check(waitErr)
	}
	if got != *code {
		ts.Fatalf("exit status %d, want %d", got, *code)
	}
	if !hungUp {
		checkRestored(ts, tty.Name(), before)
	}
	ctrl.Close()
	<-readDone
	ts.Check(os.WriteFile(ts.MkAbs("ptyout"), []byte(screen.String()), 0o644))
}

// checkRestored checks that the terminal is in the mode it had before the
// program ran. The session leader's exit hung up the handles opened before;
// the terminal itself lives on while the controller is open.
func checkRestored(ts *testscript.TestScript, name string, before *term.State) {
	tty, err := os.OpenFile(name, os.O_RDWR|syscall.O_NOCTTY, 0)
	ts.Check(err)
	defer tty.Close()
	after, err := term.GetState(int(tty.Fd()))
	ts.Check(err)
	if !reflect.DeepEqual(before, after) {
		ts.Fatalf("the terminal was left in another mode:\nbefore %+v\nafter  %+v", before, after)
	}
}

// pollableFile makes the pty controller a file the runtime poller serves,
// so that closing it (hangup) does not wait for a pending read.
func pollableFile(ts *testscript.TestScript, f *os.File) *os.File {
	fd, err := syscall.Dup(int(f.Fd()))
	ts.Check(err)
	f.Close()
	syscall.CloseOnExec(fd) // a child holding the controller would keep the terminal up
	ts.Check(syscall.SetNonblock(fd, true))
	return os.NewFile(uintptr(fd), "ptmx")
}

func lookPath(path, name string) (string, error) {
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in the script's PATH", name)
}

type screenBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *screenBuffer) write(p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
}

func (s *screenBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until re matches the screen after offset from, and
// returns where the match ends; it gives up after limit, or soon after the
// process has exited.
func (s *screenBuffer) waitFor(re *regexp.Regexp, from int, limit time.Duration, exited <-chan struct{}) (int, bool) {
	deadline := time.Now().Add(limit)
	for {
		text := s.String()
		if loc := re.FindStringIndex(text[from:]); loc != nil {
			return from + loc[1], true
		}
		select {
		case <-exited:
			if d := time.Now().Add(200 * time.Millisecond); d.Before(deadline) {
				deadline = d // what it printed last may still be on its way
			}
		default:
		}
		if time.Now().After(deadline) {
			return 0, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type blackholeKey struct{}

// blackhole is a TCP listener that accepts connections and never answers:
// an SSH server that hangs in the handshake, a Bitbucket that never
// answers a REST call.
type blackhole struct {
	mu       sync.Mutex
	accepted chan struct{}
}

func (b *blackhole) waitAccepted(limit time.Duration) bool {
	b.mu.Lock()
	c := b.accepted
	b.mu.Unlock()
	select {
	case <-c:
		return true
	case <-time.After(limit):
		return false
	}
}

// blackhole VAR: listen on 127.0.0.1, put host:port in $VAR.
func cmdBlackhole(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: blackhole VAR")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	b := ts.Value(blackholeKey{}).(*blackhole)
	accepted := make(chan struct{})
	b.mu.Lock()
	b.accepted = accepted
	b.mu.Unlock()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if conns = append(conns, c); len(conns) == 1 {
				close(accepted)
			}
			mu.Unlock()
		}
	}()
	ts.Defer(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	ts.Setenv(args[0], l.Addr().String())
}
