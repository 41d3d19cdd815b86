package openssh

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// Resolver computes effective settings by asking OpenSSH (`ssh -G`) with
// the command and options git would use. It runs ssh -G once per
// distinct invocation (command, host, port, user) and shares the answer
// between callers, also concurrent ones. Settings it returns are shared:
// do not modify them.
type Resolver struct {
	Command Command
	// Local is the account as OpenSSH sees it (CurrentLocal): ~, %d, %u.
	Local Local
	// Home is $HOME as git-bbkey uses it, for File.HomePath and for the
	// configuration files read when ssh cannot be run.
	Home string
	// Env is the environment ssh runs with; ${VAR} in settings come from
	// it too. nil means this process's environment, as for os/exec.
	Env []string
	// Dir is the working directory (git runs ssh in the repository).
	Dir string
	// SystemConfig is the system-wide ssh_config read when ssh cannot be
	// run; "" reads none.
	SystemConfig string
	// Timeout bounds one ssh -G run (default 10s).
	Timeout time.Duration

	mu    sync.Mutex
	cache map[string]*call
}

type call struct {
	done chan struct{}
	s    *Settings
	err  error
	// abandoned: it ended with its caller's context, which says nothing
	// about the answer; set before done is closed.
	abandoned bool
}

// SSHError: ssh -G refused the configuration (a bad option, an
// unreadable -F file, …); git's ssh would stop the same way.
type SSHError struct {
	Argv     []string
	ExitCode int
	Stderr   string // ssh's own words, bounded; text from outside
}

func (e *SSHError) Error() string {
	msg := fmt.Sprintf("exit status %d", e.ExitCode)
	for _, line := range strings.Split(e.Stderr, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "debug") && !strings.HasPrefix(line, "OpenSSH_") &&
			!strings.HasPrefix(line, "Pseudo-terminal will not be allocated") {
			msg = line
			break
		}
	}
	return fmt.Sprintf("ssh -G for %q failed: %s", e.Argv[len(e.Argv)-1], msg)
}

// ErrNoProxyJump is returned by Hop for settings without ProxyJump.
var ErrNoProxyJump = errors.New("no ProxyJump")

// JumpLoopError: a ProxyJump chain that does not end (a jump host that
// is reached through itself).
type JumpLoopError struct{ Chain []string }

func (e *JumpLoopError) Error() string {
	return fmt.Sprintf("ProxyJump chain does not end: %s", strings.Join(e.Chain, " -> "))
}

const maxJumpDepth = 8

// Settings returns the effective settings for t, as the ssh git runs
// would compute them.
func (r *Resolver) Settings(ctx context.Context, t Target) (*Settings, error) {
	switch r.Command.Variant {
	case VariantSimple, VariantPlink, VariantPutty, VariantTortoisePlink:
		// Not OpenSSH: git passes no options it would understand, and it
		// reads no ssh_config.
		return r.notOpenSSH(t, r.Command.Variant), nil
	}
	opts, err := r.Command.GitOptions(VariantSSH, t, false)
	if err != nil {
		return nil, err
	}
	args := append(opts, t.HostArg())
	return r.resolve(ctx, t, r.Command.Words, args, hopCommandOf(r.Command))
}

// Hop returns the effective settings of the last jump host of
// of.ProxyJump, as ssh computes them for the jump command it runs
// (`ssh [-l user] [-p port] [-J earlier,hops] [-F config] -W … host`):
// the hop's own configuration, not the options of git's ssh command.
// The hop's ProxyJump holds the earlier hops, if any.
func (r *Resolver) Hop(ctx context.Context, of *Settings) (*Settings, error) {
	if of.ProxyJump == "" {
		return nil, ErrNoProxyJump
	}
	chain, err := ParseJumpChain(of.ProxyJump)
	if err != nil {
		return nil, err
	}
	if depth := of.hop.depth + 1; depth > maxJumpDepth {
		return nil, &JumpLoopError{Chain: append(of.hop.seen, of.ProxyJump)}
	}
	last := chain[len(chain)-1]
	var args []string
	if last.User != "" {
		args = append(args, "-l", last.User)
	}
	if last.Port != 0 {
		args = append(args, "-p", fmt.Sprint(last.Port))
	}
	if len(chain) > 1 {
		args = append(args, "-J", JoinJumpChain(chain[:len(chain)-1]))
	}
	if of.hop.configFile != "" {
		args = append(args, "-F", of.hop.configFile)
	}
	args = append(args, last.Host)
	hop := of.hop
	// ssh runs the jump command as its own argv[0], or "ssh" when that
	// is a path it cannot execute.
	if strings.ContainsRune(hop.bin, '/') && !executable(hop.bin) {
		hop.bin = "ssh"
	}
	hop.depth++
	hop.seen = append(append([]string(nil), of.hop.seen...), last.String())
	return r.resolve(ctx, Target{Host: last.Host, Port: last.Port, User: last.User}, []string{hop.bin}, args, hop)
}

