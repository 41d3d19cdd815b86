package sshverify

import (
	"context"
	"errors"
	"sync"
	"time"
)

// errTimeout is the cause of a target context whose time ran out.
var errTimeout = errors.New("timeout")

// Clock is the time of a run's targets: it stands still while a person
// (or the app's HTTPS fingerprint lookup) decides about an unknown host
// key, or types a passphrase: the per-target timeout covers the network,
// not the user. One Clock can serve Verify and the caller's own checks
// (Options.Clock), so that a pause holds for all of them.
type Clock struct {
	mu       sync.Mutex
	paused   int
	pausedAt time.Time
	total    time.Duration // pauses that have ended
	resumed  chan struct{} // closed when the current pause ends
}

// NewClock returns a running clock.
func NewClock() *Clock { return &Clock{resumed: make(chan struct{})} }

// Pause stops every target's time until the returned function is called
// (pauses may overlap; time runs again when the last one ends).
func (c *Clock) Pause() (resume func()) {
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
func (c *Clock) pausedTotal() (total time.Duration, paused bool, resumed <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total = c.total
	if c.paused > 0 {
		total += time.Since(c.pausedAt)
	}
	return total, c.paused > 0, c.resumed
}

// WithTimeout is context.WithTimeout on this clock: the returned context
// ends after d of unpaused time (TimedOut then tells it from a cancel).
func (c *Clock) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
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

// TimedOut tells whether ctx ended because its time ran out (as opposed
// to the caller cancelling).
func TimedOut(ctx context.Context) bool {
	return errors.Is(context.Cause(ctx), errTimeout) || errors.Is(context.Cause(ctx), context.DeadlineExceeded)
}
