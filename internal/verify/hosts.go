package verify

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/sshdial"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

// SettingsError: OpenSSH's settings for a host could not be computed
// (ssh -G refused the configuration, a token it cannot expand, a variant
// git refuses for the URL): git's ssh would stop there too.
type SettingsError struct {
	Host string // as the URL names it
	Err  error
}

func (e *SettingsError) Error() string {
	return fmt.Sprintf("ssh's settings for %s cannot be used: %v", e.Host, e.Err)
}

func (e *SettingsError) Unwrap() error { return e.Err }

// resolve computes each target's effective settings (and its push
// URL's), concurrently; the resolver runs ssh -G once per distinct
// destination.
func (r *run) resolve(ctx context.Context, ts []*target) error {
	resolver, _, err := r.openSSH(ctx)
	if err != nil {
		return err
	}
	r.resolver = resolver
	var wg sync.WaitGroup
	for _, t := range ts {
		if t.done {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := resolver.Settings(ctx, sshTarget(t.url))
			if err == nil && t.push != nil {
				t.pushSettings, err = resolver.Settings(ctx, sshTarget(t.push))
			}
			if err != nil {
				if ctx.Err() == nil {
					t.decide(StatusUnreachable, &SettingsError{Host: t.url.Host, Err: err})
				}
				return
			}
			t.settings = s
			t.res.Host, t.res.Port = s.Hostname, s.Port
			if s.HomeDiffers() {
				t.res.Notes = append(t.res.Notes, Note{Kind: NoteHomeDiffers, AccountHome: s.AccountHome, Home: s.Home})
			}
			if s.Approximated {
				t.res.Notes = append(t.res.Notes, Note{Kind: NoteApproximated})
			}
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// hostSettings are sshverify's settings for a host reached as s says,
// with signer; one per settings and key, so that targets on one host
// with one key share connections.
func (r *run) hostSettings(s *openssh.Settings, keyPath string, signer ssh.Signer) *sshverify.HostSettings {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := hostKey{s, keyPath}
	if hs := r.hosts[k]; hs != nil {
		return hs
	}
	hs := &sshverify.HostSettings{KnownHosts: knownHostsSpec(s), HostKeyAlgorithms: hostKeyAlgorithms(s), Signer: signer}
	d := &sshdial.Dialer{Resolver: r.resolver, Env: r.d.Env, Dir: r.d.Dir}
	if s.ProxyJump != "" && s.ProxyCommand == "" {
		hs.DialJump = func(ctx context.Context, hops *sshverify.HopKeys) (net.Conn, error) {
			jd := *d
			jd.HostKeyCallback = func(hop *openssh.Settings) (ssh.HostKeyCallback, []string, error) {
				return hops.Callback(ctx, hop.Hostname, hop.Port, knownHostsSpec(hop), hostKeyAlgorithms(hop))
			}
			jd.Signers = func(hop *openssh.Settings) ([]ssh.Signer, error) { return r.hopSigners(ctx, hop) }
			return jd.Dial(ctx, s)
		}
	} else {
		hs.Dial = func(ctx context.Context) (net.Conn, error) {
			if c := r.takePre(ctx, s); c != nil {
				return c, nil
			}
			return d.Dial(ctx, s)
		}
	}
	if r.hosts == nil {
		r.hosts = map[hostKey]*sshverify.HostSettings{}
	}
	r.hosts[k] = hs
	return hs
}

type hostKey struct {
	s   *openssh.Settings
	key string
}

// knownHostsSpec is where ssh looks host keys up for s and adds new ones:
// its user files as $HOME has them (the contract), its global files,
// HostKeyAlias.
func knownHostsSpec(s *openssh.Settings) sshverify.KnownHostsSpec {
	spec := sshverify.KnownHostsSpec{UserFiles: []string{}, GlobalFiles: []string{}, Alias: s.HostKeyAlias}
	for _, f := range s.UserKnownHostsFiles {
		spec.UserFiles = append(spec.UserFiles, filePath(f))
	}
	spec.GlobalFiles = append(spec.GlobalFiles, s.GlobalKnownHostsFiles...)
	return spec
}

// hostKeyAlgorithms is ssh's HostKeyAlgorithms for s (nil: OpenSSH's
// defaults, when ssh did not print them).
func hostKeyAlgorithms(s *openssh.Settings) []string {
	v := s.Get("hostkeyalgorithms")
	if len(v) == 0 || v[0] == "" {
		return nil
	}
	return strings.Split(v[0], ",")
}
