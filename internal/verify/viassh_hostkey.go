package verify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

// viaDecision is the decision about a host met through ssh, shared by
// the run's targets on it (its known_hosts name and file).
type viaDecision struct {
	fp     string // the fingerprint decided about
	pin    *sshverify.Pin
	status Status
	msg    string
}

// acceptViaSSH decides about the unknown host key (fingerprint fp) ssh
// met for s, as verify decides in-process (the published fingerprint,
// AcceptNewHostKey, a person through Deps.Confirm), and pins an accepted
// key where the in-process check pins (the first user known-hosts file,
// under HostKeyAlias when set). It returns the pin (nil when there was
// nothing to decide about) and "" when the key is now pinned, else the
// verdict.
func (r *run) acceptViaSSH(ctx context.Context, s *openssh.Settings, runner *openssh.Runner, req openssh.RunRequest, fp string, ts []*target) (*sshverify.Pin, Status, string) {
	addr := net.JoinHostPort(s.Hostname, strconv.Itoa(s.Port))
	ref := sshverify.HostRef{Host: s.Hostname, Port: s.Port, Alias: s.HostKeyAlias}
	file := ""
	if spec := knownHostsSpec(s); len(spec.UserFiles) > 0 {
		file = spec.UserFiles[0]
	}
	r.viaMu.Lock()
	defer r.viaMu.Unlock()
	k := ref.Name() + "\x00" + file
	if d := r.via[k]; d != nil {
		if d.fp != fp {
			return nil, StatusHostMismatch, fmt.Sprintf("the host key of %s changed during this run: ssh met %s, this run decided about %s", addr, fp, d.fp)
		}
		return d.pin, d.status, d.msg
	}
	key, st, msg := r.hostKeyViaSSH(ctx, s, runner, req, ref, fp)
	if st != "" {
		return nil, st, msg // nothing decided: another target may try again
	}
	d := &viaDecision{fp: fp, pin: &sshverify.Pin{Host: ref, Name: ref.Name(), File: file, Key: key}}
	d.status, d.msg = r.decideViaSSH(ctx, d.pin, addr, ts)
	if r.via == nil {
		r.via = map[string]*viaDecision{}
	}
	r.via[k] = d
	return d.pin, d.status, d.msg
}

// decideViaSSH asks the policy about pin's key and records it when
// accepted; "" when it is pinned, else the verdict.
func (r *run) decideViaSSH(ctx context.Context, pin *sshverify.Pin, addr string, ts []*target) (Status, string) {
	fp := ssh.FingerprintSHA256(pin.Key)
	where := pin.File
	if where == "" {
		where = "known_hosts"
	}
	resume := r.clock.Pause() // a person, or Bitbucket, decides: not the network's time
	pin.Decision = r.policy(ts).Decide(ctx, sshverify.UnknownHost{Host: pin.Host, Key: pin.Key})
	resume()
	dec := pin.Decision
	switch dec.Reason {
	case sshverify.ReasonPublishedMismatch:
		return StatusHostMismatch, fmt.Sprintf("the host key of %s (%s) was not accepted: %s publishes %s; someone may be intercepting the connection",
			addr, fp, dec.Published.Server, dec.Published.Fingerprint)
	case sshverify.ReasonPromptFailed:
		return StatusHostUnknown, fmt.Sprintf("the host key of %s (%s) is not known to ssh and could not be checked: %v", addr, fp, dec.Err)
	case sshverify.ReasonDeclined:
		return StatusHostUnknown, fmt.Sprintf("the host key of %s (%s) is not in %s and was not accepted: not accepted on the terminal", addr, fp, where)
	case sshverify.ReasonNotChecked:
		return StatusHostUnknown, fmt.Sprintf("the host key of %s (%s) is not in %s and was not accepted: %s key %s was not checked: %s",
			addr, fp, where, sshverify.KeyTypeName(pin.Key), fp, dec.Why())
	}
	err := sshverify.RecordPin(ctx, pin)
	var meanwhile *sshverify.ChangedMeanwhileError
	switch {
	case errors.As(err, &meanwhile):
		return StatusHostMismatch, fmt.Sprintf("the host key of %s (%s) was accepted, but meanwhile %s came to name another key for it (%s); known_hosts was not changed",
			addr, fp, pin.File, sshverify.DescribeConflict(meanwhile.Check))
	case err != nil:
		pin.Err = err
		return StatusHostUnknown, fmt.Sprintf("the host key of %s (%s) was accepted but not recorded: %v", addr, fp, err)
	}
	return "", ""
}

