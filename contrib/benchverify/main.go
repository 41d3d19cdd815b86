//go:build unix

// Command benchverify measures how fast `git bbkey verify` is against a
// real OpenSSH sshd on 127.0.0.1, compared with `git ls-remote` through
// OpenSSH's ssh on the same server (issue 4, the speed part):
//
//	go run ./contrib/benchverify [-server sshd|sandbox] [-n 10] [-repos 20] [-direct] [-v]
//
// It builds git-bbkey, starts the server (-server sshd, the default: OpenSSH
// sshd with internal/testutil/sshdtest, its own host key, authorized_keys
// and bare repositories in a temp dir, the account running it not locked;
// -server sandbox: internal/bbsandbox in this process, which like
// Bitbucket forks nothing per session but git itself), generates an
// ed25519 key with ssh-keygen, pins the host key in a fake HOME, and then
// times, each in a fresh process and -n times, interleaved round by round
// so that load from other work on the machine hits every scenario alike:
//
//	verify-1    git bbkey verify --key K --json URL1
//	ls-remote-1 git ls-remote URL1 (GIT_SSH_COMMAND=ssh -F /dev/null -i K …)
//	verify-N    git bbkey verify --key K --json URL1 … URLN
//	ls-remote-N git ls-remote URL1; …; git ls-remote URLN (one after another)
//	server-1    whoami and one git-upload-pack on a connection opened
//	            beforehand, by an in-process client (no process, no handshake)
//	server-N    whoami and N git-upload-pack the same way, 10 at a time
//
// The last two are the server's own share: no client can finish verify-N
// sooner than verify-1 - server-1 + server-N, and the report says what that
// floor makes of the verify-N / verify-1 ratio.
//
// Every run is checked (each verify target "ok" with the expected ref
// count, each ls-remote exit 0 with the same refs, each server-N session
// the right user or ref count); any failure stops the benchmark with exit
// status 1. It prints the medians and minimums, the three ratios against
// their targets, the floor, and facts about the machine. The exit status
// does not depend on the targets being met (it is a report, not a test).
// The server and every temp dir are removed at the end, every command has
// a time limit, and only 127.0.0.1 is used.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
	"github.com/git-bbkey/git-bbkey/internal/testutil/sshdtest"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// Each repository has HEAD, three branches and two annotated tags: six
// refs as both git ls-remote (without peeled ^{} lines) and verify count them.
var (
	repoBranches = []string{"main", "dev", "feature"}
	repoTags     = []string{"v1", "v2"}
)

const refsPerRepo = 6

type config struct {
	server     string
	runs       int
	repos      int
	cmdTimeout time.Duration
	maxTime    time.Duration
	direct     bool
	bbkey      string
	verbose    bool
}

func run(args []string) (status int) {
	var cfg config
	fs := flag.NewFlagSet("benchverify", flag.ContinueOnError)
	fs.StringVar(&cfg.server, "server", "sshd", "server to measure against: sshd (OpenSSH) or sandbox (internal/bbsandbox)")
	fs.IntVar(&cfg.runs, "n", 10, "timed runs per scenario")
	fs.IntVar(&cfg.repos, "repos", 20, "remotes for the many-remote scenarios")
	fs.DurationVar(&cfg.cmdTimeout, "cmd-timeout", time.Minute, "limit for any one command")
	fs.DurationVar(&cfg.maxTime, "max-time", 15*time.Minute, "limit for the whole benchmark")
	fs.BoolVar(&cfg.direct, "direct", false, "run the git-bbkey binary directly instead of through `git bbkey`")
	fs.StringVar(&cfg.bbkey, "bbkey", "", "use this git-bbkey binary instead of building one")
	fs.BoolVar(&cfg.verbose, "v", false, "print every run")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: go run ./contrib/benchverify [flags]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if cfg.runs < 1 || cfg.repos < 1 || fs.NArg() > 0 || cfg.server != "sshd" && cfg.server != "sandbox" {
		fs.Usage()
		return 2
	}

	ctx, cancel := context.WithTimeout(context.Background(), cfg.maxTime)
	defer cancel()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	root, err := os.MkdirTemp("", "benchverify-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchverify:", err)
		return 1
	}
	tb := &benchTB{root: root, ctx: ctx}
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(fatal)
			if !ok {
				panic(r)
			}
			tb.failed = true
			fmt.Fprintln(os.Stderr, "benchverify: FAILED:", f.msg)
			status = 1
		}
		tb.cleanup() // stops sshd (and prints its log if something failed)
		if err := os.RemoveAll(root); err != nil {
			fmt.Fprintln(os.Stderr, "benchverify:", err)
		}
	}()
	bench(ctx, tb, cfg)
	return 0
}

