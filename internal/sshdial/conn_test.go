package sshdial

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// sshChannel stands in for a channel forwarded by a jump host: a stream
// without deadlines of its own (x/crypto's channels refuse them).
type sshChannel struct{ net.Conn }

var errNoDeadlines = errors.New("ssh: tcpChan: deadline not supported")

func (sshChannel) SetDeadline(time.Time) error      { return errNoDeadlines }
func (sshChannel) SetReadDeadline(time.Time) error  { return errNoDeadlines }
func (sshChannel) SetWriteDeadline(time.Time) error { return errNoDeadlines }

// jumpClient stands in for the jump host's connection: it counts Close.
type jumpClient struct{ closed atomic.Int32 }

func (j *jumpClient) Close() error { j.closed.Add(1); return nil }

// forwarded is a channelConn and the server's end of it.
func forwarded(t *testing.T) (*channelConn, net.Conn, *jumpClient) {
	t.Helper()
	ours, server := net.Pipe()
	jump := &jumpClient{}
	c := newChannelConn(sshChannel{ours}, jump)
	t.Cleanup(func() { c.Close(); server.Close() })
	return c, server, jump
}

// within runs f and fails the test if it has not returned in 3 s.
func within[T any](t *testing.T, what string, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(3 * time.Second):
		t.Fatalf("%s: still waiting after 3 s", what)
		panic("unreachable")
	}
}

type ioResult struct {
	data string
	err  error
}

func read(c net.Conn) ioResult {
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	return ioResult{string(buf[:n]), err}
}

func write(c net.Conn, s string) ioResult {
	_, err := c.Write([]byte(s))
	return ioResult{err: err}
}

// serverReads reads exactly want from the server's end.
func serverReads(t *testing.T, server net.Conn, want string) {
	t.Helper()
	buf := make([]byte, len(want))
	if _, err := io.ReadFull(server, buf); err != nil || string(buf) != want {
		t.Errorf("the server read %q, %v; want %q", buf, err, want)
	}
}

// TestChannelConnReadDeadlineIsReadsOnly: a read deadline ends a waiting
// Read and nothing else. Clearing the write deadline leaves it in place,
// and once it has passed, writes still go through and no data is lost.
func TestChannelConnReadDeadlineIsReadsOnly(t *testing.T) {
	before := runtime.NumGoroutine()
	c, server, jump := forwarded(t)
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	c.SetWriteDeadline(time.Time{})
	start := time.Now()
	if r := within(t, "Read with a read deadline, after the write deadline was cleared", func() ioResult { return read(c) }); !errors.Is(r.err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read after the read deadline: %q, %v; want os.ErrDeadlineExceeded", r.data, r.err)
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Errorf("Read gave up after %v, before its deadline", d)
	}
	var ne net.Error
	if r := read(c); !errors.As(r.err, &ne) || !ne.Timeout() {
		t.Errorf("a second Read before the deadline moves: %v; want a timeout", r.err)
	}

	// Writing is not affected.
	go serverReads(t, server, "still writing")
	if r := within(t, "Write after the read deadline passed", func() ioResult { return write(c, "still writing") }); r.err != nil {
		t.Fatalf("Write after the read deadline passed: %v", r.err)
	}
	if n := jump.closed.Load(); n != 0 {
		t.Fatalf("the read deadline closed the jump host's connection")
	}

	// What the server sends while the deadline is past is read once it
	// is moved.
	go server.Write([]byte("hello"))
	time.Sleep(50 * time.Millisecond)
	if r := read(c); !errors.Is(r.err, os.ErrDeadlineExceeded) {
		t.Errorf("Read with the deadline still past: %q, %v", r.data, r.err)
	}
	c.SetReadDeadline(time.Time{})
	if r := within(t, "Read with the deadline cleared", func() ioResult { return read(c) }); r.err != nil || r.data != "hello" {
		t.Fatalf("Read with the deadline cleared: %q, %v; want hello", r.data, r.err)
	}

	// A waiting Read follows the deadline as it is moved.
	c.SetReadDeadline(time.Now().Add(400 * time.Millisecond))
	got := make(chan ioResult, 1)
	go func() { got <- read(c) }()
	c.SetReadDeadline(time.Time{})
	time.Sleep(700 * time.Millisecond)
	server.Write([]byte("later"))
	if r := within(t, "Read whose deadline was removed", func() ioResult { return <-got }); r.err != nil || r.data != "later" {
		t.Fatalf("Read whose deadline was removed while it waited: %q, %v; want later", r.data, r.err)
	}

	c.Close()
	if r := read(c); !errors.Is(r.err, net.ErrClosed) {
		t.Errorf("Read after Close: %v; want net.ErrClosed", r.err)
	}
	if n := jump.closed.Load(); n != 1 {
		t.Errorf("Close closed the jump host's connection %d times, want 1", n)
	}
	settleGoroutines(t, before)
}

// TestChannelConnWriteDeadline: a write deadline that has passed fails
// Write at once and leaves reads alone; one that passes while a Write
// waits closes the connection.
func TestChannelConnWriteDeadline(t *testing.T) {
	before := runtime.NumGoroutine()
	c, server, jump := forwarded(t)
	c.SetWriteDeadline(time.Now().Add(-time.Second))
	c.SetReadDeadline(time.Time{})
	if r := within(t, "Write after its deadline", func() ioResult { return write(c, "late") }); !errors.Is(r.err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write after its deadline: %v; want os.ErrDeadlineExceeded", r.err)
	}
	go server.Write([]byte("reads go on"))
	if r := within(t, "Read after the write deadline passed", func() ioResult { return read(c) }); r.err != nil || r.data != "reads go on" {
		t.Fatalf("Read after the write deadline passed: %q, %v", r.data, r.err)
	}
	c.SetWriteDeadline(time.Time{})
	go serverReads(t, server, "on time")
	if r := within(t, "Write with the deadline cleared", func() ioResult { return write(c, "on time") }); r.err != nil {
		t.Fatalf("Write with the deadline cleared: %v", r.err)
	}

	// The server reads nothing: the Write waits until its deadline, which
	// cuts the stream.
	c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	if r := within(t, "Write the server does not take", func() ioResult { return write(c, "stuck") }); !errors.Is(r.err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write past its deadline: %v; want os.ErrDeadlineExceeded", r.err)
	}
	if n := jump.closed.Load(); n != 1 {
		t.Errorf("a Write cut by its deadline closed the jump host's connection %d times, want 1", n)
	}
	if r := within(t, "Read after a Write was cut", func() ioResult { return read(c) }); !errors.Is(r.err, os.ErrDeadlineExceeded) {
		t.Errorf("Read after a Write was cut: %v; want os.ErrDeadlineExceeded", r.err)
	}
	if r := write(c, "more"); !errors.Is(r.err, os.ErrDeadlineExceeded) {
		t.Errorf("Write after a Write was cut: %v; want os.ErrDeadlineExceeded", r.err)
	}
	c.Close()
	settleGoroutines(t, before)
}

// settleGoroutines waits for the reader and timers to end.
func settleGoroutines(t *testing.T, before int) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); runtime.NumGoroutine() > before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("%d goroutines left, %d before", runtime.NumGoroutine(), before)
			return
		}
	}
}
