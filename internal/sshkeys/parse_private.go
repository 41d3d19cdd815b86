// Private key files as OpenSSH reads them: what they tell without the
// passphrase (type, public half, comment, encryption), in every format
// OpenSSH writes or loads.

package sshkeys

import (
	"bytes"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"golang.org/x/crypto/ssh"
)

// privateKey is what a private key file tells without its passphrase.
type privateKey struct {
	pub       *publicKey // nil when the file does not reveal it (encrypted PEM and PKCS#8)
	comment   string
	encrypted bool
	pkcs8     bool // encrypted PKCS#8, which x/crypto cannot decrypt
	dsa       bool // DSA in PEM, which x/crypto cannot load even with the passphrase
}

// parsePrivateKey reads any private key format OpenSSH reads or writes.
func parsePrivateKey(data []byte) (privateKey, error) {
	text := bytes.TrimSpace(bytes.TrimPrefix(data, utf8BOM))
	if bytes.HasPrefix(text, []byte("PuTTY-User-Key-File-")) {
		return privateKey{}, errors.New("putty private key: convert it with puttygen (Conversions > Export OpenSSH key)")
	}
	if rest, ok := bytes.CutPrefix(text, []byte(rsa1PrivateMagic)); ok {
		// "\0", cipher byte, 4 reserved bytes, then the modulus size.
		if len(rest) < 10 {
			return privateKey{}, errMalformedKey
		}
		pk := &publicKey{typ: typeRSA1, bits: int(binary.BigEndian.Uint32(rest[6:]))}
		return privateKey{pub: pk, encrypted: rest[1] != 0}, nil
	}
	block, _ := pem.Decode(text)
	if block == nil {
		return privateKey{}, errors.New("not a valid pem block")
	}
	if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return privateKey{encrypted: true, dsa: block.Type == "DSA PRIVATE KEY"}, nil
	}
	var signerKey any
	switch block.Type {
	case "OPENSSH PRIVATE KEY":
		return parseOpenSSHPrivateKey(text, block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return privateKey{encrypted: true, pkcs8: true}, nil
	case "DSA PRIVATE KEY":
		// x/crypto no longer reads DSA: the public half is in the ASN.1.
		var k struct{ Version, P, Q, G, Y, X *big.Int }
		if _, err := asn1.Unmarshal(block.Bytes, &k); err != nil {
			return privateKey{}, errors.New("malformed dsa private key")
		}
		return dsaPrivateKey(k.P, k.Q, k.G, k.Y)
	case "PRIVATE KEY":
		if p, q, g, y, ok := parsePKCS8DSA(block.Bytes); ok {
			return dsaPrivateKey(p, q, g, y)
		}
		fallthrough
	default:
		var err error
		if signerKey, err = ssh.ParseRawPrivateKey(text); err != nil {
			return privateKey{}, cleanError(err)
		}
	}
	signer, err := ssh.NewSignerFromKey(signerKey)
	if err != nil {
		return privateKey{}, cleanError(err)
	}
	pk, err := parseWireKey(signer.PublicKey().Marshal())
	return privateKey{pub: &pk}, err
}

func dsaPrivateKey(p, q, g, y *big.Int) (privateKey, error) {
	pk, err := parseWireKey(ssh.Marshal(struct {
		Name       string
		P, Q, G, Y *big.Int
	}{typeDSA, p, q, g, y}))
	return privateKey{pub: &pk, dsa: true}, err
}

// parsePKCS8DSA reads the DSA keys `ssh-keygen -m PKCS8` writes, which
// crypto/x509 does not: the public value is y = g^x mod p.
func parsePKCS8DSA(der []byte) (p, q, g, y *big.Int, ok bool) {
	var pkcs8 struct {
		Version int
		Algo    struct {
			Algorithm  asn1.ObjectIdentifier
			Parameters struct{ P, Q, G *big.Int }
		}
		PrivateKey []byte
	}
	if _, err := asn1.Unmarshal(der, &pkcs8); err != nil || !pkcs8.Algo.Algorithm.Equal(oidDSA) {
		return nil, nil, nil, nil, false
	}
	var x *big.Int
	params := pkcs8.Algo.Parameters
	if _, err := asn1.Unmarshal(pkcs8.PrivateKey, &x); err != nil || params.P.Sign() <= 0 || x.Sign() <= 0 ||
		params.P.BitLen() > 10000 || x.BitLen() > 1024 {
		return nil, nil, nil, nil, false
	}
	return params.P, params.Q, params.G, new(big.Int).Exp(params.G, x, params.P), true
}

var oidDSA = asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}