func bench(ctx context.Context, tb *benchTB, cfg config) {
	start := time.Now()
	load0 := loadavg()
	bin := filepath.Join(tb.root, "bin")
	must(tb, os.MkdirAll(bin, 0o755))
	bbkey := filepath.Join(bin, "git-bbkey")
	if cfg.bbkey != "" {
		src, err := os.ReadFile(cfg.bbkey)
		must(tb, err)
		must(tb, os.WriteFile(bbkey, src, 0o755))
	} else {
		modRoot := strings.TrimSuffix(strings.TrimSpace(string(output(ctx, tb, 5*time.Minute, "", nil, "go", "env", "GOMOD"))), "go.mod")
		if modRoot == "" {
			tb.Fatalf("run it inside the git-bbkey module (go env GOMOD is empty)")
		}
		logf("building git-bbkey…")
		output(ctx, tb, 5*time.Minute, modRoot, nil, "go", "build", "-o", bbkey, "./git-bbkey")
	}

	keyDir := tb.TempDir()
	keyFile := filepath.Join(keyDir, "id_ed25519")
	output(ctx, tb, cfg.cmdTimeout, "", nil, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "benchverify", "-f", keyFile)
	pubText, err := os.ReadFile(keyFile + ".pub")
	must(tb, err)
	logf("starting %s and creating %d repositories…", cfg.server, cfg.repos)
	var srv *server
	if cfg.server == "sandbox" {
		srv = startSandbox(ctx, tb, cfg, string(pubText))
	} else {
		srv = startSSHD(tb, cfg, pubText)
	}
	urls := srv.urls

	home := tb.TempDir()
	must(tb, os.Mkdir(filepath.Join(home, ".ssh"), 0o700))
	knownHosts := filepath.Join(home, ".ssh", "known_hosts")
	must(tb, os.WriteFile(knownHosts, []byte(srv.knownHostsLine+"\n"), 0o644))
	work := tb.TempDir() // not a repository: the targets are URLs

	env := sshdtest.GitEnv(home)
	env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "PATH=") })
	env = append(env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"GIT_CEILING_DIRECTORIES="+filepath.Dir(work),
		"GIT_SSH_COMMAND="+sshdtest.SSHCommand(keyFile, knownHosts))

	verifyCmd := func(targets []string) []string {
		args := append([]string{"verify", "--key", keyFile, "--json"}, targets...)
		if cfg.direct {
			return append([]string{bbkey}, args...)
		}
		return append([]string{"git", "bbkey"}, args...)
	}
	r := &runner{ctx: ctx, tb: tb, env: env, dir: work, timeout: cfg.cmdTimeout, verbose: cfg.verbose}
	scenarios := []*scenario{
		{name: "verify-1", what: "git bbkey verify, 1 remote", run: func() { r.verify(verifyCmd(urls[:1]), 1) }},
		{name: "ls-remote-1", what: "git ls-remote, 1 remote", run: func() { r.lsRemote(urls[0]) }},
		{name: fmt.Sprintf("verify-%d", cfg.repos), what: fmt.Sprintf("git bbkey verify, %d remotes", cfg.repos),
			run: func() { r.verify(verifyCmd(urls), len(urls)) }},
		{name: fmt.Sprintf("ls-remote-%d", cfg.repos), what: fmt.Sprintf("%d x git ls-remote, one after another", cfg.repos),
			run: func() {
				for _, u := range urls {
					r.lsRemote(u)
				}
			}},
	}
	// What the server alone needs for verify's sessions (see floor).
	fl := newFloor(ctx, tb, srv, keyFile)
	paths := srv.paths
	scenarios = append(scenarios,
		&scenario{name: "server-1", what: "the server alone: whoami and 1 git-upload-pack on an open connection (in-process client)",
			run: func() { fl.sessions(paths[:1]) }, inProcess: true},
		&scenario{name: fmt.Sprintf("server-%d", cfg.repos), what: fmt.Sprintf("the server alone: whoami and %d git-upload-pack, %d at a time, on an open connection", cfg.repos, floorSessions),
			run: func() { fl.sessions(paths) }, inProcess: true})

	if cfg.direct {
		scenarios[0].what = "git-bbkey verify, 1 remote"
		scenarios[2].what = fmt.Sprintf("git-bbkey verify, %d remotes", cfg.repos)
	}

	// One untimed round first: it checks everything works and warms the
	// page cache, so that no scenario pays for being first.
	logf("warm-up round…")
	for _, s := range scenarios {
		s.run()
	}
	logf("timing %d rounds…", cfg.runs)
	for round := 0; round < cfg.runs; round++ {
		for _, s := range scenarios {
			if ctx.Err() != nil {
				tb.Fatalf("stopped: %v", context.Cause(ctx))
			}
			t0, cpu0 := time.Now(), r.cpu
			s.run()
			d := time.Since(t0)
			s.times = append(s.times, d)
			s.cpu = append(s.cpu, r.cpu-cpu0)
			if cfg.verbose {
				logf("round %d %-14s %8.1f ms", round+1, s.name, ms(d))
			}
		}
	}

	report(os.Stdout, cfg, scenarios, srv.describe, load0, time.Since(start))
}

