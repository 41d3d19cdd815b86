package sshverify

import (
	"crypto/rand"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func hostCert(t *testing.T, key ssh.PublicKey, ca ssh.Signer, typ uint32, principals []string, validBefore time.Time) *ssh.Certificate {
	t.Helper()
	cert := &ssh.Certificate{Key: key, CertType: typ, KeyId: "test", ValidPrincipals: principals,
		ValidAfter: uint64(time.Now().Add(-time.Hour).Unix()), ValidBefore: uint64(validBefore.Unix())}
	if err := cert.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestCheck(t *testing.T) {
	server, other, ca, otherCA := newSigner(t, "ed25519"), newSigner(t, "ed25519"), newSigner(t, "ed25519"), newSigner(t, "ed25519")
	rsaKey := newSigner(t, "rsa").PublicKey()
	srv := server.PublicKey()
	line := func(hosts string, k ssh.PublicKey) string { return hosts + " " + k.Type() + " " + blob(k) }
	later := time.Now().Add(time.Hour)
	good := hostCert(t, srv, ca, ssh.HostCert, []string{"bb.example.com"}, later)
	for _, c := range []struct {
		name        string
		lines       []string
		ref         HostRef
		key         ssh.PublicKey
		want        HostKeyStatus
		withoutPort bool
		wantLine    int // the line that decided (Known, Revoked)
	}{
		{"known", []string{line("[bb.example.com]:7999", srv)}, HostRef{Host: "bb.example.com", Port: 7999}, srv, HostKeyKnown, false, 1},
		{"one of several", []string{line("[bb.example.com]:7999", other.PublicKey()), line("[bb.example.com]:7999", srv)}, HostRef{Host: "bb.example.com", Port: 7999}, srv, HostKeyKnown, false, 2},
		{"unknown", []string{line("other", srv)}, HostRef{Host: "bb.example.com", Port: 7999}, srv, HostKeyUnknown, false, 0},
		{"changed", []string{line("[bb.example.com]:7999", other.PublicKey())}, HostRef{Host: "bb.example.com", Port: 7999}, srv, HostKeyChanged, false, 0},
		// ssh calls another type a change too (it asks for known types first).
		{"other type", []string{line("[bb.example.com]:7999", rsaKey)}, HostRef{Host: "bb.example.com", Port: 7999}, srv, HostKeyChanged, false, 0},
		{"revoked everywhere", []string{line("@revoked *", srv), line("[bb.example.com]:7999", srv)}, HostRef{Host: "bb.example.com", Port: 7999}, srv, HostKeyRevoked, false, 1},
		{"revoked for another host", []string{line("@revoked other", srv), line("[bb.example.com]:7999", srv)}, HostRef{Host: "bb.example.com", Port: 7999}, srv, HostKeyKnown, false, 2},
		{"revoked and unknown", []string{line("@revoked *", srv)}, HostRef{Host: "bb.example.com", Port: 7999}, srv, HostKeyRevoked, false, 1},
		{"a CA alone does not know a plain key", []string{line("@cert-authority *", ca.PublicKey())}, HostRef{Host: "bb.example.com", Port: 7999}, srv, HostKeyUnknown, false, 0},
		{"a CA beside a changed key", []string{line("@cert-authority *", ca.PublicKey()), line("[bb.example.com]:7999", other.PublicKey())}, HostRef{Host: "bb.example.com", Port: 7999}, srv, HostKeyChanged, false, 0},
		{"certificate from the CA", []string{line("@cert-authority *.example.com", ca.PublicKey())}, HostRef{Host: "bb.example.com", Port: 22}, good, HostKeyKnown, false, 1},
		// "*.example.com" does not match "[bb.example.com]:7999"; ssh finds it under the bare name.
		{"certificate from the CA, other port", []string{line("@cert-authority *.example.com", ca.PublicKey())}, HostRef{Host: "bb.example.com", Port: 7999}, good, HostKeyKnown, true, 1},
		{"certificate under the alias", []string{line("@cert-authority myalias", ca.PublicKey())}, HostRef{Host: "10.1.1.1", Port: 7999, Alias: "myalias"},
			hostCert(t, srv, ca, ssh.HostCert, []string{"myalias"}, later), HostKeyKnown, false, 1},
		{"certificate from another CA: its key is judged", []string{line("@cert-authority *", otherCA.PublicKey())}, HostRef{Host: "bb.example.com", Port: 7999}, good, HostKeyUnknown, false, 0},
		{"certificate from another CA, key known", []string{line("@cert-authority *", otherCA.PublicKey()), line("[bb.example.com]:7999", srv)}, HostRef{Host: "bb.example.com", Port: 7999}, good, HostKeyKnown, false, 2},
		{"certificate for another host", []string{line("@cert-authority *", ca.PublicKey())}, HostRef{Host: "bb.example.com", Port: 7999},
			hostCert(t, srv, ca, ssh.HostCert, []string{"elsewhere"}, later), HostKeyUnknown, false, 0},
		{"expired certificate", []string{line("@cert-authority *", ca.PublicKey())}, HostRef{Host: "bb.example.com", Port: 7999},
			hostCert(t, srv, ca, ssh.HostCert, []string{"bb.example.com"}, time.Now().Add(-time.Minute)), HostKeyUnknown, false, 0},
		{"user certificate", []string{line("@cert-authority *", ca.PublicKey())}, HostRef{Host: "bb.example.com", Port: 7999},
			hostCert(t, srv, ca, ssh.UserCert, []string{"bb.example.com"}, later), HostKeyUnknown, false, 0},
		{"revoked CA", []string{line("@cert-authority *", ca.PublicKey()), line("@revoked *", ca.PublicKey())}, HostRef{Host: "bb.example.com", Port: 7999}, good, HostKeyRevoked, false, 2},
		{"certificate of a revoked key", []string{line("@cert-authority *", ca.PublicKey()), line("@revoked *", srv)}, HostRef{Host: "bb.example.com", Port: 7999}, good, HostKeyRevoked, false, 2},
		{"bare host for another port", []string{line("bb.example.com", srv)}, HostRef{Host: "bb.example.com", Port: 7999}, srv, HostKeyKnown, true, 1},
		{"bare host: a different key there does not count", []string{line("bb.example.com", other.PublicKey())}, HostRef{Host: "bb.example.com", Port: 7999}, srv, HostKeyUnknown, false, 0},
		{"bare host: not when the port's entry differs", []string{line("bb.example.com", srv), line("[bb.example.com]:7999", other.PublicKey())}, HostRef{Host: "bb.example.com", Port: 7999}, srv, HostKeyChanged, false, 0},
		{"bare host: not under an alias", []string{line("bb.example.com", srv)}, HostRef{Host: "bb.example.com", Port: 7999, Alias: "bb"}, srv, HostKeyUnknown, false, 0},
		{"alias", []string{line("bb", srv)}, HostRef{Host: "10.1.1.1", Port: 7999, Alias: "BB"}, srv, HostKeyKnown, false, 1},
		{"alias: the host's own entry does not count", []string{line("[10.1.1.1]:7999", srv)}, HostRef{Host: "10.1.1.1", Port: 7999, Alias: "bb"}, srv, HostKeyUnknown, false, 0},
		{"hashed", []string{hashHost(make([]byte, 20), "[bb.example.com]:7999") + " " + srv.Type() + " " + blob(srv)}, HostRef{Host: "bb.example.com", Port: 7999}, srv, HostKeyKnown, false, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			kh, _ := loadString(t, strings.Join(c.lines, "\n")+"\n")
			got := kh.Check(c.ref, c.key)
			if got.Status != c.want || got.WithoutPort != c.withoutPort {
				t.Fatalf("status %v (without port %v), want %v (%v)", got.Status, got.WithoutPort, c.want, c.withoutPort)
			}
			if c.wantLine != 0 && (got.Entry == nil || got.Entry.Line != c.wantLine) {
				t.Errorf("decided by %+v, want line %d", got.Entry, c.wantLine)
			}
			if got.Status == HostKeyChanged && len(got.Conflicts) == 0 {
				t.Error("changed without the conflicting lines")
			}
			if cert, ok := c.key.(*ssh.Certificate); ok && got.Status == HostKeyUnknown && !samePublicKey(got.Key, cert.Key) {
				t.Error("an unvouched certificate is not judged by its key")
			}
		})
	}
}

func TestHostKeyAlgorithmsOrder(t *testing.T) {
	ed, rsaK, ca := newSigner(t, "ed25519").PublicKey(), newSigner(t, "rsa").PublicKey(), newSigner(t, "ed25519").PublicKey()
	ec := ecdsaKey(t)
	line := func(hosts string, k ssh.PublicKey) string { return hosts + " " + k.Type() + " " + blob(k) + "\n" }
	ref := HostRef{Host: "bb", Port: 7999}
	for _, c := range []struct {
		name    string
		content string
		first   []string
	}{
		{"unknown: OpenSSH's order", "", opensshHostKeyAlgorithms[:2]},
		{"ed25519 known: OpenSSH's order", line("[bb]:7999", ed), opensshHostKeyAlgorithms[:2]},
		{"rsa known", line("[bb]:7999", rsaK), []string{ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.CertAlgoED25519v01}},
		{"ecdsa known", line("[bb]:7999", ec), []string{ssh.CertAlgoECDSA256v01, ssh.KeyAlgoECDSA256, ssh.CertAlgoED25519v01}},
		{"a CA: certificates first", line("@cert-authority *", ca) + line("[bb]:7999", rsaK),
			[]string{ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01, ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.KeyAlgoRSASHA512}},
		{"a revoked rsa key does not count", line("[bb]:7999", rsaK) + line("@revoked *", rsaK), opensshHostKeyAlgorithms[:2]},
	} {
		kh, _ := loadString(t, c.content)
		got := kh.HostKeyAlgorithms(ref)
		if len(got) != len(opensshHostKeyAlgorithms) || !slices.Equal(got[:len(c.first)], c.first) {
			t.Errorf("%s: %v, want it to start with %v", c.name, got, c.first)
		}
	}
}

// ssh's own HostKeyAlgorithms (from ssh -G) is ordered the same way, less
// what x/crypto cannot verify.
func TestHostKeyAlgorithmsFromConfig(t *testing.T) {
	rsaK := newSigner(t, "rsa").PublicKey()
	kh, _ := loadString(t, "[bb]:7999 "+rsaK.Type()+" "+blob(rsaK)+"\n")
	ref := HostRef{Host: "bb", Port: 7999}
	got := kh.HostKeyAlgorithmsFrom(ref, []string{ssh.KeyAlgoED25519, ssh.KeyAlgoSKED25519, ssh.KeyAlgoRSA})
	if want := []string{ssh.KeyAlgoRSA, ssh.KeyAlgoED25519}; !slices.Equal(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
	got = kh.HostKeyAlgorithmsFrom(ref, []string{ssh.KeyAlgoRSA, ssh.KeyAlgoED25519})
	if want := []string{ssh.KeyAlgoRSA, ssh.KeyAlgoED25519}; !slices.Equal(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
}
