package sshkeys

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
)

// publicKey is a public key as read from disk. x/crypto parses most types;
// for those it dropped or never had (ssh-dss, OpenSSH's post-quantum hybrid)
// the type name and wire form still give the fingerprint, which is what
// listing needs.
type publicKey struct {
	typ     string        // OpenSSH type of the plain key (a certificate's key type for a certificate)
	blob    []byte        // wire form of the plain key: ssh-keygen fingerprints certificates by it
	bits    int           // 0 when unknown
	key     ssh.PublicKey // as x/crypto parsed it (the certificate for one); nil if unsupported
	cert    bool
	comment string
}

// knownTypes are the plain key types OpenSSH writes.
var knownTypes = []string{
	ssh.KeyAlgoED25519, ssh.KeyAlgoSKED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384,
	ssh.KeyAlgoECDSA521, ssh.KeyAlgoSKECDSA256, ssh.KeyAlgoRSA, typeDSA, typeMLDSA,
}

// foreignKeyFields counts the wire fields after the type name of the key
// types OpenSSH knows and x/crypto does not: enough to unwrap certificates.
var foreignKeyFields = map[string]int{
	typeDSA:   4, // p, q, g, y
	typeMLDSA: 1, // the concatenated ML-DSA-44 and Ed25519 public keys
}

// isKnownType tells whether typ is an OpenSSH key or certificate type.
func isKnownType(typ string) bool {
	plain, _ := certKeyType(typ)
	return slices.Contains(knownTypes, plain)
}

// looksLikeKeyType is a looser isKnownType for recognising key files: a type
// OpenSSH may add later is still a key that deserves a "does not parse".
func looksLikeKeyType(typ string) bool {
	return isKnownType(typ) || strings.HasPrefix(typ, "ssh-") || strings.HasPrefix(typ, "ecdsa-sha2-") ||
		strings.HasPrefix(typ, "sk-")
}

func readString(in []byte) (s, rest []byte, ok bool) {
	if len(in) < 4 {
		return nil, in, false
	}
	n := binary.BigEndian.Uint32(in)
	if uint64(n) > uint64(len(in)-4) {
		return nil, in, false
	}
	return in[4 : 4+n], in[4+n:], true
}

func appendString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

var errMalformedKey = errors.New("malformed key data")

// cleanError drops x/crypto's "ssh: " prefix: our callers add their own context.
func cleanError(err error) error {
	if msg, ok := strings.CutPrefix(err.Error(), "ssh: "); ok {
		return errors.New(msg)
	}
	return err
}

// parseWireKey parses a key or certificate in SSH wire format.
func parseWireKey(blob []byte) (publicKey, error) {
	typ, rest, ok := readString(blob)
	if !ok {
		return publicKey{}, errMalformedKey
	}
	key, err := ssh.ParsePublicKey(blob)
	if err == nil {
		pk := publicKey{typ: key.Type(), blob: blob, bits: Bits(key), key: key}
		if cert, ok := key.(*ssh.Certificate); ok {
			pk.typ, pk.blob, pk.cert = cert.Key.Type(), cert.Key.Marshal(), true
		}
		return pk, nil
	}
	plainType, isCert := certKeyType(string(typ))
	fields, foreign := foreignKeyFields[plainType]
	if !foreign {
		if !isKnownType(string(typ)) {
			return publicKey{}, fmt.Errorf("unknown key type %q", truncate(string(typ)))
		}
		return publicKey{}, cleanError(err)
	}
	if isCert {
		if _, rest, ok = readString(rest); !ok { // the certificate's nonce
			return publicKey{}, errMalformedKey
		}
	}
	start := rest
	for range fields {
		if _, rest, ok = readString(rest); !ok {
			return publicKey{}, errMalformedKey
		}
	}
	if !isCert && len(rest) != 0 {
		return publicKey{}, errMalformedKey
	}
	keyFields := start[:len(start)-len(rest)]
	pk := publicKey{typ: plainType, blob: append(appendString(nil, []byte(plainType)), keyFields...), cert: isCert}
	if plainType == typeDSA {
		p, _, _ := readString(keyFields)
		pk.bits = new(big.Int).SetBytes(p).BitLen()
	}
	return pk, nil
}

// truncate keeps text taken from a file short enough for a message.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// ParsePublicKeyLine parses one public key as found in a NAME.pub file: a
// single "TYPE BASE64 [COMMENT]" line (blank and # lines around it are
// ignored; authorized_keys options are not allowed). An RFC 4716 "SSH2
// PUBLIC KEY" block, as PuTTYgen and `ssh-keygen -e` write, is accepted too.
// A private key gives ErrPrivateKey. Certificates parse as *ssh.Certificate.
func ParsePublicKeyLine(data []byte) (ssh.PublicKey, string, error) {
	pk, err := parsePublicKeyText(data)
	if err != nil {
		return nil, "", err
	}
	if pk.key == nil {
		return nil, "", unsupportedTypeError(pk.typ)
	}
	return pk.key, pk.comment, nil
}

var utf8BOM = []byte("\xef\xbb\xbf")

// looksPrivate tells whether text (trimmed) starts like a private key file.
func looksPrivate(text []byte) bool {
	firstLine, _, _ := bytes.Cut(text, []byte("\n"))
	return bytes.HasPrefix(text, []byte("-----BEGIN ")) && bytes.Contains(firstLine, []byte("PRIVATE KEY-----")) ||
		bytes.HasPrefix(text, []byte("PuTTY-User-Key-File-")) ||
		bytes.HasPrefix(text, []byte(rsa1PrivateMagic))
}

