package verify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// NoIdentityError: no key was given, and none of the identity files ssh
// would offer the host exists.
type NoIdentityError struct {
	Host  string   // as the URL names it
	Files []string // the identity files ssh would try, in order
}

func (e *NoIdentityError) Error() string {
	if len(e.Files) == 0 {
		return fmt.Sprintf("ssh has no identity file to offer %s", e.Host)
	}
	return fmt.Sprintf("none of the identity files ssh would offer %s exists (%s)", e.Host, strings.Join(e.Files, ", "))
}

// keyring opens each private key once per run, in the order first asked
// (a prompt at a time).
type keyring struct {
	unlock func(ctx context.Context, path string) (*sshkeys.Unlocked, error)
	mu     sync.Mutex
	keys   map[string]*key
	prompt sync.Mutex // one key opened (or host key asked about) at a time: prompts do not mix
}

type key struct {
	once   sync.Once
	signer ssh.Signer
	fp     string // SHA256 fingerprint; from NAME.pub when the key failed
	err    error
}

// get opens path: OpenSSH's loading rules first (a key ssh refuses proves
// nothing, whatever x/crypto makes of it), then the unlock function.
func (k *keyring) get(ctx context.Context, path string) *key {
	k.mu.Lock()
	if k.keys == nil {
		k.keys = map[string]*key{}
	}
	e := k.keys[path]
	if e == nil {
		e = &key{}
		k.keys[path] = e
	}
	k.mu.Unlock()
	e.once.Do(func() {
		k.prompt.Lock()
		defer k.prompt.Unlock()
		var notLoadable *sshkeys.NotLoadableError
		if err := sshkeys.CheckLoadable(path); errors.As(err, &notLoadable) {
			e.err = err
		} else if k.unlock == nil {
			e.err = errors.New("no way to open the key")
		} else {
			var u *sshkeys.Unlocked
			if u, e.err = k.unlock(ctx, path); e.err == nil {
				e.signer = u.Signer
			}
		}
		if e.signer != nil {
			e.fp = sshkeys.Fingerprint(e.signer.PublicKey())
		} else if pub, _, err := sshkeys.ReadPublicKeyFile(path + ".pub"); err == nil {
			e.fp = sshkeys.Fingerprint(pub)
		}
	})
	return e
}

// add puts a key opened elsewhere (setup's, rotate's) in the ring.
func (k *keyring) add(path string, u *sshkeys.Unlocked) {
	e := &key{signer: u.Signer, fp: sshkeys.Fingerprint(u.Signer.PublicKey())}
	e.once.Do(func() {})
	k.mu.Lock()
	if k.keys == nil {
		k.keys = map[string]*key{}
	}
	k.keys[path] = e
	k.mu.Unlock()
}

// chooseKey picks the key t is checked with: the one given, else the
// identity ssh would offer the host. GitKey notes the identity git's ssh
// offers when the one given differs.
func (r *run) chooseKey(t *target) {
	s := t.settings
	gitKey := ""
	if f, ok := s.OfferedIdentity(); ok {
		gitKey = filePath(f)
	}
	switch {
	case r.opts.Key != "":
		t.key = r.opts.Key
		if gitKey != "" && filepath.Clean(gitKey) != filepath.Clean(t.key) {
			t.res.GitKey = gitKey
			t.res.Notes = append(t.res.Notes, Note{Kind: NoteGitKeyDiffers})
		}
	case gitKey != "":
		t.key = gitKey
	case len(s.IdentityFiles) == 0 && s.Variant != openssh.VariantSSH:
		// A program other than OpenSSH keeps its keys elsewhere (PuTTY's
		// agent, a session): the default key is the one to check.
		t.key = r.defaultKey()
	}
	if t.key == "" {
		var files []string
		for _, f := range s.IdentityFiles {
			files = append(files, filePath(f))
		}
		t.decide(StatusKeyError, &NoIdentityError{Host: t.url.Host, Files: files})
	}
	t.res.Key = t.key
}

// defaultKey is the first of ~/.ssh/id_ed25519, id_ecdsa, id_rsa that
// exists ("" when none does).
func (r *run) defaultKey() string {
	for _, n := range sshkeys.DefaultKeyNames {
		p := filepath.Join(r.d.Home, ".ssh", n)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// filePath is where git-bbkey reads a file ssh names: as $HOME has it
// (the contract), else where ssh reads it.
func filePath(f openssh.File) string {
	if f.HomePath != "" {
		return f.HomePath
	}
	return f.Path
}

// openHopKeys opens the identity files of every jump host on the way to
// the targets dialled through ProxyJump, before anything is dialled: a
// passphrase asked then is asked with no target's time running (and no
// jump host waiting for it). What cannot be resolved here is left to the
// dial, which reports it.
func (r *run) openHopKeys(ctx context.Context, settings []*openssh.Settings) {
	seen := map[*openssh.Settings]bool{}
	var wg sync.WaitGroup
	for _, s := range settings {
		if s == nil || seen[s] || s.ProxyJump == "" || s.ProxyCommand != "" {
			continue
		}
		seen[s] = true
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The hops, last first, as sshdial reaches them (Resolver.Hop
			// stops a chain that does not end).
			for s.ProxyJump != "" && s.ProxyCommand == "" && ctx.Err() == nil {
				hop, err := r.resolver.Hop(ctx, s)
				if err != nil {
					return
				}
				for _, f := range hop.IdentityFiles {
					if p := filePath(f); fileExists(p) {
						r.keys.get(ctx, p)
					}
				}
				s = hop
			}
		}()
	}
	wg.Wait()
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// hopSigners are the keys ssh offers a jump host: the agent's (only those
// of its identity files with IdentitiesOnly, none with IdentityAgent
// none), then its identity files that exist and open (opened already by
// openHopKeys, as a rule).
func (r *run) hopSigners(ctx context.Context, hop *openssh.Settings) ([]ssh.Signer, error) {
	var files []ssh.Signer
	for _, f := range hop.IdentityFiles {
		p := filePath(f)
		if !fileExists(p) {
			continue
		}
		if k := r.keys.get(ctx, p); k.signer != nil {
			files = append(files, k.signer)
		}
	}
	var agentKeys []ssh.Signer
	if r.d.Agent != nil && hop.IdentityAgent != "none" {
		all, _ := r.d.Agent.Signers()
		for _, a := range all {
			if !hop.IdentitiesOnly || hasKey(files, a.PublicKey()) {
				agentKeys = append(agentKeys, a)
			}
		}
	}
	out := append(agentKeys, files...)
	if len(out) == 0 {
		return nil, fmt.Errorf("no key to offer the jump host %s", hop.Target.String())
	}
	return out, nil
}

func hasKey(signers []ssh.Signer, pub ssh.PublicKey) bool {
	for _, s := range signers {
		if string(s.PublicKey().Marshal()) == string(pub.Marshal()) {
			return true
		}
	}
	return false
}
