package sshkeys

import (
	"fmt"

	"golang.org/x/crypto/ssh"
)

// minRSABits is the smallest RSA key Bitbucket accepts.
const minRSABits = 2048

// AcceptedByBitbucket tells whether Bitbucket accepts keys of k's type and
// size, and if not, why (a lowercase phrase for the user).
func AcceptedByBitbucket(k Key) (ok bool, reason string) {
	switch k.Type {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
		ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256:
		return true, ""
	case ssh.KeyAlgoRSA:
		if k.Bits < minRSABits {
			return false, fmt.Sprintf("rsa key of %d bits: Bitbucket needs at least %d", k.Bits, minRSABits)
		}
		return true, ""
	case typeDSA:
		return false, "dsa keys are deprecated and refused by Bitbucket"
	case typeRSA1:
		return false, "rsa1 keys are for the ssh-1 protocol, which Bitbucket and OpenSSH no longer accept"
	case "":
		return false, "the key type is unknown"
	}
	return false, fmt.Sprintf("%s keys are not supported by Bitbucket or git-bbkey", truncate(k.Type))
}

// bitbucketProblem is AcceptedByBitbucket as a Problem: DSA is
// ProblemDeprecated, any other refusal ProblemRefusedType.
func bitbucketProblem(k Key) (Problem, bool) {
	ok, reason := AcceptedByBitbucket(k)
	if ok {
		return Problem{}, false
	}
	kind := ProblemRefusedType
	if k.Type == typeDSA {
		kind = ProblemDeprecated
	}
	return Problem{Kind: kind, Path: k.path(), Reason: reason}, true
}