// resolve runs `words -G -v args` (or git's shell form when words is
// nil), once per distinct invocation.
func (r *Resolver) resolve(ctx context.Context, t Target, words, args []string, hop hopCommand) (*Settings, error) {
	// The depth is part of the key: a hop's answer records how it was
	// reached, so that a chain through itself ends (JumpLoopError).
	key := fmt.Sprintf("%q %q %q %d", words, r.Command.Text, args, hop.depth)
	for {
		r.mu.Lock()
		if r.cache == nil {
			r.cache = make(map[string]*call)
		}
		c, ok := r.cache[key]
		if !ok {
			c = &call{done: make(chan struct{})}
			r.cache[key] = c
			r.mu.Unlock()
			return r.run(ctx, c, key, t, words, args, hop)
		}
		r.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if !c.abandoned {
			return c.s, c.err
		}
		// The caller that ran it gave up (its own context: a per-target
		// timeout, say): its error is not this caller's. Ask again.
	}
}

// run makes call c, the one for key in the cache.
func (r *Resolver) run(ctx context.Context, c *call, key string, t Target, words, args []string, hop hopCommand) (*Settings, error) {
	c.s, c.err = r.ask(ctx, t, words, args, hop)
	if c.err != nil && ctx.Err() != nil {
		// A cancelled caller must not poison the cache for others.
		c.abandoned = true
		r.mu.Lock()
		delete(r.cache, key)
		r.mu.Unlock()
	}
	close(c.done)
	return c.s, c.err
}

func (r *Resolver) ask(ctx context.Context, t Target, words, args []string, hop hopCommand) (*Settings, error) {
	// git probes a program it cannot name by running it with -G.
	probe := r.Command.Variant == VariantAuto && hop.depth == 0
	res, err := r.runG(ctx, words, append([]string{"-G", "-v"}, args...))
	if err != nil {
		return nil, err
	}
	if res.missing {
		return r.approximate(t, words, args, hop)
	}
	if res.exit != 0 && probe {
		// git's probe runs without -v: give a wrapper that refuses -v the
		// same chance, then call it "simple" as git does.
		if res, err = r.runG(ctx, words, append([]string{"-G"}, args...)); err != nil {
			return nil, err
		}
		if res.exit != 0 || res.missing {
			return r.notOpenSSH(t, VariantSimple), nil
		}
	}
	if res.exit != 0 {
		return nil, &SSHError{Argv: res.argv, ExitCode: res.exit, Stderr: res.stderr}
	}
	raw, err := parseDump(res.stdout)
	if err != nil {
		return nil, &SSHError{Argv: res.argv, ExitCode: 0, Stderr: "unexpected output: " + err.Error()}
	}
	s := &Settings{Target: t, Variant: VariantSSH, AccountHome: r.Local.Home, Home: r.Home, hop: hop}
	if s.AccountHome == "" {
		s.AccountHome = r.Home
	}
	if err := s.fillScalars(raw); err != nil {
		return nil, err
	}
	s.ConfigFiles, s.MatchExec = parseDebug(res.stderr)
	hash := ""
	if needsHash(raw) {
		hash = r.connectionHash(ctx, words, args)
	}
	if err := s.fillFiles(raw, r.Local, r.lookupEnv, hash); err != nil {
		return nil, err
	}
	return s, nil
}

// connectionHash learns %C from ssh itself (its formula changed between
// OpenSSH versions) by asking it to expand a ControlPath of "%C".
func (r *Resolver) connectionHash(ctx context.Context, words, args []string) string {
	res, err := r.runG(ctx, words, append([]string{"-G", "-o", "ControlPath=%C"}, args...))
	if err != nil || res.exit != 0 {
		return ""
	}
	raw, err := parseDump(res.stdout)
	if err != nil {
		return ""
	}
	if h := first(raw, "controlpath"); len(h) == 40 && !strings.ContainsAny(h, "/%") {
		return h
	}
	return ""
}

func needsHash(raw map[string][]string) bool {
	for _, k := range []string{"identityfile", "certificatefile"} {
		for _, v := range raw[k] {
			if strings.Contains(v, "%C") {
				return true
			}
		}
	}
	return false
}

// env is the environment ssh gets: Env, or when nil this process's own
// (as os/exec does with a nil Env).
func (r *Resolver) env() []string {
	if r.Env == nil {
		return os.Environ()
	}
	return r.Env
}

func (r *Resolver) lookupEnv(name string) (string, bool) {
	env := r.env()
	prefix := name + "="
	for i := len(env) - 1; i >= 0; i-- {
		if strings.HasPrefix(env[i], prefix) {
			return env[i][len(prefix):], true
		}
	}
	return "", false
}

func (r *Resolver) getenv(name string) string {
	v, _ := r.lookupEnv(name)
	return v
}

// parseDebug picks the configuration files read and the Match exec
// commands run out of ssh -v's debug lines.
func parseDebug(stderr string) (files, execs []string) {
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimRight(line, "\r")
		if rest, ok := strings.CutPrefix(line, "debug1: Reading configuration data "); ok {
			files = append(files, rest)
		} else if rest, ok := strings.CutPrefix(line, "debug1: Executing command: '"); ok {
			execs = append(execs, strings.TrimSuffix(rest, "'"))
		}
	}
	return files, execs
}
