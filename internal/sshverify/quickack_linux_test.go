package sshverify

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

// quickAckOn reports whether the kernel acknowledges c's incoming
// segments at once (1) or may delay the ACK (0, "pingpong" mode).
func quickAckOn(t *testing.T, c net.Conn) int {
	t.Helper()
	var tc *net.TCPConn
	switch c := c.(type) {
	case *net.TCPConn:
		tc = c
	case *quickAckConn:
		tc = c.TCPConn
	default:
		t.Fatalf("unexpected conn type %T", c)
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := raw.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}

// An SSH exchange is request and reply: after the first reply the kernel
// starts delaying ACKs, which is what QuickAck undoes.
func TestQuickAck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			s, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer s.Close()
				b := make([]byte, 16)
				for {
					if _, err := s.Write([]byte("x")); err != nil {
						return
					}
					if _, err := s.Read(b); err != nil {
						return
					}
				}
			}()
		}
	}()
	exchange := func(c net.Conn, check func(step string)) {
		b := make([]byte, 16)
		for i := 0; i < 3; i++ {
			if _, err := c.Read(b); err != nil {
				t.Fatal(err)
			}
			check("read")
			if _, err := c.Write([]byte("y")); err != nil {
				t.Fatal(err)
			}
			check("write")
		}
	}

	// The kernel's own behaviour, which makes the test mean something.
	plain, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	delayed := false
	exchange(plain, func(string) { delayed = delayed || quickAckOn(t, plain) == 0 })
	if !delayed {
		t.Fatal("a plain loopback connection never entered delayed-ACK mode; this kernel does not need QuickAck")
	}

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	q := QuickAck(c)
	defer q.Close()
	if _, ok := q.(*quickAckConn); !ok {
		t.Fatalf("QuickAck returned %T for a TCP connection", q)
	}
	exchange(q, func(step string) {
		if quickAckOn(t, q) != 1 {
			t.Errorf("delayed ACKs after a %s", step)
		}
	})

	// Anything that is not TCP is left alone.
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := QuickAck(a); got != a {
		t.Errorf("QuickAck(pipe) = %T, want the pipe itself", got)
	}
}
