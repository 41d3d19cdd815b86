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
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
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

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchverify: "+format+"\n", args...)
}

func must(tb *benchTB, err error) {
	if err != nil {
		tb.Fatal(err)
	}
}
