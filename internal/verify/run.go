package verify

import (
	"context"
	"net"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

const defaultTimeout = 15 * time.Second

// run is one run of the workflow: its choices and what it learnt.
type run struct {
	d    *Deps
	opts Options
	keys keyring
	// openSSH is git's ssh command read once (gitSSH); provisional the
	// resolver for it before the configuration is read; server this run's
	// Bitbucket base URL, once ("" when none is known).
	openSSH     func(ctx context.Context) (*openssh.Resolver, *openssh.Runner, error)
	provisional func() *openssh.Resolver
	server      func() string
	resolver    *openssh.Resolver // set by resolve
	// clock times every target, in-process and through ssh: it stands
	// still while a person decides about a host key.
	clock *sshverify.Clock
	// bg is the work started ahead (git's ssh command, ssh -G, early
	// connections, the key given): finish waits for it.
	bg sync.WaitGroup

	mu     sync.Mutex
	pre    map[string]*preconn
	closed bool // finish has begun: no more early connections
	hosts  map[hostKey]*sshverify.HostSettings
	who    map[string]*whoCall

	// viaMu serialises the decisions about hosts met through ssh, made
	// once per host name and known_hosts file (via).
	viaMu sync.Mutex
	via   map[string]*viaDecision
}

// goBg runs f in the background of the run, unless the run is finishing.
func (r *run) goBg(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.bg.Add(1)
	go func() {
		defer r.bg.Done()
		f()
	}()
}

// finish ends the run: what was started ahead is stopped (cancel ends
// the run's context) and waited for, and the early connections nobody
// took are closed. Nothing the run started outlives it.
func (r *run) finish(cancel context.CancelFunc) {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	cancel()
	r.bg.Wait()
	r.closePre()
}

func newRun(ctx context.Context, d *Deps, opts Options) *run {
	r := &run{d: d, opts: opts, keys: keyring{unlock: d.Unlock}, clock: sshverify.NewClock()}
	r.provisional = sync.OnceValue(r.newProvisional)
	var once sync.Once
	var resolver *openssh.Resolver
	var runner *openssh.Runner
	var err error
	r.openSSH = func(ctx context.Context) (*openssh.Resolver, *openssh.Runner, error) {
		once.Do(func() { resolver, runner, err = r.gitSSH(ctx) })
		return resolver, runner, err
	}
	r.server = sync.OnceValue(func() string {
		if d.Sessions == nil {
			return ""
		}
		base, _ := d.Sessions.Resolve(ctx, opts.Server)
		return base
	})
	return r
}

// newProvisional is a resolver for the ssh command git runs when its
// configuration names none (the environment alone decides), so that
// ssh -G starts while the configuration is read.
func (r *run) newProvisional() *openssh.Resolver {
	getenv := r.d.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	cmd, _ := openssh.GitCommand(context.Background(), getenv, nil) // reads no configuration: no error
	local := openssh.Local{Home: r.d.Home}                          // OpenSSH's ~ is $HOME when the account cannot be found
	if r.d.Local != nil {
		local = *r.d.Local
	} else if l, err := openssh.CurrentLocal(); err == nil {
		local = l
	}
	return &openssh.Resolver{Command: cmd, Local: local, Home: r.d.Home, Env: r.d.Env, Dir: r.d.Dir}
}

// gitSSH is git's ssh command as the configuration has it: the
// provisional resolver when the configuration changes nothing (its ssh -G
// answers are then used), else a new one; and the fallback's runner.
func (r *run) gitSSH(ctx context.Context) (*openssh.Resolver, *openssh.Runner, error) {
	p := r.provisional()
	getenv := r.d.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var cfg openssh.ConfigReader
	if r.d.Config != nil {
		cfg = r.d.Config
	}
	cmd, err := openssh.GitCommand(ctx, getenv, cfg)
	if err != nil {
		return nil, nil, err
	}
	resolver := p
	if !reflect.DeepEqual(cmd, p.Command) {
		resolver = &openssh.Resolver{Command: cmd, Local: p.Local, Home: p.Home, Env: p.Env, Dir: p.Dir}
	}
	return resolver, &openssh.Runner{Command: cmd, Env: r.d.Env, Dir: r.d.Dir}, nil
}

func (r *run) progress(s Step) {
	if r.d.Progress != nil {
		r.d.Progress(s)
	}
}

func (r *run) timeout() time.Duration {
	if r.opts.Timeout > 0 {
		return r.opts.Timeout
	}
	return defaultTimeout
}

// Run verifies the targets opts names and returns one result per target,
// in order. Its error is for the run as a whole: the names cannot be read
// (*NoRemoteError, *UnknownNameError, *NotRepositoryError, ErrNoRemotes,
// a git config error), git's ssh command cannot be read, or ctx ended (an
// interrupt: the results are then incomplete).
func Run(ctx context.Context, d Deps, opts Options) ([]Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	r := newRun(ctx, &d, opts)
	defer r.finish(cancel)
	// git's ssh command is a git config read: it runs while the names are
	// read, and so does ssh -G for the URLs named (see prefetch).
	r.goBg(func() { r.openSSH(ctx) })
	r.goBg(func() { r.prefetch(ctx, opts.Names, opts.DefaultRemote) })
	if opts.Key != "" {
		// The key given opens meanwhile too, unless that may ask a person
		// for its passphrase: that waits until the targets are known.
		r.goBg(func() {
			if enc, err := sshkeys.IsEncrypted(opts.Key); err == nil && !enc {
				r.keys.get(ctx, opts.Key)
			}
		})
	}
	names, err := d.names(ctx, opts)
	if err != nil {
		return nil, interrupted(ctx, err)
	}
	ts := make([]*target, len(names))
	for i, n := range names {
		ts[i] = r.parse(ctx, n)
	}
	if err := r.check(ctx, ts); err != nil {
		return nil, err
	}
	out := make([]Result, len(ts))
	for i, t := range ts {
		out[i] = t.res
	}
	return out, nil
}

// prefetch starts ssh -G, with the ssh command the environment gives, for
// each SSH URL given or written in a remote named, while git's
// configuration is read (its ssh command, its URL rules): unless they
// change the URL or the command, its answer is the one used. It also
// opens the TCP connection early where ssh's files say ssh connects
// (preconnect), which ssh -G then confirms or not.
func (r *run) prefetch(ctx context.Context, names []string, defaultRemote string) {
	if len(names) == 0 && !r.opts.All {
		names = []string{defaultRemote}
	}
	p := r.provisional()
	seen := map[openssh.Target]bool{}
	for _, n := range names {
		urls := []string{n}
		if !strings.ContainsAny(n, ":/\\@") && r.d.Repo != nil {
			urls = nil
			if rm, err := gitremote.LookupRemote(r.d.Repo.Dir, n); err == nil {
				urls = rm.URLs[:min(1, len(rm.URLs))]
			}
		}
		for _, raw := range urls {
			u, err := gitremote.Parse(raw)
			if err != nil || u.Scheme != "ssh" || seen[sshTarget(u)] {
				continue
			}
			t := sshTarget(u)
			seen[t] = true
			r.goBg(func() { p.Settings(ctx, t) })
			r.goBg(func() {
				if host, port, ok := p.Predict(t); ok {
					r.preconnect(ctx, host, port)
				}
			})
		}
	}
}

// check takes parsed targets to their verdicts.
func (r *run) check(ctx context.Context, ts []*target) error {
	if err := r.resolve(ctx, ts); err != nil {
		return interrupted(ctx, err)
	}
	for _, t := range ts {
		if t.done || !r.opts.All {
			continue
		}
		if ok, base, addrErr := r.thisBitbucket(ctx, t); !ok {
			t.done, t.res.Status = true, StatusSkipped
			t.res.Skip = &SkipReason{Host: t.settings.Hostname, Server: base, AddressErr: addrErr}
		}
	}
	for _, t := range ts {
		if !t.done && t.key == "" {
			r.chooseKey(t)
		}
	}
	for _, t := range ts {
		if t.done {
			continue
		}
		k := r.keys.get(ctx, t.key)
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		t.res.Fingerprint = k.fp
		if k.err != nil {
			t.decide(StatusKeyError, k.err)
		}
	}
	_, runner, err := r.openSSH(ctx)
	if err != nil {
		return interrupted(ctx, err)
	}
	// Targets on one host share its settings: what stops checking them
	// in-process is asked once per settings and key (it reads files).
	type limitsKey struct {
		s   *openssh.Settings
		key string
	}
	limits := map[limitsKey][]openssh.Limit{}
	limitsOf := func(s *openssh.Settings, key string) []openssh.Limit {
		k := limitsKey{s, key}
		l, ok := limits[k]
		if !ok {
			l = s.Limits(key)
			limits[k] = l
		}
		return l
	}
	var direct []*target
	var dial []sshverify.Target
	var wg sync.WaitGroup
	addrs := map[string]bool{}
	var addrList []string
	for _, t := range ts {
		if t.done {
			continue
		}
		k := r.keys.get(ctx, t.key)
		if limits := limitsOf(t.settings, t.key); len(limits) > 0 {
			t.res.Limits = limits
			run := *runner
			run.Variant = t.settings.Variant
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.viaSSH(ctx, t, &run, k.fp, ts)
			}()
			continue
		}
		st := sshverify.Target{Remote: t.res.Remote, URL: t.res.URL, Host: t.settings.Hostname, Port: t.settings.Port,
			Path: t.url.Path, User: t.settings.User, HostOnly: t.hostOnly, Settings: r.hostSettings(t.settings, t.key, k.signer)}
		if t.push != nil {
			ps := t.pushSettings
			st.Push = &sshverify.Target{URL: t.push.String(), Host: ps.Hostname, Port: ps.Port, Path: t.push.Path,
				User: ps.User, Settings: r.hostSettings(ps, t.key, k.signer)}
		}
		direct, dial = append(direct, t), append(dial, st)
		if a := net.JoinHostPort(st.Host, strconv.Itoa(st.Port)); !addrs[a] {
			addrs[a] = true
			addrList = append(addrList, a)
		}
	}
	var jumped []*openssh.Settings
	for _, t := range direct {
		jumped = append(jumped, t.settings, t.pushSettings)
	}
	r.openHopKeys(ctx, jumped)
	if len(addrList) > 0 {
		r.progress(Step{Kind: StepConnecting, Addrs: addrList})
	}
	if len(dial) > 0 {
		res := sshverify.Verify(ctx, dial, sshverify.Options{HostKeyPolicy: r.policy(ts), Write: r.opts.Write, Timeout: r.timeout(), Clock: r.clock})
		for i, v := range res {
			t := direct[i]
			t.res.Via = ViaDirect
			t.res.Status, t.res.Message, t.res.User, t.res.Refs, t.res.Write = v.Status, v.Message, v.User, v.Refs, v.Write
			t.res.Elapsed, t.res.HostCheck, t.res.Pins, t.res.HostKeyAdded, t.res.Hop = v.Elapsed, v.HostCheck, v.Pins, v.HostKeyAdded, v.Hop
		}
	}
	wg.Wait()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// interrupted is ctx's cause when ctx has ended (whatever error that
// caused on its way), else err.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return err
}
