//go:build windows

package sshagent

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/windows"
)

func pipeName(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	return `\\.\pipe\git-bbkey-test-` + hex.EncodeToString(b)
}

// listen serves a named pipe, as the Windows OpenSSH agent does. (Not with
// go-winio's ListenPipe: its overlapped server never sees a client under
// Wine 8, while go-winio's client, which Dial uses, works against a plain
// blocking pipe server like this one, there and on Windows.)
func listen(t *testing.T) (string, net.Listener) {
	t.Helper()
	name := pipeName(t)
	l := &pipeListener{name: name}
	h, err := l.instance()
	if err != nil {
		t.Fatal(err)
	}
	l.next = h
	return name, l
}

// pipeListener accepts clients on a named pipe with blocking Win32 calls:
// one pipe instance always waits, so a client never finds none.
type pipeListener struct {
	name   string
	mu     sync.Mutex
	next   windows.Handle
	closed bool
}

func (l *pipeListener) instance() (windows.Handle, error) {
	name, err := windows.UTF16PtrFromString(l.name)
	if err != nil {
		return 0, err
	}
	return windows.CreateNamedPipe(name, windows.PIPE_ACCESS_DUPLEX,
		windows.PIPE_TYPE_BYTE|windows.PIPE_READMODE_BYTE|windows.PIPE_WAIT,
		windows.PIPE_UNLIMITED_INSTANCES, 4096, 4096, 0, nil)
}

func (l *pipeListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	h := l.next
	l.mu.Unlock()
	if err := windows.ConnectNamedPipe(h, nil); err != nil && err != windows.ERROR_PIPE_CONNECTED {
		windows.CloseHandle(h)
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		windows.CloseHandle(h)
		return nil, net.ErrClosed
	}
	next, err := l.instance()
	if err != nil {
		windows.CloseHandle(h)
		return nil, err
	}
	l.next = next
	return pipeConn{os.NewFile(uintptr(h), l.name)}, nil
}

// Close wakes a waiting Accept by connecting to the pipe itself.
func (l *pipeListener) Close() error {
	l.mu.Lock()
	already := l.closed
	l.closed = true
	l.mu.Unlock()
	if !already {
		if f, err := os.OpenFile(l.name, os.O_RDWR, 0); err == nil {
			f.Close()
		}
	}
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr(l.name) }

type pipeAddr string

func (a pipeAddr) Network() string { return "pipe" }
func (a pipeAddr) String() string  { return string(a) }

// pipeConn is the server end of one client's pipe.
type pipeConn struct{ *os.File }

func (c pipeConn) LocalAddr() net.Addr  { return pipeAddr(c.Name()) }
func (c pipeConn) RemoteAddr() net.Addr { return pipeAddr(c.Name()) }

func missingAddr(t *testing.T) string { return pipeName(t) }

// Without SSH_AUTH_SOCK, Windows' own OpenSSH agent service is the agent.
func TestDefaultIsTheOpenSSHAgentPipe(t *testing.T) {
	if got := Addr(env(nil)); got != WindowsPipe {
		t.Fatalf("Addr without SSH_AUTH_SOCK = %q, want %q", got, WindowsPipe)
	}
	if _, err := os.Stat(WindowsPipe); err == nil {
		t.Skipf("the OpenSSH agent service already serves %s here", WindowsPipe)
	}
	l := &pipeListener{name: WindowsPipe}
	h, err := l.instance()
	if err != nil {
		t.Fatalf("cannot serve %s: %v", WindowsPipe, err)
	}
	l.next = h
	serveKeyring(t, l)
	client, closer, err := Dial(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	useAgent(t, client)
}

// SSH_AUTH_SOCK may name the pipe with forward slashes, as some tools
// (and Git for Windows' shell) write paths.
func TestPipeWithForwardSlashes(t *testing.T) {
	name, l := listen(t)
	serveKeyring(t, l)
	client, closer, err := Dial(env(map[string]string{"SSH_AUTH_SOCK": strings.ReplaceAll(name, `\`, "/")}))
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	useAgent(t, client)
}

func TestNoAgentMessageNamesThePipe(t *testing.T) {
	name := missingAddr(t)
	_, _, err := Dial(env(map[string]string{"SSH_AUTH_SOCK": name}))
	if !errors.Is(err, ErrNoAgent) || !strings.HasPrefix(err.Error(), "no ssh-agent at \""+strings.ReplaceAll(name, `\`, `\\`)+"\"") {
		t.Fatalf("Dial to a missing pipe = %v", err)
	}
}