type scenario struct {
	name, what string
	run        func()
	inProcess  bool // no processes: client CPU is not measured
	times      []time.Duration
	cpu        []time.Duration // user+system CPU of the timed processes (with their children)
}

func (s *scenario) median() time.Duration { return median(s.times) }

func median(times []time.Duration) time.Duration {
	t := slices.Clone(times)
	slices.Sort(t)
	n := len(t)
	if n%2 == 1 {
		return t[n/2]
	}
	return (t[n/2-1] + t[n/2]) / 2
}

func (s *scenario) min() time.Duration { return slices.Min(s.times) }
func (s *scenario) max() time.Duration { return slices.Max(s.times) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func report(w io.Writer, cfg config, sc []*scenario, server string, load0 string, total time.Duration) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "machine:")
	fmt.Fprintf(w, "  cpus:      %d (nproc %s)\n", runtime.NumCPU(), firstLine(quiet("nproc")))
	fmt.Fprintf(w, "  cpu model: %s\n", cpuModel())
	fmt.Fprintf(w, "  kernel:    %s\n", firstLine(quiet("uname", "-sr")))
	fmt.Fprintf(w, "  go:        %s\n", firstLine(quiet("go", "version")))
	fmt.Fprintf(w, "  openssh:   %s\n", firstLine(quiet("ssh", "-V")))
	fmt.Fprintf(w, "  git:       %s\n", firstLine(quiet("git", "--version")))
	fmt.Fprintf(w, "  loadavg:   %s at start, %s at end\n", load0, loadavg())
	fmt.Fprintf(w, "  server:    %s; %d repos, %d refs each\n", server, cfg.repos, refsPerRepo)
	fmt.Fprintf(w, "  runs:      %d per scenario, fresh process each, interleaved; total %s\n", cfg.runs, total.Round(time.Second))
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tmedian ms\tmin ms\tmax ms\tclient cpu ms\t")
	for _, s := range sc {
		cpu := fmt.Sprintf("%.1f", ms(median(s.cpu)))
		if s.inProcess {
			cpu = "-"
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%s\t\n", s.name, ms(s.median()), ms(s.min()), ms(s.max()), cpu)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, s := range sc {
		fmt.Fprintf(w, "  %-14s %s\n", s.name, s.what)
	}
	fmt.Fprintln(w, "  (client cpu: median user+system time of the timed processes and their children; the server's share is not in it)")
	tw.Flush()
	fmt.Fprintln(w)

	n := cfg.repos
	ratios := []struct {
		num, den *scenario
		target   float64
	}{
		{sc[0], sc[1], 0.6},
		{sc[2], sc[0], 2.5},
		{sc[2], sc[3], 0.1},
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ratio\tmedian\tmin\ttarget\tresult\t")
	for _, r := range ratios {
		med := ms(r.num.median()) / ms(r.den.median())
		low := ms(r.num.min()) / ms(r.den.min())
		verdict := "pass"
		if med > r.target {
			verdict = "MISS"
		}
		fmt.Fprintf(tw, "%s / %s\t%.3f\t%.3f\t<= %.2f\t%s\t\n", r.num.name, r.den.name, med, low, r.target, verdict)
	}
	tw.Flush()

	// No client gets verify-N done before the server has served its
	// sessions, and none starts them before it has connected as verify-1
	// does.
	v1, sN, s1 := ms(sc[0].median()), ms(sc[5].median()), ms(sc[4].median())
	fmt.Fprintf(w, "\nfloor: the server needs %.0f ms for the %d sessions of verify-%d on an open connection (%.0f ms for verify-1's two),\n", sN, n+1, n, s1)
	fmt.Fprintf(w, "so verify-%d / verify-1 cannot be below (verify-1 - server-1 + server-%d) / verify-1 = %.2f with this server.\n", n, n, (v1-s1+sN)/v1)
	if n != 20 {
		fmt.Fprintf(w, "\nnote: the targets are meant for 20 remotes; this run used %d.\n", n)
	}
}

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

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchverify: "+format+"\n", args...)
}

