package sshdial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/openssh/proc"
)

// ProxyCommandError: the ProxyCommand ended, with a failure, before or
// while SSH was spoken over it.
type ProxyCommandError struct {
	Command  string // expanded, as run
	ExitCode int    // -1 when killed by a signal
	Stderr   string // its last words; text from outside
}

func (e *ProxyCommandError) Error() string {
	msg := fmt.Sprintf("proxy command %q exited with status %d", e.Command, e.ExitCode)
	if s := strings.TrimSpace(e.Stderr); s != "" {
		msg += ": " + lastLine(s)
	}
	return msg
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[i+1:])
	}
	return s
}

// ProxyError returns the *ProxyCommandError of a connection Dial made
// through a ProxyCommand that has exited with a failure, else nil: after
// a failed handshake it tells why the other end went away.
func ProxyError(c net.Conn) error {
	pc, ok := c.(*cmdConn)
	if !ok {
		return nil
	}
	select {
	case <-pc.exited:
	case <-time.After(100 * time.Millisecond):
		return nil // still running
	}
	return pc.exitErr()
}

// proxyCommand runs s.ProxyCommand as ssh does — tokens expanded, then
// `$SHELL -c "exec COMMAND"` — in its own process group, and speaks over
// its stdin and stdout.
func (d *Dialer) proxyCommand(ctx context.Context, s *openssh.Settings) (net.Conn, error) {
	command, err := s.ExpandProxyCommand()
	if err != nil {
		return nil, err
	}
	env := d.Env
	if env == nil {
		env = os.Environ()
	}
	var argv []string
	if runtime.GOOS == "windows" {
		argv = []string{"cmd.exe", "/c", command}
	} else {
		shell := envValue(env, "SHELL")
		if shell == "" {
			shell = "/bin/sh"
		}
		argv = []string{shell, "-c", "exec " + command}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Pipes of our own: os.Pipe ends are pollable, so deadlines work.
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	// The process must outlive ctx (Dial's context ends with Dial), so it
	// is not tied to it: Close ends it.
	cmd := proc.Command(context.Background(), argv[0], argv...)
	cmd.Env, cmd.Dir = env, d.Dir
	c := &cmdConn{r: outR, w: inW, cmd: cmd, command: command, exited: make(chan struct{}),
		stderr: &tail{max: 4 << 10, also: d.ProxyStderr}, remote: addr(s)}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, c.stderr
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		outR.Close()
		inW.Close()
		return nil, fmt.Errorf("start proxy command %q: %w", command, err)
	}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	// ctx bounds Dial only; a context that ends while Dial runs (it does
	// not wait on the process) changes nothing for the connection.
	return c, nil
}

// cmdConn is SSH over a ProxyCommand's stdio.
type cmdConn struct {
	r, w    *os.File
	cmd     *exec.Cmd
	command string
	stderr  *tail
	remote  string // host:port the command was asked to reach

	exited  chan struct{} // closed when the process has been reaped
	waitErr error
	once    sync.Once
}

func (c *cmdConn) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if errors.Is(err, io.EOF) {
		select {
		case <-c.exited:
			if perr := c.exitErr(); perr != nil {
				return n, perr
			}
		case <-time.After(50 * time.Millisecond):
		}
	}
	return n, err
}

func (c *cmdConn) Write(b []byte) (int, error) { return c.w.Write(b) }

// exitErr is the typed failure of an exited process, nil for success.
func (c *cmdConn) exitErr() error {
	if c.waitErr == nil {
		return nil
	}
	code := -1
	var exit *exec.ExitError
	if errors.As(c.waitErr, &exit) {
		code = exit.ExitCode()
	}
	return &ProxyCommandError{Command: c.command, ExitCode: code, Stderr: c.stderr.String()}
}

// Close ends the conversation as ssh does: the pipes close, the process
// group is told to hang up and, if it lingers, killed; the process is
// reaped before Close returns.
func (c *cmdConn) Close() error {
	c.once.Do(func() {
		c.w.Close()
		c.r.Close()
		select {
		case <-c.exited:
			return
		default:
		}
		_ = proc.HangUpGroup(c.cmd)
		select {
		case <-c.exited:
		case <-time.After(time.Second):
			_ = proc.KillGroup(c.cmd)
			<-c.exited
		}
	})
	return nil
}

// RemoteAddr is the host and port the command was asked to reach, so
// that host-key callbacks that look at it see the target, as ssh does.
func (c *cmdConn) LocalAddr() net.Addr  { return pipeAddr("-") }
func (c *cmdConn) RemoteAddr() net.Addr { return pipeAddr(c.remote) }
func (c *cmdConn) SetDeadline(t time.Time) error {
	return errors.Join(c.r.SetDeadline(t), c.w.SetDeadline(t))
}
func (c *cmdConn) SetReadDeadline(t time.Time) error  { return c.r.SetReadDeadline(t) }
func (c *cmdConn) SetWriteDeadline(t time.Time) error { return c.w.SetWriteDeadline(t) }

type pipeAddr string

func (a pipeAddr) Network() string { return "proxycommand" }
func (a pipeAddr) String() string  { return string(a) }

// tail keeps the last max bytes written (and passes everything on to also).
type tail struct {
	max  int
	also io.Writer
	mu   sync.Mutex
	buf  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.also != nil {
		_, _ = t.also.Write(p)
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

func envValue(env []string, name string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v
		}
	}
	return ""
}
