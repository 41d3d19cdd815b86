package openssh

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// testResolver resolves with `ssh -F config` (OpenSSH reads ~ from the
// password database, so tests never let it find the real ~/.ssh/config).
func testResolver(t testing.TB, config string, env ...string) *Resolver {
	t.Helper()
	testutil.RequireTool(t, "ssh")
	local, err := CurrentLocal()
	if err != nil {
		t.Fatal(err)
	}
	env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent/home"}, env...)
	c := Command{Text: "ssh -F " + config, Shell: true, Variant: VariantSSH, ProtocolVersion: 2,
		Words: []string{"ssh", "-F", config}}
	return &Resolver{Command: c, Local: local, Home: "/nonexistent/home", Env: env}
}

func writeConfig(t testing.TB, lines ...string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(f, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestIdentityFileExpansion: ssh expands ControlPath exactly as it
// expands IdentityFile when it loads keys, and ssh -G prints ControlPath
// expanded: so each file name, set as both, must come out the same.
func TestIdentityFileExpansion(t *testing.T) {
	for _, raw := range []string{
		"~/.ssh/id_%h_%p_%r", "%d/.ssh/k", "/k/%u-%i-%l-%L", "/k/%n-%k", "/k/%%h", "${KEYDIR}/k", "~/k_%C", "/k/%C",
	} {
		cfg := writeConfig(t, "Host Orig.Alias", "  HostName real.example", "  HostKeyAlias kalias",
			"  IdentityFile "+raw, "  ControlPath "+raw)
		r := testResolver(t, cfg, "KEYDIR=/key dir")
		s, err := r.Settings(context.Background(), Target{Host: "Orig.Alias", Port: 2222, User: "bob"})
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if len(s.IdentityFiles) != 1 || s.IdentityFiles[0].Path != s.ControlPath {
			t.Errorf("IdentityFile %s: we expand %+v, ssh %q", raw, s.IdentityFiles, s.ControlPath)
		}
		if strings.HasPrefix(raw, "~") || strings.HasPrefix(raw, "%d") {
			if want := "/nonexistent/home/" + strings.TrimPrefix(strings.TrimPrefix(s.ControlPath, r.Local.Home), "/"); s.IdentityFiles[0].HomePath != want {
				t.Errorf("IdentityFile %s under $HOME: %q, want %q", raw, s.IdentityFiles[0].HomePath, want)
			}
		}
	}
}

func TestExpandErrors(t *testing.T) {
	env := func(string) (string, bool) { return "", false }
	for _, raw := range []string{"/k/%z", "/k/%", "${NOPE}/k", "${1x}/k", "${open"} {
		var ee *ExpandError
		if _, err := expandPath(raw, "/h", tokenValues{}, env); !errors.As(err, &ee) {
			t.Errorf("expandPath(%q): %v, want *ExpandError", raw, err)
		}
	}
}

// TestSettingsFromSSH: the fields come from ssh -G, and OpenSSH's ~ is
// the account's home (the password database), not $HOME.
func TestSettingsFromSSH(t *testing.T) {
	cfg := writeConfig(t,
		"Host bb",
		"  HostName bitbucket.example.com",
		"  Port 7999",
		"  User git",
		"  IdentityFile ~/.ssh/work_key",
		"  IdentityFile none",
		"  IdentitiesOnly yes",
		"  IdentityAgent none",
		"  ProxyJump alice@bastion:2222,bob@b2",
		"  UserKnownHostsFile ~/.ssh/kh_%h /etc/kh",
		"  HostKeyAlias bbalias",
		"  ConnectTimeout 7",
		"  StrictHostKeyChecking accept-new",
		"  BatchMode yes",
		"Host *.example",
		"  Port 2200",
		"Host realhost",
		"  Port 7999",
	)
	r := testResolver(t, cfg)
	s, err := r.Settings(context.Background(), Target{Host: "bb"})
	if err != nil {
		t.Fatal(err)
	}
	home := r.Local.Home
	want := &Settings{Hostname: "bitbucket.example.com", Port: 7999, User: "git",
		IdentityFiles:  []File{{Path: home + "/.ssh/work_key", HomePath: "/nonexistent/home/.ssh/work_key"}},
		IdentitiesOnly: true, IdentityAgent: "none", ProxyJump: "alice@bastion:2222,bob@b2",
		UserKnownHostsFiles: []File{{Path: home + "/.ssh/kh_bitbucket.example.com", HomePath: "/nonexistent/home/.ssh/kh_bitbucket.example.com"},
			{Path: "/etc/kh", HomePath: "/etc/kh"}},
		HostKeyAlias: "bbalias", ConnectTimeout: 7 * time.Second, StrictHostKeyChecking: "accept-new", BatchMode: true}
	got := &Settings{Hostname: s.Hostname, Port: s.Port, User: s.User, IdentityFiles: s.IdentityFiles,
		IdentitiesOnly: s.IdentitiesOnly, IdentityAgent: s.IdentityAgent, ProxyJump: s.ProxyJump,
		UserKnownHostsFiles: s.UserKnownHostsFiles, HostKeyAlias: s.HostKeyAlias, ConnectTimeout: s.ConnectTimeout,
		StrictHostKeyChecking: s.StrictHostKeyChecking, BatchMode: s.BatchMode}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("settings\n got %+v\nwant %+v", got, want)
	}
	if !s.HomeDiffers() || s.Approximated || s.Variant != VariantSSH || !reflect.DeepEqual(s.ConfigFiles, []string{cfg}) {
		t.Errorf("HomeDiffers %v, Approximated %v, Variant %v, ConfigFiles %q", s.HomeDiffers(), s.Approximated, s.Variant, s.ConfigFiles)
	}
	if s.KnownHostsName() != "bbalias" {
		t.Errorf("KnownHostsName = %q", s.KnownHostsName())
	}

	// The port a Host block gives the scp-like form, and patterns.
	for host, port := range map[string]int{"realhost": 7999, "x.example": 2200, "other": 22} {
		s, err := r.Settings(context.Background(), Target{Host: host})
		if err != nil || s.Port != port {
			t.Errorf("%s: port %v (%v), want %d", host, s, err, port)
		}
	}
	// The URL's port is git's -p: it beats the config.
	if s, err := r.Settings(context.Background(), Target{Host: "realhost", Port: 22}); err != nil || s.Port != 22 {
		t.Errorf("realhost with -p 22: %+v %v", s, err)
	}
}

// TestHops: a ProxyJump's last hop is resolved as ssh's jump command
// resolves it: its own config, the -F of git's command, and the earlier
// hops as its ProxyJump; not the -i/-o of git's command.
func TestHops(t *testing.T) {
	cfg := writeConfig(t,
		"Host target",
		"  ProxyJump alice@j1:2201,ssh://bob@j2:2202",
		"Host j2",
		"  HostName jump2.example",
		"  IdentityFile /keys/j2",
		"Host j1",
		"  HostName jump1.example",
		"Host loop",
		"  ProxyJump loop2",
		"Host loop2",
		"  ProxyJump loop",
	)
	r := testResolver(t, cfg)
	r.Command.Text += " -i /keys/outer"
	r.Command.Words = append(r.Command.Words, "-i", "/keys/outer")
	s, err := r.Settings(context.Background(), Target{Host: "target"})
	if err != nil {
		t.Fatal(err)
	}
	h2, err := r.Hop(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if h2.Hostname != "jump2.example" || h2.Port != 2202 || h2.User != "bob" || h2.ProxyJump != "alice@j1:2201" ||
		len(h2.IdentityFiles) != 1 || h2.IdentityFiles[0].Path != "/keys/j2" {
		t.Errorf("hop 2: %s:%d as %s via %q, keys %+v", h2.Hostname, h2.Port, h2.User, h2.ProxyJump, h2.IdentityFiles)
	}
	h1, err := r.Hop(context.Background(), h2)
	if err != nil {
		t.Fatal(err)
	}
	if h1.Hostname != "jump1.example" || h1.Port != 2201 || h1.User != "alice" || h1.ProxyJump != "" {
		t.Errorf("hop 1: %s:%d as %s via %q", h1.Hostname, h1.Port, h1.User, h1.ProxyJump)
	}
	if _, err := r.Hop(context.Background(), h1); !errors.Is(err, ErrNoProxyJump) {
		t.Errorf("hop of a direct host: %v", err)
	}

	s, err = r.Settings(context.Background(), Target{Host: "loop"})
	if err != nil {
		t.Fatal(err)
	}
	var loop *JumpLoopError
	for i := 0; i < 20 && err == nil; i++ {
		s, err = r.Hop(context.Background(), s)
	}
	if !errors.As(err, &loop) {
		t.Errorf("a jump loop: %v", err)
	}
}

// TestOneRunPerInvocation: ssh -G runs once per distinct destination,
// also for concurrent callers.
func TestOneRunPerInvocation(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "runs")
	wrapper := filepath.Join(dir, "ssh")
	script := "#!/bin/sh\necho run >> " + log + "\nexec ssh \"$@\"\n"
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r := testResolver(t, writeConfig(t, "Host a", "  Port 2222"))
	r.Command.Words[0] = wrapper
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if s, err := r.Settings(context.Background(), Target{Host: "a"}); err != nil || s.Port != 2222 {
				t.Errorf("%+v %v", s, err)
			}
		}()
	}
	wg.Wait()
	if _, err := r.Settings(context.Background(), Target{Host: "a", Port: 22}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(log)
	if n := strings.Count(string(data), "run"); n != 2 {
		t.Errorf("ssh -G ran %d times for two distinct invocations", n)
	}
}