func must(tb *benchTB, err error) {
	if err != nil {
		tb.Fatal(err)
	}
}

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

// floorSessions is how many sessions floor runs at once on its
// connection: OpenSSH's default MaxSessions, as verify does.
const floorSessions = 10

// floor measures what the server alone needs for verify's work: the same
// commands verify runs (whoami, and git-upload-pack reading each ref
// advertisement), at most floorSessions at once, on one SSH connection
// opened beforehand. No process starts and no handshake is timed, so it
// is a lower bound for any client on this sshd.
type floor struct {
	tb     *benchTB
	client *ssh.Client
}

func newFloor(ctx context.Context, tb *benchTB, srv *server, keyFile string) *floor {
	keyPEM, err := os.ReadFile(keyFile)
	must(tb, err)
	signer, err := ssh.ParsePrivateKey(keyPEM)
	must(tb, err)
	addr := srv.addr
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	nc, err := (&net.Dialer{}).DialContext(dctx, "tcp", addr)
	must(tb, err)
	// The same TCP handling as verify, so neither pays for delayed ACKs.
	nc = sshverify.QuickAck(nc)
	must(tb, nc.SetDeadline(time.Now().Add(30*time.Second)))
	conn, chans, reqs, err := ssh.NewClientConn(nc, addr, &ssh.ClientConfig{User: srv.user,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: ssh.FixedHostKey(srv.hostKey)})
	must(tb, err)
	must(tb, nc.SetDeadline(time.Time{}))
	client := ssh.NewClient(conn, chans, reqs)
	tb.Cleanup(func() { client.Close() })
	// A hung server must not hang the benchmark.
	stop := context.AfterFunc(ctx, func() { client.Close() })
	tb.Cleanup(func() { stop() })
	return &floor{tb: tb, client: client}
}

// sessions runs whoami and one git-upload-pack per path, checking each
// answer, with at most floorSessions open at once.
func (f *floor) sessions(paths []string) {
	cmds := []string{"whoami"}
	for _, p := range paths {
		cmds = append(cmds, "git-upload-pack '"+p+"'")
	}
	slots := make(chan struct{}, floorSessions)
	errs := make(chan error, len(cmds))
	for _, cmd := range cmds {
		slots <- struct{}{}
		go func() {
			defer func() { <-slots }()
			errs <- f.run(cmd)
		}()
	}
	for range cmds {
		if err := <-errs; err != nil {
			f.tb.Fatalf("floor: %v", err)
		}
	}
}

