package setup

import (
	"context"
	"net"
	"strconv"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// verify is step 8 with step 5 in it: the repository's remote (switched
// from https to SSH when asked), else the server's SSH address alone, is
// checked with the key over one connection, which also pins the host key.
// A remote switched here is switched back when the key does not verify.
func (w *run) verify(ctx context.Context, s *bbsession.Session, key *sshkeys.Unlocked) error {
	rt, err := FindRemote(ctx, w.d.Sessions, w.d.Repo, w.o.Remote, s.Base())
	if err != nil {
		return err
	}
	var t Target
	if rt != nil {
		if err := w.fixRemote(ctx, rt); err != nil {
			return err
		}
		t = rt.Target
	} else if t, err = HostTarget(ctx, s); err != nil {
		if ctx.Err() != nil {
			return err
		}
		w.r.HostKeyErr = err // no SSH address to pin: the step is skipped
		return nil
	}
	w.r.Target = &t
	w.progress(Connecting, net.JoinHostPort(t.Host, strconv.Itoa(t.Port)))
	out, err := w.d.Verify(ctx, t, key)
	if err != nil {
		w.rollback(ctx, rt)
		return err
	}
	w.r.Verify = &out
	switch {
	case IsHostKeyStatus(out.Status):
		w.r.HostKey = HostKeySkipped
	case out.Pinned:
		w.r.HostKey = HostKeyPinned
	default:
		w.r.HostKey = HostKeyKnown
	}
	if !out.OK() {
		w.rollback(ctx, rt)
		return &VerifyError{Target: t, Outcome: out}
	}
	return w.rememberServer(ctx)
}

// fixRemote switches an https remote to its SSH clone URL, with
// --fix-remote or a yes on the terminal.
func (w *run) fixRemote(ctx context.Context, rt *RemoteTarget) error {
	ch := &RemoteChange{Name: rt.Remote, From: rt.Shown, To: rt.URL, HTTPS: rt.HTTPS}
	w.r.Remote = ch
	if !rt.HTTPS {
		return nil
	}
	fix := w.o.FixRemote
	if !fix && w.d.Ask != nil {
		var err error
		if fix, err = w.d.Ask.FixRemote(ctx, rt.Remote, rt.Shown, rt.URL); err != nil {
			return err
		}
	}
	if !fix {
		return nil
	}
	// FindRemote took rt.URL through SSHCloneURL: an ssh:// URL from
	// Bitbucket, nothing else, is what goes into the remote.
	if _, err := SSHCloneURL(rt.URL); err != nil {
		return err
	}
	if err := w.d.Git.SetRemoteURL(ctx, rt.Remote, rt.URL); err != nil {
		return err
	}
	ch.Switched = true
	return nil
}

// rollback puts back the URL a switched remote had, also when the run
// was interrupted: the step that was cut short leaves nothing changed.
func (w *run) rollback(ctx context.Context, rt *RemoteTarget) {
	ch := w.r.Remote
	if rt == nil || ch == nil || !ch.Switched {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.d.Git.SetRemoteURL(rctx, rt.Remote, rt.Written); err != nil {
		ch.RollbackErr = err
		return
	}
	ch.RolledBack = true
}

// rememberServer keeps the server in the repository's bbkey.url once its
// https remote, which was how later runs found the server, is gone.
func (w *run) rememberServer(ctx context.Context) error {
	ch := w.r.Remote
	if ch == nil || !ch.Switched || w.d.Repo == nil || w.d.Repo.Config == nil {
		return nil
	}
	if v, _, err := w.d.Repo.Config.Get(ctx, "bbkey.url"); err != nil || v != "" {
		return err
	}
	if err := w.d.Git.SetConfig(ctx, "bbkey.url", w.r.Server); err != nil {
		return err
	}
	w.r.RememberedServer = true
	return nil
}
