//go:build !windows

package sshagent

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"syscall"
)

// defaultAddr: on Unix the agent is only where SSH_AUTH_SOCK says.
const defaultAddr = ""

func dial(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", addr)
}

// absent tells whether a failed dial means no agent: no socket file, or a
// socket left behind by an agent that has exited.
func absent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED)
}