func (f *floor) run(cmd string) error {
	s, err := f.client.NewSession()
	for try := 0; err != nil && try < 20; try++ {
		// Refused: sshd had not yet freed the slot of a session that
		// just closed. Let it catch up, as verify does.
		var refused *ssh.OpenChannelError
		if !errors.As(err, &refused) {
			break
		}
		if _, _, err := f.client.SendRequest("keepalive@openssh.com", true, nil); err != nil {
			return fmt.Errorf("%s: %w", cmd, err)
		}
		s, err = f.client.NewSession()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	defer s.Close()
	var stdout, stderr bytes.Buffer
	s.Stdout, s.Stderr = &stdout, &stderr
	if cmd != "whoami" {
		// The flush ends upload-pack right after its advertisement.
		s.Stdin = strings.NewReader("0000")
	}
	if err := s.Run(cmd); err != nil {
		return fmt.Errorf("%s: %w\n%s", cmd, err, clip(stderr.Bytes()))
	}
	if cmd == "whoami" {
		if got := strings.TrimSpace(stdout.String()); got != "bench" {
			return fmt.Errorf("whoami said %q, want bench", got)
		}
		return nil
	}
	if refs := advertisedRefs(stdout.Bytes()); refs != refsPerRepo {
		return fmt.Errorf("%s: %d refs advertised, want %d\n%s", cmd, refs, refsPerRepo, clip(stdout.Bytes()))
	}
	return nil
}

// advertisedRefs counts the refs in a pkt-line ref advertisement (peeled
// "^{}" lines are not refs of their own), -1 when it is malformed.
func advertisedRefs(b []byte) int {
	refs := 0
	for len(b) >= 4 {
		n, err := strconv.ParseUint(string(b[:4]), 16, 16)
		if err != nil {
			return -1
		}
		if n == 0 {
			return refs
		}
		if n < 4 || int(n) > len(b) {
			return -1
		}
		line, _, _ := strings.Cut(string(b[4:n]), "\x00")
		if !strings.HasSuffix(strings.TrimSpace(line), "^{}") {
			refs++
		}
		b = b[n:]
	}
	return -1
}

// server is what the benchmark talks to: the repositories' SSH URLs,
// and what the in-process floor client needs to log in.
type server struct {
	describe       string
	urls           []string // ssh:// URL of each repository
	paths          []string // the same repositories as paths for git-upload-pack
	knownHostsLine string
	addr           string // host:port
	user           string // SSH user
	hostKey        ssh.PublicKey
}

// startSSHD starts OpenSSH's sshd (internal/testutil/sshdtest), which
// forks a login shell and the command for every session.
func startSSHD(tb *benchTB, cfg config, pubText []byte) *server {
	// sshdtest gives sessions an empty HOME, so a heavy ~/.bashrc is not timed.
	srv := sshdtest.Start(tb, sshdtest.Options{})
	pub, _, _, _, err := ssh.ParseAuthorizedKey(pubText)
	must(tb, err)
	srv.Authorize(pub, "bench")
	s := &server{
		describe:       fmt.Sprintf("OpenSSH sshd on 127.0.0.1:%d, default MaxSessions/MaxStartups", srv.Port),
		knownHostsLine: srv.KnownHostsLine(),
		addr:           fmt.Sprintf("%s:%d", srv.Host, srv.Port),
		user:           srv.LoginUser,
		hostKey:        srv.HostKey,
	}
	for i := 1; i <= cfg.repos; i++ {
		path := fmt.Sprintf("/proj/repo%d.git", i)
		srv.NewRepo(path, repoBranches, repoTags)
		s.urls = append(s.urls, srv.URL(path))
		s.paths = append(s.paths, path)
	}
	return s
}

// startSandbox starts internal/bbsandbox in this process: like
// Bitbucket, it forks nothing per session but git itself.
func startSandbox(ctx context.Context, tb *benchTB, cfg config, pubText string) *server {
	slugs := make([]string, cfg.repos)
	for i := range slugs {
		slugs[i] = fmt.Sprintf("repo%d", i+1)
	}
	sb, err := bbsandbox.Start(ctx, bbsandbox.Config{
		Users:    []bbsandbox.User{{Name: "bench", Password: "unused"}},
		Projects: []bbsandbox.Project{{Key: "PROJ", Name: "Bench", Repos: slugs, Readers: []string{"bench"}}},
		DataDir:  tb.TempDir(),
	})
	must(tb, err)
	tb.Cleanup(func() { sb.Close() })
	_, err = sb.AddUserKey("bench", strings.TrimSpace(pubText), "benchverify")
	must(tb, err)

	// One work repository with the branches and tags, pushed to each.
	work := tb.TempDir()
	env := sshdtest.GitEnv(tb.TempDir())
	git := func(dir string, args ...string) {
		output(ctx, tb, cfg.cmdTimeout, dir, env, append([]string{"git"}, args...)...)
	}
	git(work, "init", "-q", "-b", repoBranches[0])
	git(work, "commit", "-q", "--allow-empty", "-m", "first")
	for _, b := range repoBranches[1:] {
		git(work, "branch", b)
	}
	for _, tag := range repoTags {
		git(work, "tag", "-a", "-m", tag, tag)
	}
	s := &server{
		describe:       fmt.Sprintf("internal/bbsandbox (Go SSH server, git per session) on %s", sb.SSHAddr()),
		knownHostsLine: sb.KnownHostsLine(),
		addr:           sb.SSHAddr(),
		user:           "git",
		hostKey:        sb.HostKey(),
	}
	for _, slug := range slugs {
		bare := sb.RepoDir("PROJ", slug)
		if bare == "" {
			tb.Fatalf("sandbox has no repository PROJ/%s", slug)
		}
		git(work, "push", "-q", "--force", bare, "--all")
		git(work, "push", "-q", bare, "--tags")
		git(bare, "symbolic-ref", "HEAD", "refs/heads/"+repoBranches[0])
		u := sb.CloneURL("PROJ", slug)
		s.urls = append(s.urls, u)
		s.paths = append(s.paths, "/proj/"+slug+".git")
	}
	return s
}
