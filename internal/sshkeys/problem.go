package sshkeys

import (
	"fmt"
	"io/fs"
	"strings"
)

// ProblemKind says what is wrong with a key found on disk. Callers decide
// by the kind, never by the text.
type ProblemKind int

const (
	// ProblemUnreadable: the file (Path) could not be read (Err).
	ProblemUnreadable ProblemKind = iota + 1
	// ProblemPrivateUnparsable: the private key file (Path) does not parse (Err).
	ProblemPrivateUnparsable
	// ProblemPublicUnparsable: the public key file (Path) does not parse (Err).
	ProblemPublicUnparsable
	// ProblemCertificateUnparsable: the certificate (Path) does not parse (Err).
	ProblemCertificateUnparsable
	// ProblemPublicMismatch: the public key file (Path) belongs to another
	// key than the private key beside it.
	ProblemPublicMismatch
	// ProblemLooseMode: the private key file (Path) has group or other
	// permission bits (Mode), so ssh refuses it.
	ProblemLooseMode
	// ProblemMissingPrivate: a public key (Path is the missing private key's
	// path) without its private half.
	ProblemMissingPrivate
	// ProblemMissingPublic: a private key without NAME.pub (Path is the
	// missing .pub's path).
	ProblemMissingPublic
	// ProblemRefusedType: Bitbucket does not accept the key's type or size
	// (Reason says why).
	ProblemRefusedType
	// ProblemDeprecated: a DSA key, deprecated by OpenSSH and refused by
	// Bitbucket (Reason says so).
	ProblemDeprecated
	// ProblemSecurityKey: a security-key (FIDO) private key, which only ssh
	// with the token can use: git-bbkey cannot sign with it.
	ProblemSecurityKey
	// ProblemCertificateMismatch: the certificate beside the key (Path) is
	// for another key.
	ProblemCertificateMismatch
)

// Problem is one thing wrong with a Key. String is the lowercase phrase
// shown to people (and in list --json); Kind is what code looks at.
type Problem struct {
	Kind   ProblemKind
	Path   string      // the file concerned (see the kinds)
	Mode   fs.FileMode // ProblemLooseMode: the file's permission bits
	Reason string      // ProblemRefusedType, ProblemDeprecated: why
	Err    error       // the Unreadable and Unparsable kinds: the cause
}

// IsParseError tells whether the problem is a file that cannot be read or
// parsed at all (as opposed to a key that parsed and has a flaw).
func (p Problem) IsParseError() bool {
	switch p.Kind {
	case ProblemUnreadable, ProblemPrivateUnparsable, ProblemPublicUnparsable, ProblemCertificateUnparsable:
		return true
	}
	return false
}

func (p Problem) String() string {
	switch p.Kind {
	case ProblemUnreadable:
		half := "private"
		if strings.HasSuffix(p.Path, ".pub") {
			half = "public"
		}
		return fmt.Sprintf("%s key file %s does not parse: cannot read it: %v", half, p.Path, p.Err)
	case ProblemPrivateUnparsable:
		return fmt.Sprintf("private key file %s does not parse: %v", p.Path, p.Err)
	case ProblemPublicUnparsable:
		return fmt.Sprintf("public key file %s does not parse: %v", p.Path, p.Err)
	case ProblemCertificateUnparsable:
		return fmt.Sprintf("certificate %s does not parse: %v", p.Path, p.Err)
	case ProblemPublicMismatch:
		return fmt.Sprintf("public key does not match private key (%s belongs to another key)", p.Path)
	case ProblemLooseMode:
		how := "readable"
		if p.Mode&0o044 == 0 {
			how = "accessible"
		}
		return fmt.Sprintf("private key is %s by group or others: ssh refuses it (mode %04o; chmod 600 %s)", how, p.Mode, p.Path)
	case ProblemMissingPrivate:
		return fmt.Sprintf("private key file %s is missing", p.Path)
	case ProblemMissingPublic:
		return fmt.Sprintf("public key file %s is missing", p.Path)
	case ProblemRefusedType, ProblemDeprecated:
		return p.Reason
	case ProblemSecurityKey:
		return "security-key (fido) private key: only ssh with the token can use it, git-bbkey cannot sign with it"
	case ProblemCertificateMismatch:
		return fmt.Sprintf("certificate %s is for another key", p.Path)
	}
	return fmt.Sprintf("problem %d with %s", int(p.Kind), p.Path)
}

// HasProblem tells whether k has a problem of one of the kinds.
func (k Key) HasProblem(kinds ...ProblemKind) bool {
	for _, p := range k.Problems {
		for _, kind := range kinds {
			if p.Kind == kind {
				return true
			}
		}
	}
	return false
}
