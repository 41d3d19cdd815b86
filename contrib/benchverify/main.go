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
//	conn-N      server-N with the connection in it: dial, key exchange,
//	            login, the sessions, close (in-process, no process starts)
//
// server-1 and server-N are the server's own share: no client can finish
// verify-N sooner than verify-1 - server-1 + server-N, and the report says
// what that floor makes of the verify-N / verify-1 ratio. conn-N is the
// floor that includes opening the connection: verify-N / conn-N is what
// verify adds to the least any client must do (target 1.15).
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
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

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
	also       string
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
	fs.StringVar(&cfg.also, "also", "", "also time this other git-bbkey binary in the same rounds (alt-1, alt-N), to compare builds")
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
	conn := connSessions(ctx, tb, srv, keyFile)
	scenarios = append(scenarios,
		&scenario{name: "server-1", what: "the server alone: whoami and 1 git-upload-pack on an open connection (in-process client)",
			run: func() { fl.sessions(paths[:1]) }, inProcess: true},
		&scenario{name: fmt.Sprintf("server-%d", cfg.repos), what: fmt.Sprintf("the server alone: whoami and %d git-upload-pack, %d at a time, on an open connection", cfg.repos, floorSessions),
			run: func() { fl.sessions(paths) }, inProcess: true},
		&scenario{name: fmt.Sprintf("conn-%d", cfg.repos), what: fmt.Sprintf("connect, key exchange, log in, then server-%d's sessions, close (in-process client)", cfg.repos),
			run: func() { conn(paths) }, inProcess: true})

	if cfg.direct {
		scenarios[0].what = "git-bbkey verify, 1 remote"
		scenarios[2].what = fmt.Sprintf("git-bbkey verify, %d remotes", cfg.repos)
	}

	if cfg.also != "" {
		// As git-bbkeyalt beside git-bbkey: `git bbkeyalt` runs it as git
		// runs git-bbkey.
		src, err := os.ReadFile(cfg.also)
		must(tb, err)
		altBin := filepath.Join(bin, "git-bbkeyalt")
		must(tb, os.WriteFile(altBin, src, 0o755))
		alt := func(targets []string) []string {
			args := append([]string{"verify", "--key", keyFile, "--json"}, targets...)
			if cfg.direct {
				return append([]string{altBin}, args...)
			}
			return append([]string{"git", "bbkeyalt"}, args...)
		}
		scenarios = append(scenarios,
			&scenario{name: "alt-1", what: "the -also binary, 1 remote", run: func() { r.verify(alt(urls[:1]), 1) }},
			&scenario{name: fmt.Sprintf("alt-%d", cfg.repos), what: fmt.Sprintf("the -also binary, %d remotes", cfg.repos), run: func() { r.verify(alt(urls), len(urls)) }})
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
	if cfg.also != "" {
		fmt.Printf("\nalt-1 and alt-%d: %s, run as verify-1 and verify-%d are\n", cfg.repos, cfg.also, cfg.repos)
	}
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
		{sc[2], sc[6], 1.15},
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
	cN := ms(sc[6].median())
	fmt.Fprintf(w, "With the connection opened too (conn-%d, %.0f ms: dial, key exchange, login, the sessions), verify-%d spends\n", n, cN, n)
	fmt.Fprintf(w, "%.0f ms more: starting the process (through git), reading git's settings, ssh -G, loading the key.\n", ms(sc[2].median())-cN)
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