// hostKeyViaSSH has ssh meet the host again and returns the key it met,
// when that is the one first met (fp). ssh records it in a temporary
// known-hosts file named first, so that it appends there and never to the
// user's files, which it still reads after it as it always does. It is
// told not to authenticate (nothing is sent to a host not yet trusted)
// and to connect afresh and alone (no shared connection, no forwarding).
func (r *run) hostKeyViaSSH(ctx context.Context, s *openssh.Settings, runner *openssh.Runner, req openssh.RunRequest, ref sshverify.HostRef, fp string) (ssh.PublicKey, Status, string) {
	addr := net.JoinHostPort(s.Hostname, strconv.Itoa(s.Port))
	dir, err := safefile.MkdirTemp(os.TempDir(), "git-bbkey-known_hosts")
	if err != nil {
		return nil, StatusHostUnknown, fmt.Sprintf("the host key of %s (%s) could not be checked: %v", addr, fp, err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "known_hosts")
	files := []string{sshOptionWord(tmp)}
	for _, f := range s.UserKnownHostsFiles {
		files = append(files, sshOptionWord(f.Path))
	}
	meet := *runner
	meet.Options = append(append([]string(nil), runner.Options...),
		"-o", "UserKnownHostsFile="+strings.Join(files, " "),
		"-o", "StrictHostKeyChecking=accept-new", "-o", "UpdateHostKeys=no",
		"-o", "PreferredAuthentications=none",
		"-o", "ControlMaster=no", "-o", "ControlPath=none",
		"-o", "ForwardAgent=no", "-o", "ForwardX11=no", "-o", "ClearAllForwardings=yes", "-o", "PermitLocalCommand=no")
	// ssh takes the first value it is given: a known-hosts file that the
	// ssh command itself names (or a wrapper adds) comes before ours, and
	// ssh would record the key there, unasked. ssh -G on the same command
	// line says which file wins; the key is met only when it is ours.
	probe := meet
	probe.Options = append(append([]string(nil), meet.Options...), "-G")
	if pres, err := probe.Run(ctx, req); err != nil || pres.ExitCode != 0 || !recordsIn(pres.Stdout, tmp) {
		if ctx.Err() != nil {
			st, msg := r.sshFailed(ctx, pres, err, addr, fp, s.User)
			return nil, st, msg
		}
		return nil, StatusHostUnknown, fmt.Sprintf("ssh met an unknown host key (%s) at %s, and your ssh command names its own known-hosts file, where ssh would record the key before it is checked: it was not accepted; connect once with your ssh command to record it (ssh -p %d %s), then run again",
			fp, addr, s.Port, s.Hostname)
	}
	res, err := meet.Run(ctx, req)
	if err != nil && ctx.Err() != nil {
		st, msg := r.sshFailed(ctx, res, err, addr, fp, s.User)
		return nil, st, msg
	}
	var keys []sshverify.KnownHostEntry
	if kh, err := sshverify.LoadKnownHosts(tmp); err == nil {
		keys = kh.Lookup(ref).Keys
	}
	if len(keys) == 0 {
		if st, msg := r.sshFailed(ctx, res, err, addr, fp, s.User); st != "" && st != StatusKeyRejected {
			return nil, st, msg
		}
		return nil, StatusHostUnknown, fmt.Sprintf("ssh met an unknown host key (%s) on its way to %s, but recorded none for %s (a jump host's key, maybe): it was not accepted",
			fp, addr, ref.Name())
	}
	for _, e := range keys {
		if !hasFingerprint(e.Key, fp) {
			return nil, StatusHostMismatch, fmt.Sprintf("the host key of %s changed while it was being checked (%s, then %s): someone may be intercepting the connection; nothing was recorded",
				addr, fp, ssh.FingerprintSHA256(e.Key))
		}
	}
	return keys[0].Key, "", ""
}

// recordsIn tells whether ssh -G output says ssh records new host keys
// in file: the first of its UserKnownHostsFile names.
func recordsIn(g []byte, file string) bool {
	for _, line := range strings.Split(string(g), "\n") {
		if v, ok := strings.CutPrefix(line, "userknownhostsfile "); ok {
			f := strings.Fields(v)
			return len(f) > 0 && strings.Trim(f[0], `"`) == file
		}
	}
	return false
}

// hasFingerprint tells whether key's fingerprint, as ssh printed it
// (FingerprintHash sha256 or md5), is fp.
func hasFingerprint(key ssh.PublicKey, fp string) bool {
	if strings.HasPrefix(fp, "MD5:") {
		return "MD5:"+ssh.FingerprintLegacyMD5(key) == fp
	}
	return ssh.FingerprintSHA256(key) == fp
}

// sshOptionWord is a file name as one word of an ssh option's value
// (UserKnownHostsFile takes several): its %-tokens escaped (ssh expands
// them), quoted when it holds blanks, quotes and backslashes escaped
// where ssh's word splitting would take them.
func sshOptionWord(p string) string {
	p = strings.ReplaceAll(p, "%", "%%")
	if !strings.ContainsAny(p, " \t\"'") && !strings.HasSuffix(p, `\`) && !strings.Contains(p, `\\`) {
		return p
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(p); i++ {
		c := p[i]
		next := byte(0)
		if i+1 < len(p) {
			next = p[i+1]
		}
		switch {
		case c == '"' || c == '\'':
			b.WriteByte('\\')
		case c == '\\' && (next == 0 || next == '\\' || next == '"' || next == '\''):
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}
