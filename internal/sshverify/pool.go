package sshverify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// failure is a verdict reached before any command ran (dial, host key,
// authentication); every target waiting on that connection shares it.
type failure struct {
	status  Status
	msg     string
	hostKey ssh.PublicKey
	check   *HostKeyCheck
	hop     *HostKeyError // a jump host's key was refused
}

func (f *failure) fill(r *Result) {
	r.Status, r.Message, r.Hop = f.status, f.msg, f.hop
	if f.hostKey != nil {
		r.HostKey = f.hostKey
	}
	if f.check != nil {
		r.HostCheck = f.check
	}
}

// sessionError means a channel could not be opened on an established
// connection (it broke, or the server kept refusing).
type sessionError struct{ err error }

func (e *sessionError) Error() string { return "cannot open an SSH session: " + e.err.Error() }
func (e *sessionError) Unwrap() error { return e.err }

func addrOf(ep endpoint) string { return net.JoinHostPort(ep.host, strconv.Itoa(ep.port)) }

// pool holds the SSH connections to one endpoint. Targets lease a slot
// (one session at a time) on a connection with room, or wait for one:
// a connection costs the server far more than a session (OpenSSH starts a
// process and does a key exchange for it), so there is one connection
// per wavesPerConn rounds of sessions the endpoint's targets need (want),
// and more only once the server has refused a channel below the session
// limit we assumed (spread).
type pool struct {
	v    *verifier
	ep   endpoint
	want int // connections worth opening for this endpoint's targets

	mu      sync.Mutex
	conns   []*conn
	failed  *failure      // a dial failure every later target shares
	changed chan struct{} // closed (and replaced) when a slot frees up
	closed  bool
	spread  bool       // a connection allows fewer sessions than assumed
	hops    []keyScope // jump hosts whose keys were checked on the way

	// whoami names the key's owner, the same for every target on this
	// endpoint: the first target asks, the others wait for its answer.
	whoOnce sync.Once
	whoDone chan struct{} // closed when who is set
	who     string        // "" when the server did not say
}

type conn struct {
	ready    chan struct{} // closed when the dial has finished
	client   *ssh.Client
	fail     *failure
	hostKey  ssh.PublicKey
	check    *HostKeyCheck
	capacity int // sessions we believe the server allows at once
	inUse    int
	closes   int // sessions of ours that have closed
	dead     bool
}

type lease struct {
	p *pool
	c *conn
}

func (p *pool) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *pool) acquire(ctx context.Context) (*lease, *failure) {
	for {
		p.mu.Lock()
		if p.failed != nil {
			f := p.failed
			p.mu.Unlock()
			return nil, f
		}
		var pick *conn
		live := 0
		for _, c := range p.conns {
			if c.dead {
				continue
			}
			live++
			if pick == nil && c.inUse < c.capacity {
				pick = c
			}
		}
		dial := false
		if pick == nil && (live < p.want || p.spread && live < maxConnsPerHost) {
			pick = &conn{ready: make(chan struct{}), capacity: p.v.opts.MaxSessionsPerConn}
			p.conns = append(p.conns, pick)
			dial = true
		}
		if pick == nil {
			wait := p.changed
			p.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, &failure{status: StatusTimeout, msg: "timed out waiting for a free SSH session"}
			}
		}
		pick.inUse++
		p.mu.Unlock()

		if dial {
			p.dial(ctx, pick)
		}
		select {
		case <-pick.ready:
		case <-ctx.Done():
			p.release(pick)
			return nil, &failure{status: StatusTimeout, msg: "timed out waiting for the SSH connection"}
		}
		if pick.fail != nil {
			p.release(pick)
			return nil, pick.fail
		}
		return &lease{p: p, c: pick}, nil
	}
}

func (p *pool) release(c *conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c.inUse--
	if c.dead && c.inUse == 0 && c.client != nil {
		c.client.Close()
	}
	p.broadcast()
}

func (l *lease) release() { l.p.release(l.c) }

// refused records that the server turned a channel down. With other
// sessions of ours open on c, that is its real per-connection limit and
// the caller should move to another connection (true). Alone on c, it is
// most likely sshd still tidying up our previous session (OpenSSH frees
// the slot some time after the close): the caller waits and retries.
func (p *pool) refused(c *conn) (move bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.inUse <= 1 {
		return false
	}
	if c.inUse-1 < c.capacity {
		c.capacity = c.inUse - 1
	}
	p.spread = true
	return true
}

const (
	maxSessionRetries = 8
	maxSyncs          = 3 // round trips to give OpenSSH to free a slot
)

// closedSession notes that a session of ours on c has closed.
func (p *pool) closedSession(c *conn) {
	p.mu.Lock()
	c.closes++
	p.mu.Unlock()
}

func (p *pool) hadCloses(c *conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return c.closes > 0
}

