// Package sshverify proves that an SSH key works against Bitbucket
// remotes: it checks the host key against known_hosts, authenticates with
// exactly one key, runs whoami, reads the git-upload-pack (and optionally
// git-receive-pack) ref advertisement, and reports a status per target.
// Targets on the same host share SSH connections.
//
// It is also git-bbkey's one known_hosts reader (knownhosts.go,
// hostmatch.go, hostcheck.go: files read, matched and judged as OpenSSH
// does, for verify and doctor alike) and the home of the host-key policy
// (policy.go: what to do about an unknown host) and of pinning (hostkey.go:
// append once, under a lock, to the first user file).
package sshverify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/gitremote"
)

const (
	defaultTimeout     = 15 * time.Second
	defaultMaxSessions = 10
	maxConnsPerHost    = 8
	// wavesPerConn: a target queued behind this many rounds of sessions
	// on a connection gets another connection instead.
	wavesPerConn = 3
	maxOutput    = 64 << 10
)

// Verify checks every target and returns the results in the order given.
// It never returns before every connection it opened is closed.
func Verify(ctx context.Context, targets []Target, opts Options) []Result {
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	if opts.MaxSessionsPerConn <= 0 {
		opts.MaxSessionsPerConn = defaultMaxSessions
	}
	results := make([]Result, len(targets))
	for i, t := range targets {
		results[i].Target = t
	}
	clock := opts.Clock
	if clock == nil {
		clock = NewClock()
	}
	v := &verifier{opts: opts, clock: clock, pools: map[endpoint]*pool{},
		dbs: map[string]*knownHostsDB{}, decisions: map[pinKey]*decision{}}
	v.perEndpoint = map[endpoint]int{}
	for _, t := range targets {
		if ep, _, err := v.resolve(t); err == nil {
			v.perEndpoint[ep]++
		}
	}
	var wg sync.WaitGroup
	for i := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = v.verifyTarget(ctx, targets[i])
		}()
	}
	wg.Wait()
	v.closeAll()
	for i := range results {
		if results[i].Status == "" {
			continue
		}
		eps := []Target{results[i].Target}
		if push := results[i].Target.Push; push != nil && opts.Write {
			eps = append(eps, *push)
		}
		for _, t := range eps {
			if ep, _, err := v.resolve(t); err == nil {
				v.attachPins(&results[i], v.scope(ep))
				for _, hop := range v.poolHops(ep) {
					v.attachPins(&results[i], hop)
				}
			}
		}
	}
	return results
}

type verifier struct {
	opts Options
	// perEndpoint counts the targets on each endpoint, set before any runs.
	perEndpoint map[endpoint]int
	clock       *Clock

	// promptMu serializes host key decisions; decisions holds them.
	promptMu  sync.Mutex
	decisions map[pinKey]*decision

	mu      sync.Mutex
	pools   map[endpoint]*pool
	dbs     map[string]*knownHostsDB // by the files read
	workers sync.WaitGroup
}

// endpoint is what connections are shared by.
type endpoint struct {
	host     string
	port     int
	user     string
	settings *HostSettings
}

// resolve fills in host, port, path and user of a target.
func (v *verifier) resolve(t Target) (ep endpoint, path string, err error) {
	ep = endpoint{host: t.Host, port: t.Port, user: t.User, settings: t.Settings}
	if ep.user == "" {
		ep.user = v.opts.User
	}
	path = t.Path
	var urlUser string
	if t.URL != "" {
		u, err := gitremote.Parse(t.URL)
		if err != nil {
			if t.Host == "" {
				return ep, "", err
			}
		} else {
			if u.Scheme != "ssh" && t.Host == "" {
				return ep, "", fmt.Errorf("%q is an %s URL; verify needs the repository's SSH clone URL", u.Raw, u.Scheme)
			}
			if u.Scheme == "ssh" {
				urlUser = u.User
				if t.Host == "" {
					ep.host, ep.port, path = u.Host, u.Port, u.Path
				}
			}
		}
	}
	if ep.host == "" {
		return ep, "", errors.New("no host to connect to")
	}
	if ep.port == 0 {
		ep.port = 22
	}
	if path == "" && !t.HostOnly {
		return ep, "", errors.New("no repository path")
	}
	if ep.user == "" {
		ep.user = urlUser
	}
	if ep.user == "" {
		ep.user = "git"
	}
	return ep, path, nil
}