const (
	rfc4716Begin = "---- BEGIN SSH2 PUBLIC KEY ----"
	rfc4716End   = "---- END SSH2 PUBLIC KEY ----"
)

// meaningfulLines are the lines of text that are neither blank nor # comments.
func meaningfulLines(text []byte) [][]byte {
	var lines [][]byte
	for line := range bytes.Lines(text) {
		line = bytes.TrimSpace(line)
		if len(line) > 0 && line[0] != '#' {
			lines = append(lines, line)
		}
	}
	return lines
}

func parsePublicKeyText(data []byte) (publicKey, error) {
	text := bytes.TrimSpace(bytes.TrimPrefix(data, utf8BOM))
	if looksPrivate(text) {
		return publicKey{}, ErrPrivateKey
	}
	if bytes.HasPrefix(text, []byte(rfc4716Begin)) {
		return parseRFC4716(text)
	}
	lines := meaningfulLines(text)
	switch len(lines) {
	case 0:
		return publicKey{}, errors.New("no public key found")
	case 1:
		return parseKeyLine(lines[0])
	}
	return publicKey{}, fmt.Errorf("expected one public key, found %d lines", len(lines))
}

const keyLineFormat = `expected "TYPE BASE64 [COMMENT]"`

// splitFields splits a key line where OpenSSH does: at spaces and tabs.
func splitFields(line string) []string {
	return strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
}

func parseKeyLine(line []byte) (publicKey, error) {
	fields := splitFields(string(line))
	if len(fields) < 2 {
		return publicKey{}, fmt.Errorf("not a public key line (%s)", keyLineFormat)
	}
	typ := fields[0]
	if bits, ok := rsa1PublicBits(fields); ok {
		// Recognised only to be refused: OpenSSH no longer fingerprints them.
		return publicKey{typ: typeRSA1, bits: bits, comment: strings.Join(fields[3:], " ")}, nil
	}
	if !looksLikeKeyType(typ) {
		if slices.ContainsFunc(fields[1:], isKnownType) {
			return publicKey{}, fmt.Errorf("authorized_keys options are not allowed here (%s)", keyLineFormat)
		}
		return publicKey{}, fmt.Errorf("not a public key line (%s)", keyLineFormat)
	}
	blob, err := base64.StdEncoding.DecodeString(fields[1])
	if err != nil {
		return publicKey{}, errors.New("key data is not valid base64")
	}
	pk, err := parseWireKey(blob)
	if err != nil {
		return publicKey{}, err
	}
	if blobType, _, _ := readString(blob); string(blobType) != typ {
		return publicKey{}, fmt.Errorf("key type %q does not match the key data (%q)", truncate(typ), truncate(string(blobType)))
	}
	// The comment is the rest of the line, inner spacing kept as ssh-keygen does.
	rest := strings.TrimLeft(string(line)[len(typ):], " \t")
	pk.comment = strings.Trim(rest[len(fields[1]):], " \t")
	return pk, nil
}

// parseRFC4716 reads the "SSH2 PUBLIC KEY" format of RFC 4716.
func parseRFC4716(text []byte) (publicKey, error) {
	lines := strings.Split(string(text), "\n")
	var b64 strings.Builder
	comment := ""
	for i := 1; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == rfc4716End {
			if len(meaningfulLines([]byte(strings.Join(lines[i+1:], "\n")))) > 0 {
				return publicKey{}, errors.New("expected one public key, found more after the first")
			}
			blob, err := base64.StdEncoding.DecodeString(b64.String())
			if err != nil {
				return publicKey{}, errors.New("key data is not valid base64")
			}
			pk, err := parseWireKey(blob)
			pk.comment = comment
			return pk, err
		}
		// Base64 has no colon: a line with one is a header, whose value
		// goes on over the next lines while it ends with a backslash.
		if tag, value, isHeader := strings.Cut(line, ":"); isHeader {
			for strings.HasSuffix(value, `\`) && i+1 < len(lines) {
				i++
				value = strings.TrimSuffix(value, `\`) + strings.TrimSpace(lines[i])
			}
			if strings.EqualFold(strings.TrimSpace(tag), "comment") {
				comment = strings.Trim(strings.TrimSpace(value), `"`)
			}
			continue
		}
		b64.WriteString(line)
	}
	return publicKey{}, fmt.Errorf("missing %q line", rfc4716End)
}

// SSH-1 ("rsa1") keys: refused everywhere, recognised only to say so.
const rsa1PrivateMagic = "SSH PRIVATE KEY FILE FORMAT 1.1\n"

// rsa1PublicBits recognises an SSH-1 public key line "BITS EXPONENT MODULUS [COMMENT]".
func rsa1PublicBits(fields []string) (int, bool) {
	if len(fields) < 3 {
		return 0, false
	}
	bits, err := strconv.Atoi(fields[0])
	if err != nil || bits < 256 || bits > maxRSABits || len(fields[2]) > maxRSABits/3 {
		return 0, false
	}
	_, exponentOK := new(big.Int).SetString(fields[1], 10)
	// The size is the modulus's: that tells a key from any line of numbers.
	modulus, modulusOK := new(big.Int).SetString(fields[2], 10)
	return bits, exponentOK && modulusOK && modulus.BitLen() == bits
}
