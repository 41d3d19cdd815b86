package sshverify

import (
	"bytes"
	"slices"

	"golang.org/x/crypto/ssh"
)

// HostKeys is what known_hosts says about one host name.
type HostKeys struct {
	Name        string
	WithoutPort bool             // the entries are the bare host name's (see Known)
	Keys        []KnownHostEntry // plain host keys (no marker), in file order
	Authorities []KnownHostEntry // @cert-authority lines that apply
	Revoked     []KnownHostEntry // @revoked lines that apply
}

// Lookup returns the entries that apply to h (under its alias when set).
func (kh *KnownHosts) Lookup(h HostRef) HostKeys {
	return kh.lookup(h.Name())
}

func (kh *KnownHosts) lookup(name string) HostKeys {
	kh.mu.RLock()
	defer kh.mu.RUnlock()
	hk := HostKeys{Name: name}
	for _, e := range kh.entries {
		if !hostsMatch(e.Hosts, name) {
			continue
		}
		switch e.Marker {
		case MarkerNone:
			hk.Keys = append(hk.Keys, e)
		case MarkerCertAuthority:
			hk.Authorities = append(hk.Authorities, e)
		case MarkerRevoked:
			hk.Revoked = append(hk.Revoked, e)
		}
	}
	return hk
}

// Known is what ssh knows about h's host keys: the entries for its name,
// or, when they hold no host key and ssh falls back to the bare host name
// (a port other than 22 and no alias), the entries for that name
// (WithoutPort), with the @revoked lines of both.
func (kh *KnownHosts) Known(h HostRef) HostKeys {
	hk := kh.Lookup(h)
	if len(hk.Keys) > 0 || h.Alias != "" || h.Port == 0 || h.Port == 22 {
		return hk
	}
	bare := kh.lookup(hostPortName(h.Host, 22))
	if len(bare.Keys) == 0 {
		return hk
	}
	bare.WithoutPort = true
	for _, r := range hk.Revoked {
		if !slices.ContainsFunc(bare.Revoked, func(b KnownHostEntry) bool { return b.File == r.File && b.Line == r.Line }) {
			bare.Revoked = append(bare.Revoked, r)
		}
	}
	return bare
}

// RevokedBy returns the @revoked line that refuses key (for a certificate:
// its key or the authority that signed it), nil if none does.
func (hk HostKeys) RevokedBy(key ssh.PublicKey) *KnownHostEntry {
	for i, r := range hk.Revoked {
		if samePublicKey(key, r.Key) {
			return &hk.Revoked[i]
		}
		if cert, ok := key.(*ssh.Certificate); ok && samePublicKey(cert.SignatureKey, r.Key) {
			return &hk.Revoked[i]
		}
	}
	return nil
}

// Usable are the plain keys that no @revoked line refuses: the keys ssh
// accepts for the host.
func (hk HostKeys) Usable() []KnownHostEntry {
	var out []KnownHostEntry
	for _, e := range hk.Keys {
		if hk.RevokedBy(e.Key) == nil {
			out = append(out, e)
		}
	}
	return out
}

// samePublicKey compares the public keys themselves (a certificate by the
// key it certifies), as OpenSSH's sshkey_equal_public.
func samePublicKey(a, b ssh.PublicKey) bool {
	return bytes.Equal(plainKey(a).Marshal(), plainKey(b).Marshal())
}

func plainKey(k ssh.PublicKey) ssh.PublicKey {
	if cert, ok := k.(*ssh.Certificate); ok {
		return cert.Key
	}
	return k
}

// HostKeyStatus is the verdict on a server's host key.
type HostKeyStatus int

const (
	HostKeyUnknown HostKeyStatus = iota // no line for the host (a new host)
	HostKeyKnown                        // a line vouches for it
	HostKeyChanged                      // the host has other keys: a mismatch
	HostKeyRevoked                      // a @revoked line refuses it
)

// HostKeyCheck is the outcome of Check.
type HostKeyCheck struct {
	Status HostKeyStatus
	Name   string // the name looked up: [host]:port, host, or the alias
	// Key is the key the verdict is about: the server's key, or the plain
	// key of a certificate that no @cert-authority line vouches for (ssh
	// then judges the key alone). It is what a pin records.
	Key ssh.PublicKey
	// Entry is the line that decided: the key or authority that vouches
	// (Known) or the @revoked line (Revoked).
	Entry *KnownHostEntry
	// Conflicts are the host's known keys that differ (Changed).
	Conflicts []KnownHostEntry
	// WithoutPort: known through an entry for the bare host name, which
	// ssh consults for a port other than 22 when "[host]:port" has none.
	WithoutPort bool
}

// Check decides about the key a server presented as OpenSSH's
// check_host_key does with StrictHostKeyChecking: a key any line for the
// host names is known, unless a @revoked line refuses it; other keys for
// the host make it changed; a certificate is known when a
// @cert-authority line for the host signed it and it is valid for the
// host, and is otherwise judged as its plain key; a @cert-authority line
// alone does not make a plain key known (the host is new).
func (kh *KnownHosts) Check(h HostRef, key ssh.PublicKey) HostKeyCheck {
	bare := ""
	if h.Alias == "" && h.Port != 0 && h.Port != 22 {
		bare = hostPortName(h.Host, 22)
	}
	principal := h.Alias
	if principal == "" {
		principal = h.Host
	}
	return kh.check(h.Name(), bare, principal, key)
}