// signer is the key offered to ep: its settings' own, else Options'.
func (v *verifier) signer(ep endpoint) ssh.Signer {
	if ep.settings != nil && ep.settings.Signer != nil {
		return ep.settings.Signer
	}
	return v.opts.Signer
}

func (v *verifier) poolFor(ep endpoint) *pool {
	v.mu.Lock()
	defer v.mu.Unlock()
	p := v.pools[ep]
	if p == nil {
		// Every target is a session (whoami is one more, asked once).
		waves := (v.perEndpoint[ep] + 1 + v.opts.MaxSessionsPerConn - 1) / v.opts.MaxSessionsPerConn
		want := min(max(1, (waves+wavesPerConn-1)/wavesPerConn), maxConnsPerHost)
		p = &pool{v: v, ep: ep, want: want, changed: make(chan struct{})}
		v.pools[ep] = p
	}
	return p
}

func (v *verifier) verifyTarget(parent context.Context, t Target) (res Result) {
	start := time.Now()
	res = Result{Target: t}
	defer func() { res.Elapsed = time.Since(start) }()

	ep, path, err := v.resolve(t)
	if err != nil {
		res.Status, res.Message = StatusBadURL, err.Error()
		return res
	}
	if v.signer(ep) == nil {
		res.Status, res.Message = StatusKeyError, "no key to authenticate with"
		return res
	}
	ctx, cancel := v.clock.WithTimeout(parent, v.opts.Timeout)
	defer cancel()
	p := v.poolFor(ep)

	// The work runs on its own goroutine so that a server that stops
	// answering cannot hold the result past the deadline; closing the
	// connections at the end of Verify releases it.
	done := make(chan Result, 1)
	v.workers.Add(1)
	go func() {
		defer v.workers.Done()
		done <- v.run(ctx, p, ep, path, t)
	}()
	select {
	case r := <-done:
		res = r
	case <-ctx.Done():
		res = v.timeoutResult(ctx, t, ep)
	}
	return res
}

func (v *verifier) timeoutResult(ctx context.Context, t Target, ep endpoint) Result {
	r := Result{Target: t, Status: StatusTimeout}
	if TimedOut(ctx) {
		r.Message = fmt.Sprintf("no answer from %s within %s (connect, handshake and commands)", addrOf(ep), v.opts.Timeout)
	} else {
		r.Message = "interrupted before " + addrOf(ep) + " answered"
	}
	return r
}

