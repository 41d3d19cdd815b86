package prompt

import (
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"time"

	"golang.org/x/term"
)

// rawMode puts the terminal f in raw mode and returns how to undo it. It
// works through SyscallConn, not f.Fd(), which would put the file in
// blocking mode and stop read deadlines from working.
func rawMode(f *os.File) (restore func() error, err error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var state *term.State
	if cerr := rc.Control(func(fd uintptr) { state, err = term.MakeRaw(int(fd)) }); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, err
	}
	return func() error {
		var rerr error
		if cerr := rc.Control(func(fd uintptr) { rerr = term.Restore(int(fd), state) }); cerr != nil {
			return cerr
		}
		return rerr
	}, nil
}

// newKeys reads the terminal one byte at a time until ctx ends. Where the
// terminal supports read deadlines (Unix: the runtime poller), the end of ctx
// expires the read; elsewhere (the Windows console) a goroutine reads, and a
// byte typed after ctx ended is left to it.
func newKeys(ctx context.Context, f *os.File) (byteSource, func()) {
	if f.SetReadDeadline(time.Time{}) == nil {
		stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Now()) })
		return &deadlineKeys{ctx: ctx, f: f}, func() { stop(); f.SetReadDeadline(time.Time{}) }
	}
	k := &goroutineKeys{ctx: ctx, f: f, c: make(chan keyRead, 1)}
	return k, func() {}
}

type deadlineKeys struct {
	ctx context.Context
	f   *os.File
	buf [1]byte
}

func (k *deadlineKeys) next() (byte, error) {
	for {
		n, err := k.f.Read(k.buf[:])
		if n == 1 {
			return k.buf[0], nil
		}
		if k.ctx.Err() != nil {
			return 0, context.Cause(k.ctx)
		}
		if err != nil {
			return 0, readError(err)
		}
	}
}

type keyRead struct {
	b   byte
	err error
}

type goroutineKeys struct {
	ctx     context.Context
	f       *os.File
	c       chan keyRead
	reading bool
}

func (k *goroutineKeys) next() (byte, error) {
	if !k.reading {
		k.reading = true
		go func() {
			var buf [1]byte
			n, err := k.f.Read(buf[:])
			if n == 0 && err == nil {
				err = io.ErrNoProgress
			}
			k.c <- keyRead{buf[0], err}
		}()
	}
	select {
	case r := <-k.c:
		k.reading = false
		if r.err != nil {
			return 0, readError(r.err)
		}
		return r.b, nil
	case <-k.ctx.Done():
		return 0, context.Cause(k.ctx)
	}
}

// readError says what a failed read of the terminal means: end of file and
// EIO are the terminal gone (hang-up).
func readError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, syscall.EIO) {
		return errHangUp
	}
	return err
}
