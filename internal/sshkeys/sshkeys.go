// Package sshkeys finds, parses, fingerprints, generates and writes SSH keys
// the way OpenSSH does, so that what git-bbkey shows always agrees with
// `ssh-keygen -l -E sha256`.
//
// The package never prompts, prints or looks at the real home directory:
// callers pass directories, paths and passphrases.
package sshkeys

import (
	"errors"

	"golang.org/x/crypto/ssh"
)

// Key is one key found on disk: a private key file, its NAME.pub, or both.
type Key struct {
	PrivateKeyPath string // "" when the private half is missing
	PublicKeyPath  string // "" when NAME.pub is missing
	// CertificatePath is NAME-cert.pub when such an OpenSSH certificate for
	// this key sits beside it. Certificates are never keys of their own.
	CertificatePath string

	// Type is the OpenSSH name (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ssh-dss,
	// sk-ssh-ed25519@openssh.com, ...). For a type x/crypto cannot parse it is
	// the name written in the key itself (ssh-dss, ssh-mldsa44-ed25519@openssh.com);
	// "rsa1" for SSH-1 keys; "" when nothing could be read.
	Type        string
	Bits        int    // as ssh-keygen -l prints them (ed25519: 256); 0 if unknown
	Fingerprint string // "SHA256:..." as ssh-keygen -l -E sha256; "" if unknown
	Comment     string
	Encrypted   bool
	Problems    []Problem // empty (not nil) from FindKeyPairs when the key is fine

	// PublicKey is nil when neither half could be parsed by x/crypto (also for
	// DSA and other types it no longer supports: Type and Fingerprint are still set).
	PublicKey ssh.PublicKey
}

// Errors callers can test with errors.Is.
var (
	// ErrPrivateKey: a private key was given where a public key was expected.
	ErrPrivateKey = errors.New("this is a private key, not a public key")
	// ErrRefusedType: a key type that OpenSSH or Bitbucket refuses (dsa, rsa1).
	ErrRefusedType = errors.New("key type refused")
	// ErrUnknownType: a key type this tool does not know or cannot make.
	ErrUnknownType = errors.New("unknown key type")
	// ErrBadBits: a key size that is not allowed for the type.
	ErrBadBits = errors.New("invalid key size")
	// ErrUnsupportedKey: a key that exists and is valid for OpenSSH but that
	// git-bbkey cannot sign with (security-key, DSA, post-quantum hybrids).
	ErrUnsupportedKey = errors.New("key not supported by git-bbkey")
)

// DefaultKeyNames are the file names ssh-keygen uses, in the order git-bbkey
// prefers them when no key file is configured.
var DefaultKeyNames = []string{"id_ed25519", "id_ecdsa", "id_rsa"}

// DefaultFileName is the file name ssh-keygen gives a new key of keyType
// ("ed25519", "ecdsa", "rsa"). It returns "" for any other type: validate the
// type with CheckTypeBits first.
func DefaultFileName(keyType string) string {
	switch keyType {
	case "ed25519", "ecdsa", "rsa":
		return "id_" + keyType
	}
	return ""
}

// Key type names as OpenSSH writes them, for the types x/crypto lacks.
const (
	typeDSA    = "ssh-dss"
	typeRSA1   = "rsa1"
	typeMLDSA  = "ssh-mldsa44-ed25519@openssh.com"
	certSuffix = "-cert-v01@openssh.com"
)
