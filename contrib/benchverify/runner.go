//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// runner runs and checks the timed commands.
type runner struct {
	ctx     context.Context
	tb      *benchTB
	env     []string
	dir     string
	timeout time.Duration
	verbose bool
	cpu     time.Duration // total CPU of the commands run so far
}

type verifyResult struct {
	URL     string `json:"url"`
	Status  string `json:"status"`
	User    string `json:"user"`
	Refs    *int   `json:"refs"`
	Message string `json:"message"`
}

func (r *runner) verify(argv []string, targets int) {
	out, cpu := timedOutput(r.ctx, r.tb, r.timeout, r.dir, r.env, argv...)
	r.cpu += cpu
	var doc struct {
		Results []verifyResult `json:"results"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		r.tb.Fatalf("%s: bad JSON: %v\n%s", strings.Join(argv, " "), err, clip(out))
	}
	var bad []string
	for _, res := range doc.Results {
		if res.Status != "ok" || res.User != "bench" || res.Refs == nil || *res.Refs != refsPerRepo {
			refs := "null"
			if res.Refs != nil {
				refs = fmt.Sprint(*res.Refs)
			}
			bad = append(bad, fmt.Sprintf("%s: status %q, user %q, refs %s (want ok, bench, %d): %s",
				res.URL, res.Status, res.User, refs, refsPerRepo, res.Message))
		}
	}
	if len(bad) > 0 {
		r.tb.Fatalf("%s: %d of %d targets failed:\n%s", argv[0]+" "+argv[1], len(bad), len(doc.Results), strings.Join(bad, "\n"))
	}
	if len(doc.Results) != targets {
		r.tb.Fatalf("%s: %d results for %d targets\n%s", strings.Join(argv, " "), len(doc.Results), targets, clip(out))
	}
}

func (r *runner) lsRemote(url string) {
	out, cpu := timedOutput(r.ctx, r.tb, r.timeout, r.dir, r.env, "git", "ls-remote", url)
	r.cpu += cpu
	refs := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if _, ref, ok := strings.Cut(line, "\t"); ok && !strings.HasSuffix(ref, "^{}") {
			refs++
		}
	}
	if refs != refsPerRepo {
		r.tb.Fatalf("git ls-remote %s: %d refs, want %d\n%s", url, refs, refsPerRepo, clip(out))
	}
}

// output runs argv with a time limit (the whole process group is killed
// when it runs out) and returns its stdout; anything but exit 0 is fatal.
func output(ctx context.Context, tb *benchTB, timeout time.Duration, dir string, env []string, argv ...string) []byte {
	out, _ := timedOutput(ctx, tb, timeout, dir, env, argv...)
	return out
}

// timedOutput is output that also returns the CPU time (user+system) the
// command and the descendants it waited for used.
func timedOutput(ctx context.Context, tb *benchTB, timeout time.Duration, dir string, env []string, argv ...string) ([]byte, time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", err, context.Cause(ctx))
		}
		tb.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(argv, " "), err, clip(stdout.Bytes()), clip(stderr.Bytes()))
	}
	return stdout.Bytes(), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// clip shortens command output for error messages.
func clip(b []byte) []byte {
	const max = 4 << 10
	if len(b) <= max {
		return b
	}
	return append(b[:max:max], fmt.Sprintf("\n… (%d more bytes)", len(b)-max)...)
}

// quiet runs a short informational command; "?" when it fails.
func quiet(argv ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return "?"
	}
	return string(out)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
