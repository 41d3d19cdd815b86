package bbsandbox

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Messages Bitbucket gives when a key is refused on upload.
const (
	msgKeyInvalid      = "The SSH key is invalid. Please make sure it is a valid RSA, DSA, ECDSA or Ed25519 public key in OpenSSH format."
	msgKeyRestricted   = "Your SSH key does not meet the key type or key length requirements set by your admin."
	msgKeyIsAccessKey  = "This SSH key is already used to access a repository or project."
	msgKeyIsYours      = "This SSH key has already been added to your account."
	msgKeyIsOtherUsers = "This SSH key has already been added to another user's account."
	msgKeyIsUserKey    = "This SSH key is already associated with a user account and cannot be used as an access key."
)

// KeyRecord is a registered SSH user key, as the sandbox stores it.
type KeyRecord struct {
	ID                int
	User              string // canonical user name of the owner
	Text              string // as uploaded (trimmed): "type base64 [comment]"
	Label             string // as given, else the key's comment
	Type              string // OpenSSH type name, e.g. "ssh-ed25519"
	AlgorithmType     string // Bitbucket's name: RSA, DSA, ECDSA, ED25519, ECDSA_SK, ED25519_SK
	BitLength         int
	Fingerprint       string // "SHA256:" + unpadded base64, as ssh.FingerprintSHA256
	ExpiryDays        int    // 0 = none
	CreatedDate       time.Time
	LastAuthenticated time.Time // zero until the key logs in over SSH

	blob string // ssh wire format of the public key: identity for comparisons
}

// Grant is one target of an access key.
type Grant struct {
	Project    string // canonical project key
	Repo       string // slug; "" for a project grant
	Permission string // REPO_READ, REPO_WRITE, PROJECT_READ or PROJECT_WRITE
}

// AccessKeyRecord is a registered SSH access key with its grants.
type AccessKeyRecord struct {
	KeyRecord // User is empty
	Grants    []Grant
}

// parsedKey is the outcome of validating an uploaded key text.
type parsedKey struct {
	text, label, typ, algo, fingerprint, blob string
	bits                                      int
	pub                                       ssh.PublicKey
}

var (
	errKeyInvalid    = errors.New(msgKeyInvalid)
	errKeyRestricted = errors.New(msgKeyRestricted)
)

// parseKeyText validates an uploaded key the way Bitbucket does: one
// OpenSSH public key line without options; RSA below 2048 bits and DSA
// are refused by the (default) admin restrictions, certificates and
// anything else are invalid.
func parseKeyText(text string) (*parsedKey, error) {
	text = strings.TrimSpace(text)
	if text == "" || strings.Contains(text, "\n") || strings.HasPrefix(text, "-----") {
		return nil, errKeyInvalid
	}
	pub, comment, options, rest, err := ssh.ParseAuthorizedKey([]byte(text))
	if err != nil && isDSAText(text) {
		// x/crypto no longer parses ssh-dss; Bitbucket's default
		// restrictions refuse DSA, so answer as it does.
		return nil, errKeyRestricted
	}
	if err != nil || len(options) > 0 || len(strings.TrimSpace(string(rest))) > 0 {
		return nil, errKeyInvalid
	}
	pk := &parsedKey{
		text:        text,
		label:       comment,
		typ:         pub.Type(),
		fingerprint: ssh.FingerprintSHA256(pub),
		blob:        string(pub.Marshal()),
		pub:         pub,
	}
	switch pub.Type() {
	case ssh.KeyAlgoRSA:
		pk.algo = "RSA"
		if c, ok := pub.(ssh.CryptoPublicKey); ok {
			if r, ok := c.CryptoPublicKey().(*rsa.PublicKey); ok {
				pk.bits = r.N.BitLen()
			}
		}
		if pk.bits < 2048 {
			return nil, errKeyRestricted
		}
	case ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		pk.algo = "ECDSA"
		if c, ok := pub.(ssh.CryptoPublicKey); ok {
			if e, ok := c.CryptoPublicKey().(*ecdsa.PublicKey); ok {
				pk.bits = e.Curve.Params().BitSize
			}
		}
	case ssh.KeyAlgoED25519:
		pk.algo, pk.bits = "ED25519", 256
	case ssh.KeyAlgoSKED25519:
		pk.algo, pk.bits = "ED25519_SK", 256
	case ssh.KeyAlgoSKECDSA256:
		pk.algo, pk.bits = "ECDSA_SK", 256
	default: // certificates, RSA1 never parse, unknown algorithms
		return nil, errKeyInvalid
	}
	return pk, nil
}

func (pk *parsedKey) record(id int, label string, expiryDays int, now time.Time) KeyRecord {
	if label == "" {
		label = pk.label
	}
	return KeyRecord{
		ID: id, Text: pk.text, Label: label, Type: pk.typ, AlgorithmType: pk.algo,
		BitLength: pk.bits, Fingerprint: pk.fingerprint, ExpiryDays: expiryDays,
		CreatedDate: now, blob: pk.blob,
	}
}

// isDSAText reports whether text is a well-formed "ssh-dss BASE64" line.
func isDSAText(text string) bool {
	f := strings.Fields(text)
	if len(f) < 2 || f[0] != "ssh-dss" {
		return false
	}
	blob, err := base64.StdEncoding.DecodeString(f[1])
	if err != nil || len(blob) < 4+7 {
		return false
	}
	n := binary.BigEndian.Uint32(blob)
	return n == 7 && string(blob[4:11]) == "ssh-dss"
}
