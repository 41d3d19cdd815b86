package verify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

// viaSSH checks t through the user's own ssh program, run as git runs it
// but in batch mode with exactly t's key: whoami (once per host and key,
// deciding about the host key as verify does), the git-upload-pack ref
// advertisement, and with Write git-receive-pack.
func (r *run) viaSSH(ctx context.Context, t *target, runner *openssh.Runner, fp string, ts []*target) {
	start := time.Now()
	defer func() { t.res.Elapsed = time.Since(start) }()
	ctx, cancel := r.clock.WithTimeout(ctx, r.timeout())
	defer cancel()
	t.res.Via, t.res.Fingerprint = ViaSSH, fp
	addr := net.JoinHostPort(t.settings.Hostname, strconv.Itoa(t.settings.Port))
	who := r.whoami(ctx, t, runner, fp, ts)
	t.res.Notes = append(t.res.Notes, who.notes...)
	for _, p := range who.pins {
		t.res.Pins = append(t.res.Pins, p)
		t.res.HostKeyAdded = t.res.HostKeyAdded || p.Appended
	}
	if who.status != "" {
		t.res.Status, t.res.Message = who.status, who.msg
		return
	}
	t.res.User = who.user
	path := t.url.Path
	res, err := runner.Run(ctx, openssh.RunRequest{Target: sshTarget(t.url), KeyFile: t.key,
		Remote: openssh.RemoteCommand("git-upload-pack", path), Advertisement: true})
	if st, msg := r.sshFailed(ctx, res, err, addr, fp, t.settings.User); st != "" {
		t.res.Status, t.res.Message = st, msg
		return
	}
	refs, remote, err := sshverify.ParseAdvertisement(res.Stdout)
	if err != nil {
		t.res.Status = StatusRepoNotFound
		t.res.Message = fmt.Sprintf("cannot read %s on %s: %s", path, addr, firstOf(remote, res.Reason(), err.Error()))
		return
	}
	t.res.Refs = &refs
	access := "read access"
	if r.opts.Write {
		pu, ps := t.url, t.settings
		if t.push != nil {
			pu, ps = t.push, t.pushSettings
		}
		paddr := net.JoinHostPort(ps.Hostname, strconv.Itoa(ps.Port))
		res, err := runner.Run(ctx, openssh.RunRequest{Target: sshTarget(pu), KeyFile: t.key,
			Remote: openssh.RemoteCommand("git-receive-pack", pu.Path), Advertisement: true, ReceivePack: true})
		if st, msg := r.sshFailed(ctx, res, err, paddr, fp, ps.User); st != "" {
			t.res.Status, t.res.Message = st, msg
			return
		}
		_, remote, err := sshverify.ParseAdvertisement(res.Stdout)
		w := err == nil
		t.res.Write = &w
		if !w {
			t.res.Status = StatusNoWriteAccess
			t.res.Message = fmt.Sprintf("can read %s on %s but not write %s on %s: %s", path, addr, pu.Path, paddr, firstOf(remote, res.Reason(), err.Error()))
			return
		}
		access = "read and write access"
	}
	t.res.Status = StatusOK
	as := "authenticated"
	if t.res.User != "" {
		as = fmt.Sprintf("authenticated as %q", t.res.User)
	}
	t.res.Message = fmt.Sprintf("%s on %s through ssh; %s to %s (%d refs)", as, addr, access, path, refs)
}

// whoCall is whoami's answer for a host and key, shared by its targets.
type whoCall struct {
	once   sync.Once
	user   string
	status Status // set when the connection failed: every target's verdict
	msg    string
	notes  []Note
	pins   []sshverify.Pin // the decision about an unknown host key
}

func (r *run) whoami(ctx context.Context, t *target, runner *openssh.Runner, fp string, ts []*target) *whoCall {
	k := t.settings.Target.String() + "\x00" + t.key
	r.mu.Lock()
	if r.who == nil {
		r.who = map[string]*whoCall{}
	}
	w := r.who[k]
	if w == nil {
		w = &whoCall{}
		r.who[k] = w
	}
	r.mu.Unlock()
	w.once.Do(func() {
		s := t.settings
		addr := net.JoinHostPort(s.Hostname, strconv.Itoa(s.Port))
		req := openssh.RunRequest{Target: sshTarget(t.url), KeyFile: t.key, Remote: "whoami"}
		res, err := runner.Run(ctx, req)
		if err == nil && res.Failure() == openssh.FailHostKeyUnknown && res.HostKey != "" {
			// Decided as verify decides in-process and, accepted, pinned
			// by verify where ssh looks (never by ssh itself): ssh, run
			// again, then finds it there, or refuses another key.
			pin, st, msg := r.acceptViaSSH(ctx, s, runner, req, res.HostKey, ts)
			if pin != nil {
				w.pins = append(w.pins, *pin)
			}
			if st != "" {
				w.status, w.msg = st, msg
				return
			}
			res, err = runner.Run(ctx, req)
		}
		if st, msg := r.sshFailed(ctx, res, err, addr, fp, s.User); st != "" {
			w.status, w.msg = st, msg
			return
		}
		if res.ExitCode == 0 {
			w.user = strings.TrimSpace(string(res.Stdout))
		}
		switch {
		case res.AcceptedKey != "" && res.AcceptedKey != fp:
			w.status = StatusKeyRejected
			w.msg = fmt.Sprintf("%s accepted %s, not the key %s (%s): git's ssh command adds keys of its own, so the key was not proven", addr, res.AcceptedKey, t.key, fp)
		case res.AcceptedKey == "":
			w.notes = append(w.notes, Note{Kind: NoteKeyNotConfirmed})
		}
	})
	return w
}

// sshFailed is the verdict on a run of ssh that failed before the remote
// command ran ("" when it got that far).
func (r *run) sshFailed(ctx context.Context, res *openssh.RunResult, err error, addr, fp, user string) (Status, string) {
	switch {
	case err != nil && (errors.Is(err, context.DeadlineExceeded) || sshverify.TimedOut(ctx)):
		return StatusTimeout, fmt.Sprintf("no answer from %s within %s (connect, handshake and commands)", addr, r.timeout())
	case err != nil && ctx.Err() != nil:
		return StatusTimeout, "interrupted before " + addr + " answered"
	case err != nil:
		return StatusUnreachable, err.Error()
	}
	why := res.Reason()
	switch res.Failure() {
	case openssh.FailNone:
		return "", ""
	case openssh.FailHostKeyUnknown:
		return StatusHostUnknown, fmt.Sprintf("ssh does not know the host key of %s: %s", addr, why)
	case openssh.FailHostKeyChanged:
		return StatusHostMismatch, fmt.Sprintf("ssh refuses the host key of %s (%s): %s", addr, res.HostKey, why)
	case openssh.FailAuth:
		return StatusKeyRejected, fmt.Sprintf("permission denied (publickey): %s did not accept the key %s for user %q", addr, fp, user)
	case openssh.FailTimeout:
		return StatusTimeout, fmt.Sprintf("connecting to %s timed out: %s", addr, why)
	}
	if why == "" {
		why = fmt.Sprintf("ssh exited with status %d", res.ExitCode)
	}
	return StatusUnreachable, fmt.Sprintf("ssh could not reach %s: %s", addr, why)
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
