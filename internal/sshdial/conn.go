package sshdial

import (
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// errWriteTimedOut is what Read and Write return once a write deadline
// passed during a Write and so closed the connection.
var errWriteTimedOut = fmt.Errorf("the connection was closed when a write passed its deadline: %w", os.ErrDeadlineExceeded)

// channelConn is a connection forwarded by a jump host: closing it
// closes the jump host's connection too. SSH channels have no deadlines;
// here the read and the write deadline are kept apart, as net.Conn has
// them:
//
//   - a read deadline that passes makes a waiting Read, and every Read
//     until the deadline is moved, return os.ErrDeadlineExceeded; writes
//     go on, and no data is lost (a goroutine reads the channel and hands
//     what it read to Read);
//   - a write deadline that has passed makes Write return
//     os.ErrDeadlineExceeded at once; one that passes while a Write waits
//     (the server's window is full) closes the connection, since half a
//     write cannot be taken back (the SSH stream would be cut mid-packet):
//     that Write and all later I/O report os.ErrDeadlineExceeded.
type channelConn struct {
	net.Conn
	client io.Closer // the jump host's connection

	closeOnce sync.Once
	closed    chan struct{} // closed by Close

	rd, wd deadline

	pumpOnce sync.Once
	chunks   chan []byte // what the pump read; closed when it ends
	readErr  error       // why the pump ended; set before chunks closes
	readMu   sync.Mutex  // one Read at a time; guards pending
	pending  []byte      // read from the channel, not yet returned

	mu        sync.Mutex // guards writing and writeDied
	writing   int        // Writes in progress
	writeDied bool       // a write deadline passed during a Write
}

func newChannelConn(ch net.Conn, client io.Closer) *channelConn {
	c := &channelConn{Conn: ch, client: client, closed: make(chan struct{}), chunks: make(chan []byte)}
	c.rd.init(nil)
	c.wd.init(c.writeDeadlinePassed)
	return c
}

func (c *channelConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.closed)
		c.rd.set(time.Time{})
		c.wd.set(time.Time{})
		err = c.Conn.Close()
		if cerr := c.client.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

// pump reads the channel for Read, one chunk at a time: a Read that
// gives up at its deadline leaves the chunk for the next Read.
func (c *channelConn) pump() {
	defer close(c.chunks)
	for {
		buf := make([]byte, 16<<10)
		n, err := c.Conn.Read(buf)
		if n > 0 {
			select {
			case c.chunks <- buf[:n]:
			case <-c.closed:
				c.readErr = net.ErrClosed
				return
			}
		}
		if err != nil {
			c.readErr = err
			return
		}
	}
}

func (c *channelConn) Read(b []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if err := c.deadErr(); err != nil {
		return 0, err
	}
	passed := c.rd.wait()
	if isClosed(passed) {
		return 0, os.ErrDeadlineExceeded
	}
	if len(c.pending) == 0 {
		c.pumpOnce.Do(func() { go c.pump() })
		select {
		case chunk, ok := <-c.chunks:
			if !ok {
				if err := c.deadErr(); err != nil {
					return 0, err
				}
				return 0, c.readErr
			}
			c.pending = chunk
		case <-passed:
			return 0, os.ErrDeadlineExceeded
		case <-c.closed:
			return 0, c.deadErr()
		}
	}
	n := copy(b, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// deadErr is the error for I/O on a closed connection: errWriteTimedOut
// when a write deadline closed it, net.ErrClosed when Close did, nil while
// it is open.
func (c *channelConn) deadErr() error {
	c.mu.Lock()
	died := c.writeDied
	c.mu.Unlock()
	switch {
	case died:
		return errWriteTimedOut
	case isClosed(c.closed):
		return net.ErrClosed
	}
	return nil
}

func (c *channelConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	switch {
	case c.writeDied:
		c.mu.Unlock()
		return 0, errWriteTimedOut
	case isClosed(c.wd.wait()):
		c.mu.Unlock()
		return 0, os.ErrDeadlineExceeded
	}
	c.writing++
	c.mu.Unlock()
	n, err := c.Conn.Write(b)
	c.mu.Lock()
	c.writing--
	died := c.writeDied
	c.mu.Unlock()
	if err != nil && died {
		err = os.ErrDeadlineExceeded
	}
	return n, err
}

// writeDeadlinePassed runs when the write deadline passes: a Write that
// waits then is ended by closing the connection.
func (c *channelConn) writeDeadlinePassed() {
	c.mu.Lock()
	kill := c.writing > 0 && !isClosed(c.closed)
	if kill {
		c.writeDied = true
	}
	c.mu.Unlock()
	if kill {
		c.Close()
	}
}

func (c *channelConn) SetDeadline(t time.Time) error {
	c.rd.set(t)
	c.wd.set(t)
	return nil
}

func (c *channelConn) SetReadDeadline(t time.Time) error  { c.rd.set(t); return nil }
func (c *channelConn) SetWriteDeadline(t time.Time) error { c.wd.set(t); return nil }

// deadline is one direction's deadline: a channel that is closed when
// it passes (as in net.Pipe), and what to do then.
type deadline struct {
	mu     sync.Mutex
	timer  *time.Timer
	passed chan struct{}
	onPass func() // run after passed is closed by the timer; may be nil
}

func (d *deadline) init(onPass func()) {
	d.passed = make(chan struct{})
	d.onPass = onPass
}

// set moves the deadline to t (zero: none). A deadline that had passed
// and is moved to the future or removed no longer counts.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.passed // the timer fired: wait until it has closed the channel
	}
	d.timer = nil
	passed := isClosed(d.passed)
	if t.IsZero() {
		if passed {
			d.passed = make(chan struct{})
		}
		return
	}
	if dur := time.Until(t); dur > 0 {
		if passed {
			d.passed = make(chan struct{})
		}
		ch, onPass := d.passed, d.onPass
		d.timer = time.AfterFunc(dur, func() {
			close(ch)
			if onPass != nil {
				onPass()
			}
		})
		return
	}
	if !passed {
		close(d.passed)
	}
}

// wait is a channel that is closed when the deadline passes.
func (d *deadline) wait() chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.passed
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