// withSession opens a session for f. A channel the server refuses is no
// failure: after sessions of ours have closed on the connection, it is
// retried there once the server has caught up; otherwise (servers limit
// sessions per connection, OpenSSH's MaxSessions) on another connection,
// opening one if needed.
func (l *lease) withSession(ctx context.Context, f func(*ssh.Session) error) error {
	syncs := 0
	for attempt := 0; ; attempt++ {
		s, err := l.c.client.NewSession()
		if err == nil {
			stop := context.AfterFunc(ctx, func() { s.Close() })
			err = f(s)
			stop()
			s.Close()
			l.p.closedSession(l.c)
			return err
		}
		var refused *ssh.OpenChannelError
		if !errors.As(err, &refused) || attempt >= maxSessionRetries {
			return &sessionError{err: err}
		}
		if syncs < maxSyncs && l.p.hadCloses(l.c) {
			// OpenSSH frees a session's slot only after it has handled
			// our close of the channel and reaped the command, a moment
			// after the close: a channel opened right behind the close of
			// another is refused though we are within the limit. A
			// request the server must answer gives it that moment; then
			// try again here. On a connection where nothing has closed
			// yet, a refusal is the server's limit.
			if _, _, err := l.c.client.SendRequest("keepalive@openssh.com", true, nil); err != nil {
				return &sessionError{err: err}
			}
			syncs++
			continue
		}
		if !l.p.refused(l.c) {
			t := time.NewTimer(min(25*time.Millisecond<<attempt, 500*time.Millisecond))
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return &sessionError{err: err}
			}
			continue
		}
		l.release()
		next, fail := l.p.acquire(ctx)
		if fail != nil {
			// Keep the lease valid for the deferred release.
			l.p.mu.Lock()
			l.c.inUse++
			l.p.mu.Unlock()
			return &sessionError{err: errors.New(fail.msg)}
		}
		*l = *next
	}
}

// dial connects, checks the host key and authenticates; the verdict is
// left in c (fail or client) and c.ready is closed.
func (p *pool) dial(ctx context.Context, c *conn) {
	defer close(c.ready)
	v, ep := p.v, p.ep
	addr := addrOf(ep)
	fail := func(f *failure) {
		c.fail = f
		if f.hostKey == nil {
			f.hostKey = c.hostKey
		}
		p.mu.Lock()
		c.dead = true
		// A timeout while another connection works is this connection's
		// problem only; anything else is the host's and is shared.
		if f.status != StatusTimeout || !p.anyClientLocked() {
			p.failed = f
		}
		p.mu.Unlock()
	}

	sc := v.scope(ep)
	ref := sc.ref()
	kh, err := v.knownHosts(sc.spec)
	if err != nil {
		fail(&failure{status: StatusHostUnknown, msg: err.Error()})
		return
	}
	netConn, err := v.connect(ctx, p)
	if err != nil {
		fail(classifyDialError(ctx, addr, err))
		return
	}
	netConn = QuickAck(netConn)
	// ssh.ClientConfig.Timeout covers only the TCP connect: a server that
	// accepts and then says nothing is ended by closing the connection
	// when the target's time runs out.
	stopClose := context.AfterFunc(ctx, func() { netConn.Close() })

	var hostKeyFail *failure
	cfg := &ssh.ClientConfig{
		User:              ep.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(v.signer(ep))},
		HostKeyAlgorithms: kh.HostKeyAlgorithmsFrom(ref, hostKeyAlgorithms(ep)),
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			c.hostKey = key
			c.check, hostKeyFail = v.checkHostKey(ctx, sc, key)
			if hostKeyFail != nil {
				return errors.New(hostKeyFail.msg)
			}
			return nil
		},
		ClientVersion: "SSH-2.0-git-bbkey",
	}
	sshConn, chans, reqs, err := ssh.NewClientConn(netConn, addr, cfg)
	if !stopClose() || err != nil {
		netConn.Close()
		switch {
		case hostKeyFail != nil:
			fail(hostKeyFail)
		case ctx.Err() != nil:
			if TimedOut(ctx) {
				fail(&failure{status: StatusTimeout, msg: fmt.Sprintf("no answer from %s within %s (connect, handshake and commands)", addr, v.opts.Timeout)})
			} else {
				fail(&failure{status: StatusTimeout, msg: "interrupted before " + addr + " answered"})
			}
		default:
			fail(v.classifyHandshakeError(ep, err, c.hostKey != nil && hostKeyFail == nil))
		}
		return
	}
	client := ssh.NewClient(sshConn, chans, reqs)
	p.mu.Lock()
	closed := p.closed
	if !closed {
		c.client = client
	}
	p.mu.Unlock()
	if closed {
		client.Close()
		c.fail = &failure{status: StatusTimeout, msg: "interrupted"}
	}
}

func hostKeyAlgorithms(ep endpoint) []string {
	if ep.settings == nil {
		return nil
	}
	return ep.settings.HostKeyAlgorithms
}

// connect opens the byte stream to p's endpoint: its HostSettings'
// DialJump or Dial (a proxy path), else TCP to host:port.
func (v *verifier) connect(ctx context.Context, p *pool) (net.Conn, error) {
	ep := p.ep
	if ep.settings != nil && ep.settings.DialJump != nil {
		return ep.settings.DialJump(ctx, &HopKeys{v: v, p: p})
	}
	if ep.settings != nil && ep.settings.Dial != nil {
		return ep.settings.Dial(ctx)
	}
	dialer := v.opts.Dial
	if dialer == nil {
		dialer = (&net.Dialer{}).DialContext
	}
	return dialer(ctx, "tcp", addrOf(ep))
}

func (p *pool) anyClientLocked() bool {
	for _, c := range p.conns {
		if c.client != nil && !c.dead {
			return true
		}
	}
	return false
}

func (p *pool) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, c := range p.conns {
		if c.client != nil {
			c.client.Close()
		}
	}
}

func (v *verifier) closeAll() {
	v.mu.Lock()
	pools := make([]*pool, 0, len(v.pools))
	for _, p := range v.pools {
		pools = append(pools, p)
	}
	v.mu.Unlock()
	for _, p := range pools {
		p.closeAll()
	}
	v.workers.Wait()
}
