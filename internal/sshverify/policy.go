package sshverify

import (
	"context"
	"strings"

	"golang.org/x/crypto/ssh"
)

// HostKeyPolicy decides about a host that known_hosts does not know: it
// trusts a key that matches the fingerprint the server's operator
// publishes over a trusted channel, else takes the AcceptNew flag, else
// asks a person. It prints nothing and asks only through Confirm.
type HostKeyPolicy struct {
	// AcceptNew accepts an unknown key without asking
	// (--accept-new-host-key, ssh's StrictHostKeyChecking=accept-new).
	AcceptNew bool
	// Published returns the fingerprint published for the SSH server at
	// host:port (Bitbucket's SSH settings). Its Server is "" when nothing
	// is known to ask; an error means it could not be read. nil: nothing
	// is published.
	Published func(ctx context.Context, host string, port int) (Published, error)
	// Confirm asks a person whether to trust the key; nil when no one can
	// be asked (no terminal).
	Confirm func(ctx context.Context, u UnknownHost) (bool, error)
}

// Published is a host key fingerprint published by the server's operator.
type Published struct {
	// Server names who publishes it (the Bitbucket base URL); "" when no
	// server is known to check the key against.
	Server string
	// URL is where it is read (for messages), when known.
	URL string
	// Fingerprint is "SHA256:…", "" when none is published.
	Fingerprint string
	// Trusted: it came over a channel that proves who sent it (verified
	// HTTPS) and is published for this SSH host.
	Trusted bool
}

// UnknownHost is the host a decision is about.
type UnknownHost struct {
	Host HostRef
	Key  ssh.PublicKey // the key to trust (a certificate's plain key)
}

// HostKeyReason says how a decision was reached.
type HostKeyReason int

const (
	// ReasonPublishedMatch: accepted, it matches the published fingerprint.
	ReasonPublishedMatch HostKeyReason = iota + 1
	// ReasonAcceptNew: accepted by the AcceptNew flag.
	ReasonAcceptNew
	// ReasonConfirmed: accepted by a person.
	ReasonConfirmed
	// ReasonDeclined: a person said no.
	ReasonDeclined
	// ReasonNotChecked: not accepted: it could not be checked (see
	// Unchecked) and no one could be asked.
	ReasonNotChecked
	// ReasonPublishedMismatch: refused, it contradicts the published
	// fingerprint (host-mismatch: someone may be in the middle).
	ReasonPublishedMismatch
	// ReasonPromptFailed: asking failed (Err; an interrupt, say).
	ReasonPromptFailed
)

// UncheckedReason says why a key was not checked against a published
// fingerprint.
type UncheckedReason int

const (
	CheckedAgainstPublished UncheckedReason = iota // it was checked
	UncheckedNoServer                              // no server is known to ask
	UncheckedLookupFailed                          // the lookup failed: LookupErr
	UncheckedNotPublished                          // nothing trusted is published for this host
)

// HostKeyDecision is the policy's answer about one unknown host.
type HostKeyDecision struct {
	Reason    HostKeyReason
	Published Published // what the lookup returned
	Unchecked UncheckedReason
	LookupErr error // why the published fingerprint could not be read
	Err       error // why asking failed (ReasonPromptFailed)
}

// Accepted tells whether the key is to be trusted and pinned.
func (d HostKeyDecision) Accepted() bool {
	switch d.Reason {
	case ReasonPublishedMatch, ReasonAcceptNew, ReasonConfirmed:
		return true
	}
	return false
}

// Decide decides about u. It never returns an error: what went wrong is
// in the decision.
func (p *HostKeyPolicy) Decide(ctx context.Context, u UnknownHost) HostKeyDecision {
	d := HostKeyDecision{Unchecked: UncheckedNoServer}
	if p.Published != nil {
		pub, err := p.Published(ctx, u.Host.Host, portOr22(u.Host.Port))
		d.Published = pub
		offered := ssh.FingerprintSHA256(u.Key)
		switch {
		case pub.Server == "":
		case err != nil:
			d.Unchecked, d.LookupErr = UncheckedLookupFailed, err
		case pub.Trusted && pub.Fingerprint == offered:
			d.Unchecked, d.Reason = CheckedAgainstPublished, ReasonPublishedMatch
			return d
		case pub.Trusted && pub.Fingerprint != "":
			d.Unchecked, d.Reason = CheckedAgainstPublished, ReasonPublishedMismatch
			return d
		default:
			d.Unchecked = UncheckedNotPublished
		}
	}
	switch {
	case p.AcceptNew:
		d.Reason = ReasonAcceptNew
	case p.Confirm != nil:
		ok, err := p.Confirm(ctx, u)
		switch {
		case err != nil:
			d.Reason, d.Err = ReasonPromptFailed, err
		case ok:
			d.Reason = ReasonConfirmed
		default:
			d.Reason = ReasonDeclined
		}
	default:
		d.Reason = ReasonNotChecked
	}
	return d
}

// Why says, for a message, why the key was not checked against a
// published fingerprint.
func (d HostKeyDecision) Why() string {
	switch d.Unchecked {
	case UncheckedLookupFailed:
		where := d.Published.URL
		if where == "" {
			where = d.Published.Server
		}
		return "its fingerprint could not be read from " + where + " (" + d.LookupErr.Error() + ")"
	case UncheckedNotPublished:
		return d.Published.Server + " does not publish it over verified HTTPS for this host"
	}
	return "no Bitbucket URL is known to check it against"
}

// KeyTypeName is the key type as ssh names it in messages: "ED25519",
// "RSA", "ECDSA".
func KeyTypeName(k ssh.PublicKey) string {
	switch t := plainKey(k).Type(); {
	case strings.HasPrefix(t, "ecdsa-sha2-"):
		return "ECDSA"
	case t == ssh.KeyAlgoSKECDSA256:
		return "ECDSA-SK"
	case t == ssh.KeyAlgoSKED25519:
		return "ED25519-SK"
	default:
		return strings.ToUpper(strings.TrimPrefix(t, "ssh-"))
	}
}

func portOr22(p int) int {
	if p == 0 {
		return 22
	}
	return p
}
