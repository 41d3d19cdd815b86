package register

import (
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// ServerOnlyKey is a key registered as the user's SSH key that has no file
// on this machine: one per key, with every id it is registered under.
type ServerOnlyKey struct {
	// Key has the Fingerprint; Type, Bits and PublicKey when Bitbucket's
	// text of it parses; Comment is its label there, else the key's own
	// comment. Problems is empty.
	Key sshkeys.Key
	IDs []int // in the server's order
}

// ServerOnly groups the user's keys that match no local file (the others
// of Registered) by key, in the order the server listed them.
func ServerOnly(keys []bitbucket.SSHKey) []ServerOnlyKey {
	var out []ServerOnlyKey
	index := map[string]int{}
	for _, k := range keys {
		fp := Fingerprint(k)
		if i, seen := index[fp]; seen {
			out[i].IDs = append(out[i].IDs, k.ID)
			continue
		}
		sk := sshkeys.Key{Fingerprint: fp, Comment: k.Label, Problems: []sshkeys.Problem{}}
		if pub, comment, err := sshkeys.ParsePublicKeyLine([]byte(k.Text)); err == nil {
			sk.Type, sk.Bits, sk.PublicKey = pub.Type(), sshkeys.Bits(pub), pub
			if sk.Comment == "" {
				sk.Comment = comment
			}
		}
		index[fp] = len(out)
		out = append(out, ServerOnlyKey{Key: sk, IDs: []int{k.ID}})
	}
	return out
}
