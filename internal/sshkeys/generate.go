package sshkeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Key sizes, as ssh-keygen allows them (RSA capped at what OpenSSH loads).
const (
	defaultRSABits   = 4096
	defaultECDSABits = 256
	maxRSABits       = 16384
)

// CheckTypeBits validates a key type ("ed25519", "ecdsa", "rsa") and size
// (0 for the default) as Generate would, and returns the effective size.
// "dsa" and "rsa1" give an error wrapping ErrRefusedType with the reason;
// other types ErrUnknownType; sizes the type does not allow ErrBadBits.
func CheckTypeBits(keyType string, bits int) (int, error) {
	switch keyType {
	case "ed25519":
		if bits != 0 && bits != 256 {
			return 0, fmt.Errorf("%w: ed25519 keys are always 256 bits, not %d", ErrBadBits, bits)
		}
		return 256, nil
	case "ecdsa":
		switch bits {
		case 0:
			return defaultECDSABits, nil
		case 256, 384, 521:
			return bits, nil
		}
		return 0, fmt.Errorf("%w: ecdsa keys are 256, 384 or 521 bits, not %d", ErrBadBits, bits)
	case "rsa":
		if bits == 0 {
			return defaultRSABits, nil
		}
		if bits < minRSABits || bits > maxRSABits {
			return 0, fmt.Errorf("%w: rsa keys must be %d to %d bits, not %d", ErrBadBits, minRSABits, maxRSABits, bits)
		}
		return bits, nil
	case "dsa":
		return 0, fmt.Errorf("%w: dsa keys are deprecated: OpenSSH 7.0 and later refuse them and Bitbucket does not accept them (use ed25519)", ErrRefusedType)
	case "rsa1":
		return 0, fmt.Errorf("%w: rsa1 keys are for the ssh-1 protocol, which OpenSSH and Bitbucket never accept (use ed25519)", ErrRefusedType)
	case "ed25519-sk", "ecdsa-sk":
		return 0, fmt.Errorf("%w %q: security keys need the hardware token (create one with ssh-keygen -t %s)", ErrUnknownType, keyType, keyType)
	}
	return 0, fmt.Errorf("%w %q: use ed25519, ecdsa or rsa", ErrUnknownType, truncate(keyType))
}

// Generate makes a new private key. random is the entropy source (nil for
// crypto/rand); recent Go versions may use their own secure source instead.
func Generate(keyType string, bits int, random io.Reader) (crypto.Signer, error) {
	bits, err := CheckTypeBits(keyType, bits)
	if err != nil {
		return nil, err
	}
	if random == nil {
		random = rand.Reader
	}
	switch keyType {
	case "ed25519":
		_, key, err := ed25519.GenerateKey(random)
		return key, err
	case "ecdsa":
		curve := map[int]elliptic.Curve{256: elliptic.P256(), 384: elliptic.P384(), 521: elliptic.P521()}[bits]
		return ecdsa.GenerateKey(curve, random)
	default: // rsa: CheckTypeBits allows nothing else
		return rsa.GenerateKey(random, bits)
	}
}

// MarshalPrivateKey encodes key in the OpenSSH private key format (what
// ssh-keygen writes), encrypted as ssh-keygen does (aes256-ctr, bcrypt)
// unless passphrase is empty.
func MarshalPrivateKey(key crypto.Signer, comment string, passphrase []byte) ([]byte, error) {
	var block *pem.Block
	var err error
	if len(passphrase) == 0 {
		block, err = ssh.MarshalPrivateKey(key, comment)
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(key, comment, passphrase)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot encode private key: %v", cleanError(err))
	}
	return pem.EncodeToMemory(block), nil
}

// MarshalPublicKey is the NAME.pub line "TYPE BASE64 COMMENT\n" (no trailing
// space without a comment). Line breaks in comment become spaces: they would
// split the line.
func MarshalPublicKey(pub ssh.PublicKey, comment string) []byte {
	line := pub.Type() + " " + base64.StdEncoding.EncodeToString(pub.Marshal())
	comment = strings.TrimSpace(strings.NewReplacer("\r", " ", "\n", " ").Replace(comment))
	if comment != "" {
		line += " " + comment
	}
	return []byte(line + "\n")
}

// IsEncrypted tells whether the private key at path needs a passphrase.
func IsEncrypted(path string) (bool, error) {
	_, info, err := readPrivateKey(path)
	if err != nil {
		return false, err
	}
	return info.encrypted, nil
}
