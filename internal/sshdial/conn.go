package sshdial

import (
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// channelConn is a connection forwarded by a jump host: closing it
// closes the jump host's connection too. SSH channels have no deadlines;
// here a deadline that passes closes the connection (an SSH stream cut
// mid-packet is of no further use anyway) and Read and Write then report
// os.ErrDeadlineExceeded.
type channelConn struct {
	net.Conn
	client *ssh.Client

	once    sync.Once
	mu      sync.Mutex
	timer   *time.Timer
	expired atomic.Bool
}

func newChannelConn(ch net.Conn, client *ssh.Client) *channelConn {
	return &channelConn{Conn: ch, client: client}
}

func (c *channelConn) Close() error {
	var err error
	c.once.Do(func() {
		c.mu.Lock()
		if c.timer != nil {
			c.timer.Stop()
		}
		c.mu.Unlock()
		err = c.Conn.Close()
		if cerr := c.client.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

func (c *channelConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if err != nil && c.expired.Load() {
		err = os.ErrDeadlineExceeded
	}
	return n, err
}

func (c *channelConn) Write(b []byte) (int, error) {
	if c.expired.Load() {
		return 0, os.ErrDeadlineExceeded
	}
	n, err := c.Conn.Write(b)
	if err != nil && c.expired.Load() {
		err = os.ErrDeadlineExceeded
	}
	return n, err
}

func (c *channelConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	if t.IsZero() {
		return nil
	}
	c.timer = time.AfterFunc(time.Until(t), func() {
		c.expired.Store(true)
		c.Close()
	})
	return nil
}

func (c *channelConn) SetReadDeadline(t time.Time) error  { return c.SetDeadline(t) }
func (c *channelConn) SetWriteDeadline(t time.Time) error { return c.SetDeadline(t) }
