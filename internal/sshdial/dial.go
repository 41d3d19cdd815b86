// Package sshdial reaches an SSH server the way OpenSSH would for the
// given effective settings: a direct TCP connection, a ProxyJump chain
// (each jump host with its own settings, host-key check and keys), or a
// ProxyCommand spoken to over its stdin and stdout. It returns the
// transport only; the SSH handshake with the target is the caller's.
//
// Host-key policy and keys are not decided here: the caller injects them
// for each jump host.
package sshdial

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/openssh"
)

// Resolver gives the effective settings of the jump host that settings
// with a ProxyJump go through (*openssh.Resolver is one).
type Resolver interface {
	Hop(ctx context.Context, of *openssh.Settings) (*openssh.Settings, error)
}

// Dialer connects to the target of effective settings.
type Dialer struct {
	// Resolver is needed for ProxyJump.
	Resolver Resolver
	// HostKeyCallback returns the host-key check for a jump host and the
	// host-key algorithms to ask for (nil: x/crypto's defaults). Needed
	// for ProxyJump.
	HostKeyCallback func(hop *openssh.Settings) (ssh.HostKeyCallback, []string, error)
	// Signers returns the keys to authenticate to a jump host with.
	// Needed for ProxyJump.
	Signers func(hop *openssh.Settings) ([]ssh.Signer, error)
	// Env is the environment of a ProxyCommand ($SHELL runs it, as ssh
	// does); nil means this process's.
	Env []string
	Dir string
	// ProxyStderr receives what a ProxyCommand writes to stderr; the
	// last few KiB are kept for ProxyCommandError either way.
	ProxyStderr io.Writer
}

// Stage is how far a jump host got.
type Stage int

const (
	StageResolve   Stage = iota + 1 // computing its settings
	StageConnect                    // reaching it
	StageHandshake                  // key exchange, host key, authentication
	StageForward                    // asking it to connect onwards
)

func (s Stage) String() string {
	switch s {
	case StageResolve:
		return "settings"
	case StageConnect:
		return "connect"
	case StageHandshake:
		return "handshake"
	case StageForward:
		return "forward"
	}
	return "stage(" + strconv.Itoa(int(s)) + ")"
}

// HopError: a jump host failed. Err is the cause (errors.As finds
// *ssh.OpenChannelError for a refused forward, the host-key callback's
// own error, a *ProxyCommandError, a net error, …).
type HopError struct {
	Hop   string // as named in ProxyJump: "alice@bastion:2222"
	Addr  string // host:port, after its HostName and Port
	Stage Stage
	Err   error
}

func (e *HopError) Error() string {
	return fmt.Sprintf("jump host %q (%s): %s: %v", e.Hop, e.Addr, e.Stage, e.Err)
}

func (e *HopError) Unwrap() error { return e.Err }

// ErrNoJumpPolicy: settings need a jump host but the Dialer has no
// Resolver, HostKeyCallback or Signers.
var ErrNoJumpPolicy = errors.New("a jump host needs a resolver, a host-key callback and signers")

// Dial returns a connection to the SSH port of s's target, through
// whatever s says ssh would go through. ctx bounds the whole path
// (processes started, every jump host's connection and handshake); once
// Dial has returned, ctx no longer matters, as with net.Dialer. Closing
// the connection closes every jump host's connection and ends any
// ProxyCommand; a deadline set on it that passes closes it too.
func (d *Dialer) Dial(ctx context.Context, s *openssh.Settings) (net.Conn, error) {
	switch {
	case s.ProxyCommand != "":
		return d.proxyCommand(ctx, s)
	case s.ProxyJump != "":
		return d.jump(ctx, s)
	}
	return d.direct(ctx, s)
}

func addr(s *openssh.Settings) string { return net.JoinHostPort(s.Hostname, strconv.Itoa(s.Port)) }

// direct dials TCP as ssh does: AddressFamily, ConnectTimeout.
func (d *Dialer) direct(ctx context.Context, s *openssh.Settings) (net.Conn, error) {
	network := "tcp"
	switch strings.ToLower(first(s.Get("addressfamily"))) {
	case "inet":
		network = "tcp4"
	case "inet6":
		network = "tcp6"
	}
	nd := &net.Dialer{Timeout: s.ConnectTimeout}
	return nd.DialContext(ctx, network, addr(s))
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// jump reaches s's target through the last jump host of its ProxyJump
// (which is itself reached as its own settings say), the way ssh runs
// `ssh -W [%h]:%p jumphost`.
func (d *Dialer) jump(ctx context.Context, s *openssh.Settings) (net.Conn, error) {
	if d.Resolver == nil || d.HostKeyCallback == nil || d.Signers == nil {
		return nil, ErrNoJumpPolicy
	}
	name := s.ProxyJump
	if chain, err := openssh.ParseJumpChain(s.ProxyJump); err == nil && len(chain) > 0 {
		name = chain[len(chain)-1].Raw
	}
	hop, err := d.Resolver.Hop(ctx, s)
	if err != nil {
		return nil, &HopError{Hop: name, Stage: StageResolve, Err: err}
	}
	hopErr := func(stage Stage, err error) error {
		return &HopError{Hop: name, Addr: addr(hop), Stage: stage, Err: err}
	}
	conn, err := d.Dial(ctx, hop)
	if err != nil {
		var he *HopError
		if errors.As(err, &he) {
			return nil, err // an earlier hop failed: it names itself
		}
		return nil, hopErr(StageConnect, err)
	}
	client, err := d.handshake(ctx, hop, conn)
	if err != nil {
		return nil, hopErr(StageHandshake, err)
	}
	stop := context.AfterFunc(ctx, func() { client.Close() })
	ch, err := client.DialContext(ctx, "tcp", addr(s))
	if !stop() || err != nil {
		client.Close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, hopErr(StageForward, err)
	}
	return newChannelConn(ch, client), nil
}

// handshake opens the SSH connection to a jump host with the injected
// host-key check and keys; ctx ends it by closing conn.
func (d *Dialer) handshake(ctx context.Context, hop *openssh.Settings, conn net.Conn) (*ssh.Client, error) {
	closeConn := func(err error) (*ssh.Client, error) {
		conn.Close()
		return nil, err
	}
	cb, algos, err := d.HostKeyCallback(hop)
	if err != nil {
		return closeConn(err)
	}
	signers, err := d.Signers(hop)
	if err != nil {
		return closeConn(err)
	}
	cfg := &ssh.ClientConfig{
		User:              hop.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signers...)},
		HostKeyCallback:   cb,
		HostKeyAlgorithms: algos,
		ClientVersion:     "SSH-2.0-git-bbkey",
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	c, chans, reqs, err := ssh.NewClientConn(conn, addr(hop), cfg)
	if !stop() {
		if err == nil {
			c.Close()
		}
		return closeConn(ctx.Err())
	}
	if err != nil {
		return closeConn(err)
	}
	return ssh.NewClient(c, chans, reqs), nil
}