// A caller waiting for another's ssh -G is not failed by the other's
// context: per-target timeouts are the targets' own, so when the first
// caller gives up, a waiter whose context lives asks again.
func TestWaiterOutlivesFirstCaller(t *testing.T) {
	dir := t.TempDir()
	wrapper := filepath.Join(dir, "ssh")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nsleep 0.4\nexec ssh \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := testResolver(t, writeConfig(t, "Host a", "  Port 2222"))
	r.Command.Words[0] = wrapper
	first, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	firstErr := make(chan error, 1)
	go func() {
		_, err := r.Settings(first, Target{Host: "a"})
		firstErr <- err
	}()
	time.Sleep(50 * time.Millisecond) // the first call is under way
	s, err := r.Settings(context.Background(), Target{Host: "a"})
	if err != nil || s.Port != 2222 {
		t.Errorf("the waiter got %+v, %v; want its own answer", s, err)
	}
	if err := <-firstErr; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the first caller: %v, want its deadline", err)
	}
	// A waiter whose own context ends gets its own error, at once.
	r = testResolver(t, writeConfig(t, "Host b", "  Port 2222"))
	r.Command.Words[0] = wrapper
	owner := make(chan struct{})
	go func() {
		defer close(owner)
		r.Settings(context.Background(), Target{Host: "b"})
	}()
	time.Sleep(50 * time.Millisecond)
	mine, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := r.Settings(mine, Target{Host: "b"}); !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled waiter: %v", err)
	}
	<-owner
}

