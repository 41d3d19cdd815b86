package verify

import (
	"context"
	"net"
	"strconv"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/openssh"
)

// preconn is a TCP connection opened while ssh -G runs, to where ssh's
// configuration files say ssh connects (openssh.Resolver.Predict): the
// server starts on it (sshd forks for a connection) while ssh is asked.
// It is used for the first connection to that address when ssh -G agrees
// that ssh connects there directly, and closed unused otherwise.
type preconn struct {
	start time.Time
	done  chan struct{}
	conn  net.Conn
	err   error
	taken bool // claimed by takePre
	used  bool // handed over: the taker closes it
}

// preconnect opens the early connection to host:port, once per address,
// unless the run is finishing.
func (r *run) preconnect(ctx context.Context, host string, port int) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	if r.pre == nil {
		r.pre = map[string]*preconn{}
	}
	if r.pre[addr] != nil {
		return
	}
	p := &preconn{start: time.Now(), done: make(chan struct{})}
	r.pre[addr] = p
	r.bg.Add(1) // under r.mu, before finish: see goBg
	go func() {
		defer r.bg.Done()
		defer close(p.done)
		dctx, cancel := context.WithTimeout(ctx, r.timeout())
		defer cancel()
		p.conn, p.err = (&net.Dialer{}).DialContext(dctx, "tcp", addr)
	}()
}

// takePre hands over the early connection to s's address, once, when s
// connects there directly as ssh would (no proxy, any address family) and
// it was made within s's ConnectTimeout; nil otherwise (dial afresh).
func (r *run) takePre(ctx context.Context, s *openssh.Settings) net.Conn {
	if s.ProxyJump != "" || s.ProxyCommand != "" {
		return nil
	}
	if af := s.Get("addressfamily"); len(af) > 0 && af[0] != "any" {
		return nil
	}
	addr := net.JoinHostPort(s.Hostname, strconv.Itoa(s.Port))
	r.mu.Lock()
	p := r.pre[addr]
	if p == nil || p.taken || r.closed {
		r.mu.Unlock()
		return nil
	}
	p.taken = true
	r.mu.Unlock()
	var limit <-chan time.Time
	if s.ConnectTimeout > 0 {
		t := time.NewTimer(time.Until(p.start.Add(s.ConnectTimeout)))
		defer t.Stop()
		limit = t.C
	}
	select {
	case <-p.done:
		if p.err == nil {
			r.mu.Lock()
			p.used = true
			r.mu.Unlock()
			return p.conn
		}
		return nil
	case <-limit:
	case <-ctx.Done():
	}
	// Not used: closed when it is made (or by finish).
	r.goBg(func() {
		<-p.done
		if p.conn != nil {
			p.conn.Close()
		}
	})
	return nil
}

// closePre closes the early connections nobody took. Called by finish,
// once every dial has ended.
func (r *run) closePre() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.pre {
		if !p.used {
			<-p.done
			if p.conn != nil {
				p.conn.Close()
			}
		}
	}
}
