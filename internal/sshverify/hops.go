package sshverify

import (
	"context"
	"net"

	"golang.org/x/crypto/ssh"
)

// HopKeys checks the host keys of the jump hosts a DialJump hook goes
// through, as the target's key is checked: the same known_hosts reader,
// the same policy (asked at most once per name and file, target clocks
// standing still meanwhile) and the same pinning; its decisions show in
// the Pins of the targets reached through the jump host.
type HopKeys struct {
	v *verifier
	p *pool
}

// HostKeyError is a jump host's key refused by a HopKeys callback: Status
// is StatusHostUnknown or StatusHostMismatch, as for a target's key.
type HostKeyError struct {
	Status Status
	Host   HostRef // the jump host as dialled (after its HostName and Port)
	// Check is what known_hosts said (nil when it could not be read).
	Check *HostKeyCheck
	Msg   string
}

func (e *HostKeyError) Error() string { return e.Msg }

// Callback returns the host-key check for a jump host dialled at
// host:port whose keys are looked up and pinned as spec says (its own
// known-hosts files and HostKeyAlias; nil file lists mean Options'), and
// the host-key algorithms to ask it for: algos (its HostKeyAlgorithms,
// nil for OpenSSH's defaults) ordered by what known_hosts holds, as ssh
// orders them. A refused key makes the callback return a *HostKeyError.
// ctx bounds a decision the policy makes (a question to a person).
func (h *HopKeys) Callback(ctx context.Context, host string, port int, spec KnownHostsSpec, algos []string) (ssh.HostKeyCallback, []string, error) {
	v := h.v
	sc := keyScope{host: host, port: port, spec: v.mergeSpec(spec)}
	kh, err := v.knownHosts(sc.spec)
	if err != nil {
		return nil, nil, &HostKeyError{Status: StatusHostUnknown, Host: sc.ref(), Msg: err.Error()}
	}
	h.p.mu.Lock()
	h.p.hops = append(h.p.hops, sc)
	h.p.mu.Unlock()
	cb := func(_ string, _ net.Addr, key ssh.PublicKey) error {
		chk, fail := v.checkHostKey(ctx, sc, key)
		if fail == nil {
			return nil
		}
		return &HostKeyError{Status: fail.status, Host: sc.ref(), Check: chk, Msg: fail.msg}
	}
	return cb, kh.HostKeyAlgorithmsFrom(sc.ref(), algos), nil
}

// poolHops are the jump hosts ep's connections went through.
func (v *verifier) poolHops(ep endpoint) []keyScope {
	v.mu.Lock()
	p := v.pools[ep]
	v.mu.Unlock()
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]keyScope(nil), p.hops...)
}
