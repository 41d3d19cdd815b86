// Package sshagent connects to the user's ssh-agent: the Unix socket named
// by SSH_AUTH_SOCK, or on Windows the named pipe of Win32-OpenSSH's agent
// service (\\.\pipe\openssh-ssh-agent) unless SSH_AUTH_SOCK names another.
// Connecting and every request afterwards are bounded by a timeout, so a
// hung agent cannot hang the caller.
package sshagent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"golang.org/x/crypto/ssh/agent"
)

// WindowsPipe is the named pipe of the OpenSSH agent service that ships
// with Windows 10 and later (Win32-OpenSSH).
const WindowsPipe = `\\.\pipe\openssh-ssh-agent`

// DefaultTimeout bounds connecting, and then each request to the agent.
const DefaultTimeout = 10 * time.Second

// ErrNoAgent means that no ssh-agent is running where one is looked for:
// SSH_AUTH_SOCK is unset (Unix), or nothing listens at its socket or pipe.
var ErrNoAgent = errors.New("no ssh-agent is running")

// DialError is a failed connection to the agent. errors.Is(err,
// ErrNoAgent) tells whether there simply is no agent; otherwise one may be
// there but could not be reached (permissions, a timeout, ...).
type DialError struct {
	Addr    string // the socket path or pipe name; "" when there was none to try
	NoAgent bool   // nothing listens at Addr, or there is no Addr
	Err     error  // the cause; nil when there was no Addr
}

func (e *DialError) Error() string {
	switch {
	case e.Addr == "":
		return "no ssh-agent: SSH_AUTH_SOCK is not set"
	case e.NoAgent:
		return fmt.Sprintf("no ssh-agent at %q: %v", e.Addr, e.Err)
	default:
		return fmt.Sprintf("cannot connect to the ssh-agent at %q: %v", e.Addr, e.Err)
	}
}

func (e *DialError) Unwrap() []error {
	errs := []error{}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.NoAgent {
		errs = append(errs, ErrNoAgent)
	}
	return errs
}

// Addr is where the agent is looked for: SSH_AUTH_SOCK, else on Windows
// the OpenSSH agent's pipe; "" when there is nowhere to look.
func Addr(getenv func(string) string) string {
	if sock := getenv("SSH_AUTH_SOCK"); sock != "" {
		return sock
	}
	return defaultAddr
}

// Dial connects to the user's agent (see Addr) with DefaultTimeout. Close
// the returned Closer when done with the agent.
func Dial(getenv func(string) string) (agent.ExtendedAgent, io.Closer, error) {
	return DialTimeout(getenv, DefaultTimeout)
}

// DialTimeout is Dial with another bound on connecting and on each request.
func DialTimeout(getenv func(string) string, timeout time.Duration) (agent.ExtendedAgent, io.Closer, error) {
	addr := Addr(getenv)
	if addr == "" {
		return nil, nil, &DialError{NoAgent: true}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := dial(ctx, addr)
	if err != nil {
		return nil, nil, &DialError{Addr: addr, NoAgent: absent(err), Err: err}
	}
	dc := &deadlineConn{Conn: conn, timeout: timeout}
	return agent.NewClient(dc), dc, nil
}

// deadlineConn gives every read and write its own deadline: the agent
// protocol is one request, one answer, so each step must finish in time.
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *deadlineConn) Write(p []byte) (int, error) {
	if err := c.Conn.SetWriteDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}
