// Package proc starts child processes that git-bbkey must be able to end
// completely: each runs in its own process group, so that a deadline or
// a close ends the program and whatever it started (the ssh behind a
// shell, the ProxyCommand behind ssh), and its output is kept bounded.
package proc

import (
	"bytes"
	"context"
	"os/exec"
	"sync"
	"time"
)

// WaitDelay is how long Wait waits for the output pipes to close after
// the process ended or was killed (a grandchild that escaped the group
// may hold them open).
const WaitDelay = 2 * time.Second

// Command is exec.CommandContext for a program started in a new process
// group: when ctx is done, the whole group is killed.
func Command(ctx context.Context, path string, argv ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path)
	cmd.Args = argv
	setGroup(cmd)
	cmd.Cancel = func() error { return KillGroup(cmd) }
	cmd.WaitDelay = WaitDelay
	return cmd
}

// KillGroup kills the process group of a command started by Command (on
// systems without process groups, the process).
func KillGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return killGroup(cmd)
}

// HangUpGroup tells the process group of a command started by Command
// to hang up (SIGHUP, as ssh does to its ProxyCommand); where there are
// no signals, it kills the process.
func HangUpGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return hangUpGroup(cmd)
}

// Buffer keeps the first Max bytes written to it and counts the rest;
// writes never fail, so a chatty program is never blocked or broken.
type Buffer struct {
	Max int

	mu        sync.Mutex
	buf       bytes.Buffer
	truncated bool
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.Max - b.buf.Len(); room < len(p) {
		b.truncated = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	b.buf.Write(p)
	return len(p), nil
}

// Bytes returns a copy of what was kept.
func (b *Buffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func (b *Buffer) String() string { return string(b.Bytes()) }

// Truncated reports whether more than Max bytes were written.
func (b *Buffer) Truncated() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.truncated
}