// privateFieldLayouts describe the private section of the OpenSSH format per
// type (s: string, b: byte), which must be walked to reach the comment.
var privateFieldLayouts = map[string]string{
	ssh.KeyAlgoRSA:        "ssssss", // n e d iqmp p q
	typeDSA:               "sssss",  // p q g y x
	ssh.KeyAlgoECDSA256:   "sss",    // curve Q d
	ssh.KeyAlgoECDSA384:   "sss",
	ssh.KeyAlgoECDSA521:   "sss",
	ssh.KeyAlgoSKECDSA256: "sssbss", // curve Q application flags handle reserved
	ssh.KeyAlgoED25519:    "ss",     // pk sk
	ssh.KeyAlgoSKED25519:  "ssbss",  // pk application flags handle reserved
}

// parseOpenSSHPrivateKey reads the "openssh-key-v1" container
// (PROTOCOL.key): the public key and cipher are in the clear, so type,
// fingerprint and encryption are known without a passphrase and for every
// key type, even those x/crypto cannot load.
func parseOpenSSHPrivateKey(pemBytes, der []byte) (privateKey, error) {
	const magic = "openssh-key-v1\x00"
	rest, ok := bytes.CutPrefix(der, []byte(magic))
	if !ok {
		return privateKey{}, errors.New("not an openssh-key-v1 private key")
	}
	var w struct {
		CipherName, KdfName, KdfOpts string
		NumKeys                      uint32
		Rest                         []byte `ssh:"rest"`
	}
	if err := ssh.Unmarshal(rest, &w); err != nil {
		return privateKey{}, errMalformedKey
	}
	if w.NumKeys != 1 {
		return privateKey{}, fmt.Errorf("holds %d keys: OpenSSH reads files with exactly one", w.NumKeys)
	}
	pubBlob, rest, ok := readString(w.Rest)
	section, _, ok2 := readString(rest)
	if !ok || !ok2 {
		return privateKey{}, errMalformedKey
	}
	pk, err := parseWireKey(pubBlob)
	if err != nil {
		return privateKey{}, fmt.Errorf("embedded public key: %w", err)
	}
	if pk.cert {
		return privateKey{}, errors.New("embedded public key is a certificate")
	}
	out := privateKey{pub: &pk, encrypted: w.CipherName != "none"}
	if out.encrypted {
		return out, nil
	}
	// The private section is in the clear: check it and read its comment.
	if canSign(pk.typ) {
		key, err := ssh.ParsePrivateKey(pemBytes)
		if err != nil {
			return privateKey{}, cleanError(err)
		}
		if !bytes.Equal(key.PublicKey().Marshal(), pk.blob) {
			return privateKey{}, errors.New("private part does not match the embedded public key")
		}
	}
	if out.comment, err = openSSHComment(section, pk.typ); err != nil {
		return privateKey{}, err
	}
	return out, nil
}

// openSSHComment walks an unencrypted private section to its comment; ""
// for a type whose layout is unknown.
func openSSHComment(section []byte, typ string) (string, error) {
	layout, ok := privateFieldLayouts[typ]
	if !ok {
		return "", nil
	}
	if len(section) < 8 || !bytes.Equal(section[:4], section[4:8]) {
		return "", errMalformedKey
	}
	name, rest, ok := readString(section[8:])
	if !ok || string(name) != typ {
		return "", errMalformedKey
	}
	for _, field := range layout {
		if field == 'b' {
			if len(rest) < 1 {
				return "", errMalformedKey
			}
			rest = rest[1:]
		} else if _, rest, ok = readString(rest); !ok {
			return "", errMalformedKey
		}
	}
	comment, _, ok := readString(rest)
	if !ok {
		return "", errMalformedKey
	}
	return string(comment), nil
}

// unsupportedTypeError explains why git-bbkey cannot use a key of typ:
// ErrRefusedType for what nobody should use, ErrUnsupportedKey otherwise.
func unsupportedTypeError(typ string) error {
	switch {
	case typ == typeDSA:
		return fmt.Errorf("%w: dsa keys are deprecated and refused by Bitbucket", ErrRefusedType)
	case typ == typeRSA1:
		return fmt.Errorf("%w: rsa1 keys are for the ssh-1 protocol, which Bitbucket and OpenSSH no longer accept", ErrRefusedType)
	case isSecurityKey(typ):
		return fmt.Errorf("%w: a security-key (fido) key signs only inside its token, through ssh", ErrUnsupportedKey)
	}
	return fmt.Errorf("%w: %s keys are not supported", ErrUnsupportedKey, truncate(typ))
}

// canSign tells whether x/crypto can load and sign with a private key of typ.
func canSign(typ string) bool {
	switch typ {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoRSA, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		return true
	}
	return false
}
