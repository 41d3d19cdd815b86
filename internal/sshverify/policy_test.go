package sshverify

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestHostKeyPolicyDecide(t *testing.T) {
	key := newSigner(t, "ed25519").PublicKey()
	fp := ssh.FingerprintSHA256(key)
	lookupErr, promptErr := errors.New("401"), errors.New("interrupted")
	const base = "https://bb.example.com"
	published := func(p Published, err error) func(context.Context, string, int) (Published, error) {
		return func(_ context.Context, host string, port int) (Published, error) {
			if host != "bb.example.com" || port != 7999 {
				t.Errorf("Published(%q, %d)", host, port)
			}
			return p, err
		}
	}
	confirm := func(ok bool, err error) func(context.Context, UnknownHost) (bool, error) {
		return func(_ context.Context, u UnknownHost) (bool, error) {
			if u.Host.Name() != "[bb.example.com]:7999" || !samePublicKey(u.Key, key) {
				t.Errorf("Confirm(%+v)", u)
			}
			return ok, err
		}
	}
	never := func(context.Context, UnknownHost) (bool, error) {
		t.Error("asked a person when the published fingerprint decides")
		return true, nil
	}
	for _, c := range []struct {
		name      string
		policy    HostKeyPolicy
		reason    HostKeyReason
		unchecked UncheckedReason
		accepted  bool
	}{
		{"nothing to go by", HostKeyPolicy{}, ReasonNotChecked, UncheckedNoServer, false},
		{"flag", HostKeyPolicy{AcceptNew: true}, ReasonAcceptNew, UncheckedNoServer, true},
		{"no server to ask, flag", HostKeyPolicy{AcceptNew: true, Published: published(Published{}, nil)}, ReasonAcceptNew, UncheckedNoServer, true},
		{"published and matching", HostKeyPolicy{Published: published(Published{Server: base, Fingerprint: fp, Trusted: true}, nil), Confirm: never},
			ReasonPublishedMatch, CheckedAgainstPublished, true},
		{"published and different, even with the flag", HostKeyPolicy{AcceptNew: true, Published: published(Published{Server: base, Fingerprint: "SHA256:other", Trusted: true}, nil), Confirm: never},
			ReasonPublishedMismatch, CheckedAgainstPublished, false},
		{"matching over an untrusted channel proves nothing", HostKeyPolicy{Published: published(Published{Server: base, Fingerprint: fp}, nil)},
			ReasonNotChecked, UncheckedNotPublished, false},
		{"different over an untrusted channel, flag", HostKeyPolicy{AcceptNew: true, Published: published(Published{Server: base, Fingerprint: "SHA256:other"}, nil)},
			ReasonAcceptNew, UncheckedNotPublished, true},
		{"nothing published", HostKeyPolicy{Published: published(Published{Server: base, Trusted: true}, nil), Confirm: confirm(false, nil)},
			ReasonDeclined, UncheckedNotPublished, false},
		{"lookup failed, confirmed", HostKeyPolicy{Published: published(Published{Server: base}, lookupErr), Confirm: confirm(true, nil)},
			ReasonConfirmed, UncheckedLookupFailed, true},
		{"prompt failed", HostKeyPolicy{Confirm: confirm(false, promptErr)}, ReasonPromptFailed, UncheckedNoServer, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := c.policy.Decide(context.Background(), UnknownHost{Host: HostRef{Host: "bb.example.com", Port: 7999}, Key: key})
			if d.Reason != c.reason || d.Unchecked != c.unchecked || d.Accepted() != c.accepted {
				t.Errorf("decision %+v, want reason %v unchecked %v accepted %v", d, c.reason, c.unchecked, c.accepted)
			}
			if c.unchecked == UncheckedLookupFailed && !errors.Is(d.LookupErr, lookupErr) {
				t.Errorf("lookup error %v", d.LookupErr)
			}
			if c.reason == ReasonPromptFailed && !errors.Is(d.Err, promptErr) {
				t.Errorf("prompt error %v", d.Err)
			}
		})
	}
}

func TestKeyTypeName(t *testing.T) {
	for _, c := range []struct {
		k    ssh.PublicKey
		want string
	}{
		{newSigner(t, "ed25519").PublicKey(), "ED25519"},
		{newSigner(t, "rsa").PublicKey(), "RSA"},
		{ecdsaKey(t), "ECDSA"},
	} {
		k, want := c.k, c.want
		if got := KeyTypeName(k); got != want {
			t.Errorf("KeyTypeName(%s) = %q, want %q", k.Type(), got, want)
		}
	}
}
