package sshverify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"golang.org/x/crypto/ssh"
)

// classifyDialError and classifyHandshakeError turn a failed connection
// into the status and message of every target waiting on it.

func classifyDialError(ctx context.Context, addr string, err error) *failure {
	var netErr net.Error
	var dnsErr *net.DNSError
	var hostKey *HostKeyError
	switch {
	case errors.As(err, &hostKey):
		// A jump host's key was refused: the whole path is, as with ssh.
		return &failure{status: hostKey.Status, msg: err.Error(), hop: hostKey}
	case ctx.Err() != nil && TimedOut(ctx), errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return &failure{status: StatusTimeout, msg: fmt.Sprintf("connecting to %s timed out", addr)}
	case ctx.Err() != nil:
		return &failure{status: StatusTimeout, msg: "interrupted while connecting to " + addr}
	case errors.As(err, &dnsErr):
		return &failure{status: StatusUnreachable, msg: fmt.Sprintf("cannot resolve host %q: %v", dnsErr.Name, dnsErr.Err)}
	default:
		return &failure{status: StatusUnreachable, msg: fmt.Sprintf("cannot connect to %s: %v", addr, err)}
	}
}

// classifyHandshakeError: authenticating says whether the key exchange
// was done and the host key accepted, so that the failure came while the
// server judged our key.
func (v *verifier) classifyHandshakeError(ep endpoint, err error, authenticating bool) *failure {
	addr := addrOf(ep)
	var algoErr *ssh.AlgorithmNegotiationError
	var opErr *net.OpError // a read or write on the socket failed
	lost := errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.As(err, &opErr)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &failure{status: StatusTimeout, msg: fmt.Sprintf("no answer from %s within %s (connect, handshake and commands)", addr, v.opts.Timeout)}
	case authenticating && !lost:
		// x/crypto has no error type for this: every method was tried and
		// refused (or the server sent a disconnect, as OpenSSH does after
		// too many failures).
		return &failure{status: StatusKeyRejected, msg: fmt.Sprintf("permission denied (publickey): %s did not accept the key %s for user %q",
			addr, ssh.FingerprintSHA256(v.signer(ep).PublicKey()), ep.user)}
	case errors.As(err, &algoErr) && algoErr.What == "host key":
		return &failure{status: StatusUnreachable, msg: fmt.Sprintf("the server at %s offers no host key type that OpenSSH accepts by default (it offers %s)",
			addr, strings.Join(algoErr.RequestedAlgorithms, ", "))}
	case lost:
		return &failure{status: StatusUnreachable, msg: fmt.Sprintf("%s closed the connection during the SSH handshake: %v", addr, err)}
	default:
		return &failure{status: StatusUnreachable, msg: fmt.Sprintf("SSH handshake with %s failed: %v", addr, err)}
	}
}
