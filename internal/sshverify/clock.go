package sshverify

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errTimeout is the cause of a target context whose time ran out.
var errTimeout = errors.New("timeout")

// pauseClock lets a target's time stand still while a person (or the
// app's HTTPS fingerprint lookup) decides about an unknown host key: the
// per-target timeout covers the network, not the user.
type pauseClock struct {
	mu       sync.Mutex
	paused   int
	pausedAt time.Time
	total    time.Duration // pauses that have ended
	resumed  chan struct{} // closed when the current pause ends
}

func newPauseClock() *pauseClock { return &pauseClock{resumed: make(chan struct{})} }

// pause stops every target clock until the returned function is called.
func (c *pauseClock) pause() (resume func()) {
	c.mu.Lock()
	if c.paused == 0 {
		c.pausedAt = time.Now()
		c.resumed = make(chan struct{})
	}
	c.paused++
	c.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			c.paused--
			if c.paused == 0 {
				c.total += time.Since(c.pausedAt)
				close(c.resumed)
			}
			c.mu.Unlock()
		})
	}
}

// pausedTotal is the paused time so far, including a pause in progress.
func (c *pauseClock) pausedTotal() (total time.Duration, paused bool, resumed <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total = c.total
	if c.paused > 0 {
		total += time.Since(c.pausedAt)
	}
	return total, c.paused > 0, c.resumed
}

// withTimeout is context.WithTimeout on this clock: the returned context
// ends with cause errTimeout after d of unpaused time.
func (c *pauseClock) withTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(parent)
	start := time.Now()
	base, _, _ := c.pausedTotal()
	go func() {
		for {
			total, paused, resumed := c.pausedTotal()
			if paused {
				select {
				case <-resumed:
					continue
				case <-ctx.Done():
					return
				}
			}
			left := d - (time.Since(start) - (total - base))
			if left <= 0 {
				cancel(errTimeout)
				return
			}
			t := time.NewTimer(left)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return
			}
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// timedOut tells whether ctx ended because its time ran out (as opposed
// to the caller cancelling).
func timedOut(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errTimeout) || errors.Is(context.Cause(ctx), context.DeadlineExceeded)
}
