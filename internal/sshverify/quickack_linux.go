package sshverify

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// QuickAck makes the kernel acknowledge every segment c receives at once.
//
// Linux delays an ACK by up to 40 ms once a connection looks interactive
// (it sent data soon after receiving some), and a server that writes two
// small packets in a row with Nagle's algorithm on (OpenSSH's sshd until a
// session is interactive) holds the second one back until that ACK comes.
// On a fast link the handshake and every channel-open paid those 40 ms:
// a third of a whole verify against a local sshd. TCP_QUICKACK undoes the
// delay, but the kernel turns it off again after each send, so it is set
// after every read and write (one cheap setsockopt each).
func QuickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	q := &quickAckConn{TCPConn: tc, raw: raw}
	q.set()
	return q
}

type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func (q *quickAckConn) set() {
	_ = q.raw.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
	})
}

func (q *quickAckConn) Read(b []byte) (int, error) {
	n, err := q.TCPConn.Read(b)
	q.set()
	return n, err
}

func (q *quickAckConn) Write(b []byte) (int, error) {
	n, err := q.TCPConn.Write(b)
	q.set()
	return n, err
}
