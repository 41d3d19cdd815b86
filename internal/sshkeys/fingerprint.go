package sshkeys

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Fingerprint is the SHA256 fingerprint exactly as `ssh-keygen -l -E sha256`
// prints it. For a certificate it is the fingerprint of the certified key, as
// OpenSSH computes it.
func Fingerprint(pub ssh.PublicKey) string {
	if cert, ok := pub.(*ssh.Certificate); ok {
		pub = cert.Key
	}
	return ssh.FingerprintSHA256(pub)
}

// fingerprintBlob is Fingerprint for a plain key's wire form, which also
// works for types x/crypto cannot parse.
func fingerprintBlob(blob []byte) string {
	sum := sha256.Sum256(blob)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// Bits is the key size as `ssh-keygen -l` prints it; 0 for a type it does
// not know.
func Bits(pub ssh.PublicKey) int {
	if cert, ok := pub.(*ssh.Certificate); ok {
		pub = cert.Key
	}
	switch pub.Type() {
	case ssh.KeyAlgoRSA:
		if c, ok := pub.(ssh.CryptoPublicKey); ok {
			if k, ok := c.CryptoPublicKey().(*rsa.PublicKey); ok {
				return k.N.BitLen()
			}
		}
	case ssh.KeyAlgoED25519, ssh.KeyAlgoSKED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoSKECDSA256:
		return 256
	case ssh.KeyAlgoECDSA384:
		return 384
	case ssh.KeyAlgoECDSA521:
		return 521
	}
	return 0
}

// shortTypeName is OpenSSH's short name for a key type, as ssh-keygen -l
// prints it in parentheses and in the randomart title (sshkey_type()).
func shortTypeName(typ string) string {
	plain, isCert := certKeyType(typ)
	var name string
	switch plain {
	case ssh.KeyAlgoRSA:
		name = "RSA"
	case typeDSA:
		name = "DSA"
	case ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		name = "ECDSA"
	case ssh.KeyAlgoSKECDSA256:
		name = "ECDSA-SK"
	case ssh.KeyAlgoED25519:
		name = "ED25519"
	case ssh.KeyAlgoSKED25519:
		name = "ED25519-SK"
	case typeMLDSA:
		name = "MLDSA44-ED25519"
	default:
		return "unknown"
	}
	if isCert {
		name += "-CERT"
	}
	return name
}

// certKeyType is the type of the key inside a certificate of type typ, and
// whether typ is a certificate type at all.
func certKeyType(typ string) (string, bool) {
	plain, isCert := strings.CutSuffix(typ, certSuffix)
	if !isCert {
		return typ, false
	}
	// Vendor types keep their "@openssh.com" only outside the certificate name.
	if strings.HasPrefix(plain, "sk-") || plain+"@openssh.com" == typeMLDSA {
		plain += "@openssh.com"
	}
	return plain, true
}

// Randomart is the picture `ssh-keygen -lv -E sha256` prints below the
// fingerprint, without a trailing newline.
func Randomart(pub ssh.PublicKey) string {
	plain := pub
	if cert, ok := pub.(*ssh.Certificate); ok {
		plain = cert.Key
	}
	return randomart(shortTypeName(pub.Type()), Bits(pub), plain.Marshal())
}

// randomart is a port of fingerprint_randomart() from OpenSSH's sshkey.c
// ("drunken bishop"), fed with the SHA256 digest of the plain key blob.
func randomart(shortType string, bits int, plainBlob []byte) string {
	const (
		base  = 8
		sizeY = base + 1
		sizeX = base*2 + 1
		// Characters for how often the bishop visited a square; S and E
		// mark the start and the end.
		augmentation = " .o+=*BOX@%&#/^SE"
	)
	digest := sha256.Sum256(plainBlob)
	last := len(augmentation) - 1

	var field [sizeX][sizeY]int
	x, y := sizeX/2, sizeY/2
	for _, input := range digest {
		for range 4 {
			if input&1 != 0 {
				x++
			} else {
				x--
			}
			if input&2 != 0 {
				y++
			} else {
				y--
			}
			x = min(max(x, 0), sizeX-1)
			y = min(max(y, 0), sizeY-1)
			if field[x][y] < last-2 {
				field[x][y]++
			}
			input >>= 2
		}
	}
	field[sizeX/2][sizeY/2] = last - 1
	field[x][y] = last

	// OpenSSH formats the title into a 17-byte buffer: "[type bits]" when it
	// fits (the check lets a 17-character title through, truncated by
	// snprintf to 16), otherwise "[type]", likewise truncated.
	title := fmt.Sprintf("[%s %d]", shortType, bits)
	if len(title) > sizeX {
		title = "[" + shortType + "]"
	}
	if len(title) > sizeX-1 {
		title = title[:sizeX-1]
	}

	var b strings.Builder
	border := func(label string) {
		pad := (sizeX - len(label)) / 2
		b.WriteString("+" + strings.Repeat("-", pad) + label + strings.Repeat("-", sizeX-pad-len(label)) + "+")
	}
	border(title)
	b.WriteByte('\n')
	for y := range sizeY {
		b.WriteByte('|')
		for x := range sizeX {
			b.WriteByte(augmentation[min(field[x][y], last)])
		}
		b.WriteString("|\n")
	}
	border("[SHA256]")
	return b.String()
}
