//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
)

// benchTB lets sshdtest (written for tests) run in this program: Fatal
// unwinds to run() with a panic, Cleanup functions run at the end, and
// TempDir hands out directories under the benchmark's own temp dir. It
// implements every method of testing.TB; the embedded nil interface only
// supplies the unexported one.
type benchTB struct {
	testing.TB
	root string
	ctx  context.Context

	mu       sync.Mutex
	cleanups []func()
	failed   bool
	skipped  bool
}

type fatal struct{ msg string }

func (b *benchTB) Helper()      {}
func (b *benchTB) Name() string { return "benchverify" }
func (b *benchTB) Fail()        { b.mu.Lock(); b.failed = true; b.mu.Unlock() }
func (b *benchTB) Failed() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.failed }
func (b *benchTB) FailNow()     { b.Fail(); panic(fatal{"failed"}) }
func (b *benchTB) Log(args ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"benchverify:"}, args...)...)
}
func (b *benchTB) Logf(format string, args ...any) { logf(format, args...) }
func (b *benchTB) Error(args ...any)               { b.Fail(); b.Log(args...) }
func (b *benchTB) Errorf(format string, args ...any) {
	b.Fail()
	logf(format, args...)
}
func (b *benchTB) Fatal(args ...any) { b.Fail(); panic(fatal{fmt.Sprint(args...)}) }
func (b *benchTB) Fatalf(format string, args ...any) {
	b.Fail()
	panic(fatal{fmt.Sprintf(format, args...)})
}
func (b *benchTB) Skip(args ...any) { b.skipped = true; b.Fatal(args...) }
func (b *benchTB) SkipNow()         { b.skipped = true; b.FailNow() }
func (b *benchTB) Skipf(format string, args ...any) {
	b.skipped = true
	b.Fatalf(format, args...)
}
func (b *benchTB) Skipped() bool            { return b.skipped }
func (b *benchTB) Setenv(key, value string) { b.Fatalf("benchTB: Setenv is not supported") }
func (b *benchTB) Chdir(dir string)         { b.Fatalf("benchTB: Chdir is not supported") }
func (b *benchTB) Attr(key, value string)   {}
func (b *benchTB) Output() io.Writer        { return os.Stderr }
func (b *benchTB) Context() context.Context { return b.ctx }
func (b *benchTB) ArtifactDir() string      { return b.TempDir() }
func (b *benchTB) Cleanup(f func())         { b.mu.Lock(); b.cleanups = append(b.cleanups, f); b.mu.Unlock() }
func (b *benchTB) TempDir() string {
	dir, err := os.MkdirTemp(b.root, "tmp")
	if err != nil {
		b.Fatal(err)
	}
	return dir
}

// cleanup runs the Cleanup functions, last first, like testing does.
func (b *benchTB) cleanup() {
	for {
		b.mu.Lock()
		n := len(b.cleanups)
		if n == 0 {
			b.mu.Unlock()
			return
		}
		f := b.cleanups[n-1]
		b.cleanups = b.cleanups[:n-1]
		b.mu.Unlock()
		func() {
			defer func() {
				if r := recover(); r != nil {
					logf("cleanup: %v", r)
				}
			}()
			f()
		}()
	}
}
