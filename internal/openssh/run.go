package openssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"

	"github.com/git-bbkey/git-bbkey/internal/openssh/proc"
)

// Runner runs a remote command through the user's own ssh program, the
// way git runs it, but non-interactive and with exactly one key:
// `-o BatchMode=yes -o IdentitiesOnly=yes -i KEY` for OpenSSH (the
// agent may still sign for that key, no other), `-batch -noagent -i KEY`
// for PuTTY's programs. Known hosts stay as the user configured them.
// It is the fallback for settings whose Limits are not empty.
type Runner struct {
	Command Command
	// Variant of the program; VariantAuto means Command.Variant, and an
	// undecided one is taken as OpenSSH (Settings.Variant has the probe's
	// answer).
	Variant Variant
	// Env is the environment for ssh (without GIT_PROTOCOL, so that the
	// server answers with a protocol v0 advertisement); nil means this
	// process's environment, as for os/exec.
	Env []string
	Dir string
	// MaxOutput bounds what is kept of stdout and of stderr (default 64 KiB).
	MaxOutput int
	// Options are added for OpenSSH, before git's own (e.g. "-o",
	// "StrictHostKeyChecking=accept-new"); other variants ignore them.
	Options []string
}

// RunRequest is one remote command.
type RunRequest struct {
	Target  Target
	KeyFile string // the only identity ssh may use
	Remote  string // e.g. "whoami", RemoteCommand("git-upload-pack", "/proj/repo.git")
	// Advertisement: stdout is a pkt-line ref advertisement (upload-pack,
	// receive-pack); once it has ended, send a flush-pkt and close stdin,
	// as git does when it has nothing to fetch or push. Otherwise stdin
	// is closed at once.
	Advertisement bool
	ReceivePack   bool // the command is git-receive-pack (git speaks v0 to it)
}

// RunResult is what the program did. The fields from ssh's debug output
// describe the last connection ssh made (the target, after any jump
// hosts); they stay empty for programs other than OpenSSH.
type RunResult struct {
	Argv            []string
	Stdout          []byte
	Stderr          []byte // without ssh's debug lines; text from outside
	StdoutTruncated bool
	StderrTruncated bool
	ExitCode        int // -1 when the program was killed

	// IdentityEnforced: the program was told to use only KeyFile.
	IdentityEnforced bool
	HostKey          string   // fingerprint of the server's host key ("SHA256:…")
	Offered          []string // fingerprints of the keys ssh offered, in order
	AcceptedKey      string   // fingerprint of the key the server accepted
	Authenticated    bool
}

const defaultMaxOutput = 64 << 10

// Run runs req and waits for the program and everything it started to
// end. It returns an error only when the program could not be started or
// ctx ended first (errors.Is(err, context.DeadlineExceeded) for a
// deadline); the result is filled as far as it got in both cases.
func (r *Runner) Run(ctx context.Context, req RunRequest) (*RunResult, error) {
	variant := r.Variant
	if variant == VariantAuto {
		variant = r.Command.Variant
	}
	if variant == VariantAuto {
		variant = VariantSSH
	}
	res := &RunResult{ExitCode: -1}
	var args []string
	switch variant {
	case VariantSSH:
		args = []string{"-v", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", req.KeyFile}
		args = append(args, r.Options...)
		res.IdentityEnforced = true
	case VariantPlink, VariantPutty, VariantTortoisePlink:
		args = []string{"-batch", "-noagent", "-i", req.KeyFile}
		res.IdentityEnforced = true
	}
	opts, err := r.Command.GitOptions(variant, req.Target, req.ReceivePack)
	if err != nil {
		return res, err
	}
	args = append(append(args, opts...), req.Target.HostArg(), req.Remote)
	res.Argv = r.Command.Argv(args...)

	env := r.Env
	if env == nil {
		env = os.Environ()
	}
	path, err := lookPath(res.Argv[0], envValue(env, "PATH"))
	if err != nil {
		return res, fmt.Errorf("run %q: %w", res.Argv[0], err)
	}
	max := r.MaxOutput
	if max <= 0 {
		max = defaultMaxOutput
	}
	cmd := proc.Command(ctx, path, res.Argv...)
	cmd.Env, cmd.Dir = withoutVar(env, "GIT_PROTOCOL"), r.Dir
	stdout := &proc.Buffer{Max: max}
	stderr := &debugFilter{out: proc.Buffer{Max: max}}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if req.Advertisement {
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return res, err
		}
		cmd.Stdout = io.MultiWriter(stdout, &advertisementEnd{done: func() {
			_, _ = io.WriteString(stdin, "0000")
			_ = stdin.Close()
		}})
	}
	err = cmd.Run()
	stderr.flush()
	res.Stdout, res.StdoutTruncated = stdout.Bytes(), stdout.Truncated()
	res.Stderr, res.StderrTruncated = stderr.out.Bytes(), stderr.out.Truncated()
	c := stderr.last()
	res.HostKey, res.Offered, res.AcceptedKey, res.Authenticated = c.hostKey, c.offered, c.accepted, c.authenticated
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("%s on %q did not finish: %w", baseName(res.Argv[0]), req.Target.String(), ctx.Err())
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitCode()
	case err != nil:
		return res, fmt.Errorf("run %q: %w", res.Argv[0], err)
	default:
		res.ExitCode = 0
	}
	return res, nil
}