func (kh *KnownHosts) check(name, bare, principal string, key ssh.PublicKey) HostKeyCheck {
	hk := kh.lookup(name)
	res := HostKeyCheck{Name: name, Key: key}
	if cert, ok := key.(*ssh.Certificate); ok {
		if r := hk.RevokedBy(cert); r != nil {
			res.Status, res.Entry = HostKeyRevoked, r
			return res
		}
		for i, ca := range hk.Authorities {
			if samePublicKey(cert.SignatureKey, ca.Key) && validHostCert(cert, principal) {
				res.Status, res.Entry = HostKeyKnown, &hk.Authorities[i]
				return res
			}
		}
		if bare != "" {
			if b := kh.check(bare, "", principal, key); b.Status == HostKeyKnown {
				b.WithoutPort = true
				return b
			}
		}
		// No authority vouches for it: ssh drops the certificate and
		// judges the key.
		key = cert.Key
		res.Key = key
	}
	if r := hk.RevokedBy(key); r != nil {
		res.Status, res.Entry = HostKeyRevoked, r
		return res
	}
	for i, e := range hk.Keys {
		if bytes.Equal(e.Key.Marshal(), key.Marshal()) {
			res.Status, res.Entry, res.Conflicts = HostKeyKnown, &hk.Keys[i], nil
			return res
		}
		res.Status = HostKeyChanged
		res.Conflicts = append(res.Conflicts, e)
	}
	if res.Status == HostKeyUnknown && bare != "" {
		if b := kh.check(bare, "", principal, key); b.Status == HostKeyKnown {
			b.WithoutPort = true
			return b
		}
	}
	return res
}

// validHostCert is OpenSSH's check_host_cert: a host certificate, valid
// now, naming the host (or its alias) among its principals when it names
// any, with a good signature.
func validHostCert(cert *ssh.Certificate, principal string) bool {
	if cert.CertType != ssh.HostCert {
		return false
	}
	return (&ssh.CertChecker{}).CheckCert(principal, cert) == nil
}

// opensshHostKeyAlgorithms is OpenSSH's default HostKeyAlgorithms, less
// the security-key types x/crypto cannot verify as host keys.
var opensshHostKeyAlgorithms = []string{
	ssh.CertAlgoED25519v01,
	ssh.CertAlgoECDSA256v01, ssh.CertAlgoECDSA384v01, ssh.CertAlgoECDSA521v01,
	ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01,
	ssh.KeyAlgoED25519,
	ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
	ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256,
}

// keyTypeOfAlgorithm is the plain key type an algorithm uses.
func keyTypeOfAlgorithm(algo string) (keyType string, cert bool) {
	switch algo {
	case ssh.CertAlgoED25519v01:
		return ssh.KeyAlgoED25519, true
	case ssh.CertAlgoECDSA256v01:
		return ssh.KeyAlgoECDSA256, true
	case ssh.CertAlgoECDSA384v01:
		return ssh.KeyAlgoECDSA384, true
	case ssh.CertAlgoECDSA521v01:
		return ssh.KeyAlgoECDSA521, true
	case ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSASHA256v01, ssh.CertAlgoRSAv01:
		return ssh.KeyAlgoRSA, true
	case ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256:
		return ssh.KeyAlgoRSA, false
	}
	return algo, false
}

// HostKeyAlgorithms orders OpenSSH's default host key algorithms for h as
// ssh does (sshconnect2.c, order_hostkeyalgs); see HostKeyAlgorithmsFrom.
func (kh *KnownHosts) HostKeyAlgorithms(h HostRef) []string {
	return kh.HostKeyAlgorithmsFrom(h, nil)
}

// HostKeyAlgorithmsFrom orders algos (ssh's HostKeyAlgorithms for the
// host; nil means OpenSSH's defaults) as ssh does, so that the server
// shows the key ssh would see: the list as it is when a usable key of the
// first algorithm's type is known; otherwise first the algorithms of the
// key types known for h (and every certificate algorithm when a
// @cert-authority line applies), then the rest. Algorithms x/crypto cannot
// verify (security-key host keys) are left out.
func (kh *KnownHosts) HostKeyAlgorithmsFrom(h HostRef, algos []string) []string {
	if algos == nil {
		algos = opensshHostKeyAlgorithms
	}
	usable := slices.Concat(ssh.SupportedAlgorithms().HostKeys, ssh.InsecureAlgorithms().HostKeys)
	algos = slices.DeleteFunc(slices.Clone(algos), func(a string) bool { return !slices.Contains(usable, a) })
	if len(algos) == 0 {
		return nil
	}
	hk := kh.Lookup(h)
	known := map[string]bool{}
	for _, e := range hk.Usable() {
		known[e.Key.Type()] = true
	}
	if best, _ := keyTypeOfAlgorithm(algos[0]); known[best] {
		return algos
	}
	var first, last []string
	for _, a := range algos {
		typ, cert := keyTypeOfAlgorithm(a)
		if cert && len(hk.Authorities) > 0 || known[typ] {
			first = append(first, a)
		} else {
			last = append(last, a)
		}
	}
	return append(first, last...)
}
