package register_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/register"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

func TestServerOnly(t *testing.T) {
	a, b := newKey(t, "a@laptop"), newKey(t, "b@ci")
	text := func(k register.Key) string {
		return strings.TrimSpace(string(sshkeys.MarshalPublicKey(k.Public, k.Comment)))
	}
	got := register.ServerOnly([]bitbucket.SSHKey{
		{ID: 7, Text: text(a), Label: "laptop"},
		{ID: 3, Text: text(b)},                 // no label: the key's comment
		{ID: 9, Text: text(a), Label: "again"}, // a second registration of a
		{ID: 4, Text: "not a key", Fingerprint: "SHA256:abc", Label: "odd"},
	})
	if len(got) != 3 {
		t.Fatalf("ServerOnly = %+v, want 3 keys", got)
	}
	for i, want := range []struct {
		fp, comment, typ string
		ids              []int
	}{
		{a.Fingerprint(), "laptop", "ssh-ed25519", []int{7, 9}},
		{b.Fingerprint(), "b@ci", "ssh-ed25519", []int{3}},
		{"SHA256:abc", "odd", "", []int{4}},
	} {
		k := got[i]
		if k.Key.Fingerprint != want.fp || k.Key.Comment != want.comment || k.Key.Type != want.typ ||
			!slices.Equal(k.IDs, want.ids) || k.Key.Problems == nil || len(k.Key.Problems) != 0 {
			t.Errorf("key %d = %+v, want %+v", i, k, want)
		}
	}
	if got[0].Key.Bits != 256 || got[0].Key.PublicKey == nil || got[2].Key.PublicKey != nil {
		t.Errorf("bits and public keys: %+v", got)
	}
}
