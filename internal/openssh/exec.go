package openssh

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/openssh/proc"
)

const defaultGTimeout = 10 * time.Second

type gResult struct {
	argv           []string
	stdout, stderr string
	exit           int
	missing        bool // the program (or the shell's command) does not exist
}

// TimeoutError: ssh -G did not answer in time (a Match exec that waits
// for a terminal, say).
type TimeoutError struct {
	Argv    []string
	Timeout time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("ssh -G for %q did not finish within %s", e.Argv[len(e.Argv)-1], e.Timeout)
}

// runG runs words+args, or git's form of the command with args when
// words is nil.
func (r *Resolver) runG(ctx context.Context, words, args []string) (gResult, error) {
	var argv []string
	if words != nil {
		argv = append(append([]string(nil), words...), args...)
	} else {
		argv = r.Command.Argv(args...)
	}
	res := gResult{argv: argv}
	path, err := lookPath(argv[0], r.getenv("PATH"))
	if err != nil {
		res.missing = true
		return res, nil
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = defaultGTimeout
	}
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := proc.Command(runCtx, path, argv...)
	cmd.Env, cmd.Dir = r.env(), r.Dir
	stdout, stderr := &proc.Buffer{Max: 1 << 20}, &proc.Buffer{Max: 64 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	res.stdout, res.stderr = stdout.String(), stderr.String()
	if runCtx.Err() != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, &TimeoutError{Argv: argv, Timeout: timeout}
	}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.exit = exit.ExitCode()
		if words == nil && r.Command.ViaShell() && (res.exit == 127 || res.exit == 126) {
			res.missing = true // the shell's "command not found" / "not executable"
		}
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrPermission):
		res.missing = true
	case err != nil:
		return res, fmt.Errorf("run %q: %w", argv[0], err)
	}
	return res, nil
}

// lookPath finds a program the way the shell and execvp do, but in the
// PATH of the environment ssh gets rather than this process's.
func lookPath(name, path string) (string, error) {
	if strings.ContainsRune(name, '/') || runtime.GOOS == "windows" && strings.ContainsRune(name, '\\') {
		if executable(name) {
			return name, nil
		}
		return "", fmt.Errorf("%q: %w", name, exec.ErrNotFound)
	}
	if runtime.GOOS == "windows" {
		return exec.LookPath(name)
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if !strings.ContainsRune(p, '/') {
			p = "./" + p
		}
		if executable(p) {
			return p, nil
		}
	}
	return "", fmt.Errorf("%q: %w", name, exec.ErrNotFound)
}

func executable(p string) bool {
	st, err := os.Stat(p)
	if err != nil || st.IsDir() {
		return false
	}
	return runtime.GOOS == "windows" || st.Mode()&0o111 != 0
}