func TestSSHErrors(t *testing.T) {
	r := testResolver(t, writeConfig(t, "Bogus option"))
	var se *SSHError
	if _, err := r.Settings(context.Background(), Target{Host: "h"}); !errors.As(err, &se) || se.ExitCode != 255 {
		t.Errorf("bad config: %v", err)
	}

	// A Match exec that never ends: the timeout ends it and its group.
	dir := t.TempDir()
	r = testResolver(t, writeConfig(t, `Match exec "echo $$ > `+dir+`/pid; exec sleep 30"`, "  Port 1"))
	r.Timeout = 300 * time.Millisecond
	start := time.Now()
	var te *TimeoutError
	if _, err := r.Settings(context.Background(), Target{Host: "h"}); !errors.As(err, &te) {
		t.Errorf("hanging Match exec: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("timeout took %s", d)
	}
	assertGone(t, filepath.Join(dir, "pid"))
}

// assertGone checks that the process whose pid is in file has ended.
func assertGone(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("no pid file: %v", err)
	}
	pid := strings.TrimSpace(string(data))
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, err := os.Stat("/proc/" + pid); os.IsNotExist(err) {
			return
		}
		if st, err := os.ReadFile("/proc/" + pid + "/stat"); err == nil && strings.Contains(string(st), ") Z ") {
			return // a zombie of init's, no longer running
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %s still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkSSHG is the cost of one uncached ssh -G (what verify pays
// once per distinct host): `go test -bench SSHG ./internal/openssh/`.
func BenchmarkSSHG(b *testing.B) {
	cfg := writeConfig(b, "Host bb", "  HostName bitbucket.example.com", "  Port 7999", "  IdentityFile ~/.ssh/work_key")
	for _, tc := range []struct {
		name string
		set  func(r *Resolver)
	}{
		{"plain", func(*Resolver) {}},
		{"via-sh", func(r *Resolver) { r.Command.Words = nil }}, // as git runs a GIT_SSH_COMMAND
	} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				r := testResolver(b, cfg)
				tc.set(r)
				if _, err := r.Settings(context.Background(), Target{Host: "bb"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Predict reads where ssh connects from the configuration, and declines
// where that is not a safe guess.
func TestPredict(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte("Host bb\n  HostName bitbucket.example.com\n  Port 7999\nHost jump\n  ProxyJump bastion\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := &Resolver{Command: Command{Text: "ssh -F " + cfg, Shell: true, Variant: VariantSSH, Words: []string{"ssh", "-F", cfg}},
		Local: Local{Home: dir, User: "u"}, Home: dir}
	for _, c := range []struct {
		t    Target
		host string
		port int
		ok   bool
	}{
		{Target{Host: "bb"}, "bitbucket.example.com", 7999, true},
		{Target{Host: "bb", Port: 2222}, "bitbucket.example.com", 2222, true},
		{Target{Host: "other.example.com"}, "other.example.com", 22, true},
		{Target{Host: "jump"}, "", 0, false},
	} {
		host, port, ok := r.Predict(c.t)
		if ok != c.ok || ok && (host != c.host || port != c.port) {
			t.Errorf("Predict(%v) = %s %d %v", c.t, host, port, ok)
		}
	}
	// A Match block: only OpenSSH knows.
	if err := os.WriteFile(cfg, []byte("Host bb\n  Port 7999\nMatch host matched exec true\n  Port 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if host, port, ok := r.Predict(Target{Host: "bb"}); ok {
		t.Errorf("guessed %s %d with a Match block", host, port)
	}
	// A wrapper, or $HOME that is not the account's home: no guess.
	w := &Resolver{Command: Command{Text: "mywrap", Variant: VariantAuto, Words: []string{"mywrap"}}, Local: r.Local, Home: r.Home}
	if _, _, ok := w.Predict(Target{Host: "bb"}); ok {
		t.Error("a wrapper's destination was guessed")
	}
	h := &Resolver{Command: Command{Text: "ssh", Variant: VariantSSH, Words: []string{"ssh"}}, Local: r.Local, Home: t.TempDir()}
	if _, _, ok := h.Predict(Target{Host: "bb"}); ok {
		t.Error("guessed from $HOME where OpenSSH reads another home")
	}
	h.Command = r.Command // -F names the file: the homes do not matter
	if err := os.WriteFile(cfg, []byte("Host bb\n  Port 7999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := h.Predict(Target{Host: "bb"}); !ok {
		t.Error("no guess with -F")
	}
}
