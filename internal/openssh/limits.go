package openssh

import (
	"bytes"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
)

// LimitKind names a reason why OpenSSH's behaviour cannot be reproduced
// in-process: the check must then run through the user's own ssh.
type LimitKind int

const (
	// LimitNotOpenSSH: git runs PuTTY's plink, TortoisePlink, or a
	// program of the "simple" variant, not OpenSSH.
	LimitNotOpenSSH LimitKind = iota + 1
	// LimitWrapper: git's ssh command is a wrapper or a shell construct,
	// not `ssh [options]`: what it does beyond OpenSSH is unknown.
	LimitWrapper
	// LimitPKCS11: keys come from a PKCS#11 token (PKCS11Provider).
	LimitPKCS11
	// LimitSecurityKey: the key is a FIDO security key (sk-…), which
	// needs the authenticator.
	LimitSecurityKey
	// LimitMatchExec: a `Match exec` command decided the settings; its
	// answer may depend on a terminal, the time or the network.
	LimitMatchExec
	// LimitKnownHostsCommand: host keys come from a KnownHostsCommand.
	LimitKnownHostsCommand
	// LimitProxyUseFdpass: the ProxyCommand hands over a descriptor.
	LimitProxyUseFdpass
	// LimitControlMaster: a ControlPath socket exists: ssh reuses that
	// master connection, whatever key it authenticated with.
	LimitControlMaster
	// LimitCertificate: ssh also offers a certificate (CertificateFile,
	// or KEY-cert.pub beside the key).
	LimitCertificate
)

func (k LimitKind) String() string {
	switch k {
	case LimitNotOpenSSH:
		return "not-openssh"
	case LimitWrapper:
		return "wrapper"
	case LimitPKCS11:
		return "pkcs11"
	case LimitSecurityKey:
		return "security-key"
	case LimitMatchExec:
		return "match-exec"
	case LimitKnownHostsCommand:
		return "known-hosts-command"
	case LimitProxyUseFdpass:
		return "proxy-fdpass"
	case LimitControlMaster:
		return "control-master"
	case LimitCertificate:
		return "certificate"
	}
	return fmt.Sprintf("limit(%d)", int(k))
}

// Limit is one reason, with what it is about (a program, a provider, a
// file, a command).
type Limit struct {
	Kind   LimitKind
	Detail string
}

func (l Limit) String() string {
	if l.Detail == "" {
		return l.Kind.String()
	}
	return l.Kind.String() + ": " + l.Detail
}

// Limits lists why connecting with keyFile ("" when no key is chosen
// yet) in-process would not do what OpenSSH does for these settings.
// None means in-process is faithful (see Approximated for settings read
// without ssh).
func (s *Settings) Limits(keyFile string) []Limit {
	var limits []Limit
	add := func(k LimitKind, detail string) { limits = append(limits, Limit{Kind: k, Detail: detail}) }
	switch s.Variant {
	case VariantSimple, VariantPlink, VariantPutty, VariantTortoisePlink:
		add(LimitNotOpenSSH, s.Variant.String())
	default:
		if !s.hop.known {
			add(LimitWrapper, "a shell command line")
		} else if name := strings.ToLower(baseName(s.hop.bin)); name != "ssh" && name != "ssh.exe" {
			add(LimitWrapper, s.hop.bin)
		}
	}
	if s.PKCS11Provider != "" {
		add(LimitPKCS11, s.PKCS11Provider)
	}
	for _, c := range s.MatchExec {
		add(LimitMatchExec, c)
	}
	if s.KnownHostsCommand != "" {
		add(LimitKnownHostsCommand, s.KnownHostsCommand)
	}
	if s.ProxyUseFdpass && s.ProxyCommand != "" {
		add(LimitProxyUseFdpass, s.ProxyCommand)
	}
	if s.ControlPath != "" && s.ControlMaster != "" {
		if st, err := os.Stat(s.ControlPath); err == nil && st.Mode()&os.ModeSocket != 0 {
			add(LimitControlMaster, s.ControlPath)
		}
	}
	for _, f := range s.CertificateFiles {
		add(LimitCertificate, f.Path)
	}
	if keyFile != "" {
		if _, err := os.Stat(keyFile + "-cert.pub"); err == nil {
			add(LimitCertificate, keyFile+"-cert.pub")
		}
		if t := keyType(keyFile); strings.HasPrefix(t, "sk-") {
			add(LimitSecurityKey, keyFile)
		}
	}
	return limits
}

// keyType is the key type of a private key file as ssh finds it: from
// KEY.pub, else from the public key an OpenSSH private key carries in
// clear (also when encrypted). "" when unknown.
func keyType(keyFile string) string {
	if pub, err := os.ReadFile(keyFile + ".pub"); err == nil {
		if f := strings.Fields(string(pub)); len(f) > 0 {
			return f[0]
		}
	}
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return ""
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "OPENSSH PRIVATE KEY" {
		return ""
	}
	rest, ok := bytes.CutPrefix(block.Bytes, []byte("openssh-key-v1\x00"))
	if !ok {
		return ""
	}
	for i := 0; i < 3; i++ { // cipher, kdf, kdf options
		if _, rest, ok = sshString(rest); !ok {
			return ""
		}
	}
	if len(rest) < 4 || binary.BigEndian.Uint32(rest) < 1 {
		return ""
	}
	pubBlob, _, ok := sshString(rest[4:])
	if !ok {
		return ""
	}
	typ, _, ok := sshString(pubBlob)
	if !ok {
		return ""
	}
	return string(typ)
}

func sshString(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(n) > uint64(len(b)-4) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}
