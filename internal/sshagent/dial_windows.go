//go:build windows

package sshagent

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"strings"
	"syscall"

	"github.com/Microsoft/go-winio"
)

// defaultAddr: Windows' own OpenSSH agent service, when SSH_AUTH_SOCK is
// unset.
const defaultAddr = WindowsPipe

// dial opens a named pipe (\\.\pipe\NAME, or //./pipe/NAME as some tools
// write it) through go-winio, which gives it deadlines; anything else is
// an AF_UNIX socket, which Windows 10 and later also have.
func dial(ctx context.Context, addr string) (net.Conn, error) {
	if p := strings.ReplaceAll(addr, "/", `\`); strings.HasPrefix(strings.ToLower(p), `\\.\pipe\`) {
		return winio.DialPipeContext(ctx, p)
	}
	var d net.Dialer
	return d.DialContext(ctx, "unix", addr)
}

// absent tells whether a failed dial means no agent: no such pipe or
// socket file, or a socket nobody listens on.
func absent(err error) bool {
	const wsaeconnrefused = syscall.Errno(10061)
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, wsaeconnrefused)
}