// advertisementEnd watches pkt-lines and calls done once when the
// advertisement is over: at its flush-pkt, an ERR packet, or anything
// that is not a pkt-line.
type advertisementEnd struct {
	done  func()
	buf   []byte
	ended bool
}

func (a *advertisementEnd) Write(p []byte) (int, error) {
	if a.ended {
		return len(p), nil
	}
	a.buf = append(a.buf, p...)
	for len(a.buf) >= 4 && !a.ended {
		var n int
		if _, err := fmt.Sscanf(string(a.buf[:4]), "%04x", &n); err != nil || n == 1 || n == 2 || n == 3 {
			a.end()
			break
		}
		if n == 0 {
			a.end()
			break
		}
		if len(a.buf) < n {
			break
		}
		if strings.HasPrefix(string(a.buf[4:n]), "ERR ") {
			a.end()
			break
		}
		a.buf = a.buf[n:]
	}
	return len(p), nil
}

func (a *advertisementEnd) end() {
	a.ended, a.buf = true, nil
	a.done()
}

// debugFilter separates ssh -v's debug lines from the rest of stderr
// and follows each connection's authentication in them.
type debugFilter struct {
	out     proc.Buffer
	mu      sync.Mutex
	partial []byte
	conns   []conn
}

type conn struct {
	hostKey       string
	offered       []string
	accepted      string
	authenticated bool
}

func (d *debugFilter) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.partial = append(d.partial, p...)
	for {
		i := strings.IndexByte(string(d.partial), '\n')
		if i < 0 {
			if len(d.partial) > 4096 { // an endless line is not ssh's
				_, _ = d.out.Write(d.partial)
				d.partial = d.partial[:0]
			}
			return len(p), nil
		}
		d.line(string(d.partial[:i+1]))
		d.partial = d.partial[i+1:]
	}
}

func (d *debugFilter) flush() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.partial) > 0 {
		d.line(string(d.partial))
		d.partial = nil
	}
}

func (d *debugFilter) line(line string) {
	text := strings.TrimRight(line, "\r\n")
	cur := func() *conn {
		if len(d.conns) == 0 {
			d.conns = append(d.conns, conn{})
		}
		return &d.conns[len(d.conns)-1]
	}
	switch {
	case strings.HasPrefix(text, "debug1: Server host key: "):
		d.conns = append(d.conns, conn{hostKey: fingerprintIn(text)})
	case strings.HasPrefix(text, "debug1: Offering public key: "):
		c := cur()
		c.offered = append(c.offered, fingerprintIn(text))
	case strings.HasPrefix(text, "debug1: Server accepts key: "):
		cur().accepted = fingerprintIn(text)
	case strings.HasPrefix(text, "Authenticated to "):
		cur().authenticated = true
	case strings.HasPrefix(text, "debug1: "), strings.HasPrefix(text, "debug2: "), strings.HasPrefix(text, "debug3: "),
		strings.HasPrefix(text, "OpenSSH_"), strings.HasPrefix(text, "Transferred: "),
		strings.HasPrefix(text, "Bytes per second: "), text == "Pseudo-terminal will not be allocated because stdin is not a terminal.":
	default:
		_, _ = d.out.Write([]byte(line))
	}
}

func (d *debugFilter) last() conn {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.conns) == 0 {
		return conn{}
	}
	c := d.conns[len(d.conns)-1]
	c.offered = append([]string(nil), c.offered...)
	return c
}

// fingerprintIn finds the "SHA256:…" (or "MD5:…") field of a debug line.
func fingerprintIn(line string) string {
	for _, f := range strings.Fields(line) {
		if strings.HasPrefix(f, "SHA256:") || strings.HasPrefix(f, "MD5:") {
			return f
		}
	}
	return ""
}

func envValue(env []string, name string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], name+"="); ok {
			return v
		}
	}
	return ""
}

func withoutVar(env []string, name string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