// run does the work for one target on a shared connection.
func (v *verifier) run(ctx context.Context, p *pool, ep endpoint, path string, t Target) (res Result) {
	res = Result{Target: t}
	l, fail := p.acquire(ctx)
	if fail != nil {
		fail.fill(&res)
		if ctx.Err() != nil && fail.status != StatusHostMismatch && fail.status != StatusHostUnknown {
			return v.timeoutResult(ctx, t, ep)
		}
		return res
	}
	released := false
	release := func() {
		if !released {
			released = true
			l.release()
		}
	}
	defer release()
	res.HostKey, res.HostCheck = l.c.hostKey, l.c.check

	// whoami is Bitbucket's: it names the key's owner. Anything else
	// (no such command, an error) just leaves User empty. The answer is
	// the same for every target on the endpoint, so it is asked once, on a
	// channel of its own, while this target goes on with its repository.
	asker := false
	p.whoOnce.Do(func() { p.whoDone, asker = make(chan struct{}), true })
	if asker {
		ask := func(l *lease) {
			if out, _, err := l.run(ctx, "whoami", nil); err == nil {
				p.who = strings.TrimSpace(out)
			}
		}
		if v.perEndpoint[ep] < v.opts.MaxSessionsPerConn {
			// A session slot is free: ask alongside, saving a round trip.
			go func() {
				defer close(p.whoDone)
				if wl, fail := p.acquire(ctx); fail == nil {
					ask(wl)
					wl.release()
				}
			}()
		} else {
			// Every slot is taken by targets: ask first, on this lease.
			ask(l)
			close(p.whoDone)
			if ctx.Err() != nil {
				return v.timeoutResult(ctx, t, ep)
			}
		}
	}
	// Every verdict reached on the connection names the user.
	waitWho := func() bool {
		select {
		case <-p.whoDone:
		case <-ctx.Done():
			return false
		}
		res.User = p.who
		return true
	}
	defer func() {
		if res.Status != StatusTimeout && !waitWho() {
			res = v.timeoutResult(ctx, t, ep)
		}
	}()

	if t.HostOnly {
		res.Status = StatusOK
		res.Message = fmt.Sprintf("the key is accepted by %s", addrOf(ep))
		return res
	}

	refs, msg, err := l.advertisement(ctx, "git-upload-pack "+shellQuote(path))
	if ctx.Err() != nil {
		return v.timeoutResult(ctx, t, ep)
	}
	var lost *sessionError
	if errors.As(err, &lost) {
		res.Status, res.Message = StatusUnreachable, lost.Error()
		return res
	}
	if err != nil {
		res.Status = StatusRepoNotFound
		res.Message = fmt.Sprintf("cannot read %s on %s: %s", path, addrOf(ep), msg)
		return res
	}
	res.Refs = &refs

	pushNote := ""
	if v.opts.Write {
		wl, wep, wpath := l, ep, path
		where := ""
		if t.Push != nil {
			pep, ppath, err := v.resolve(*t.Push)
			if err != nil {
				res.Status, res.Message = StatusBadURL, fmt.Sprintf("the push URL %s: %v", t.Push.URL, err)
				return res
			}
			if pep != ep {
				// Never hold two leases at once: targets waiting on each
				// other's endpoints would deadlock.
				release()
				pl, fail := v.poolFor(pep).acquire(ctx)
				if fail != nil {
					fail.fill(&res)
					res.Message = fmt.Sprintf("the push URL %s: %s", t.Push.URL, res.Message)
					if ctx.Err() != nil && fail.status != StatusHostMismatch && fail.status != StatusHostUnknown {
						return v.timeoutResult(ctx, t, ep)
					}
					return res
				}
				defer pl.release()
				wl = pl
			}
			wep, wpath = pep, ppath
			if pep != ep || ppath != path {
				where = " (the push URL)"
			}
		}
		_, msg, err := wl.advertisement(ctx, "git-receive-pack "+shellQuote(wpath))
		if ctx.Err() != nil {
			return v.timeoutResult(ctx, t, ep)
		}
		if errors.As(err, &lost) {
			res.Status, res.Message = StatusUnreachable, lost.Error()
			return res
		}
		w := err == nil
		res.Write = &w
		if !w {
			res.Status = StatusNoWriteAccess
			if where == "" {
				res.Message = fmt.Sprintf("can read but not write %s on %s: %s", path, addrOf(ep), msg)
			} else {
				res.Message = fmt.Sprintf("can read %s on %s but not write %s on %s%s: %s", path, addrOf(ep), wpath, addrOf(wep), where, msg)
			}
			return res
		}
		if where != "" {
			pushNote = fmt.Sprintf(", and write access to %s on %s%s", wpath, addrOf(wep), where)
		}
	}

	if !waitWho() {
		return v.timeoutResult(ctx, t, ep)
	}
	res.Status = StatusOK
	who := "authenticated"
	if res.User != "" {
		who = fmt.Sprintf("authenticated as %q", res.User)
	}
	access := "read access"
	if v.opts.Write && pushNote == "" {
		access = "read and write access"
	}
	res.Message = fmt.Sprintf("%s on %s; %s to %s (%d refs)%s", who, addrOf(ep), access, path, refs, pushNote)
	return res
}
