package setup

import (
	"context"
	"errors"
	"time"

	"golang.org/x/crypto/ssh/agent"

	"github.com/git-bbkey/git-bbkey/internal/sshagent"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// Passphrases asks a person for passphrases; a nil Passphrases means
// nobody can be asked. Errors (an interrupt) end the step as they are.
type Passphrases interface {
	// NewPassphrase asks for a new key's passphrase, twice.
	NewPassphrase(ctx context.Context) ([]byte, error)
	// Passphrase asks for an existing key's passphrase with sshkeys'
	// question ("Enter passphrase for …: ").
	Passphrase(ctx context.Context, question string) ([]byte, error)
	// Say tells the person something between questions.
	Say(text string)
}

// UnlockKey opens the private key at path to sign with it: with the
// passphrase given (--passphrase-file, named passFile), by the agent when
// it holds this very key, or by asking (ask nil: nobody to ask).
func UnlockKey(ctx context.Context, path string, pass []byte, passFile string, ag sshkeys.Agent, ask Passphrases) (*sshkeys.Unlocked, error) {
	opts := sshkeys.UnlockOptions{Passphrase: pass, PassphraseFile: passFile, Agent: ag}
	if ask != nil {
		opts.Ask = func(q string) ([]byte, error) { return ask.Passphrase(ctx, q) }
		opts.Say = ask.Say
	}
	return sshkeys.Unlock(path, opts)
}

// addToAgent is step 7: the key into the running ssh-agent, unless it
// holds it already.
func (w *run) addToAgent(ctx context.Context, key *Key, unlocked *sshkeys.Unlocked) error {
	ag, err := w.agent.Get()
	if err != nil {
		var dial *sshagent.DialError
		if errors.As(err, &dial) && !errors.Is(err, sshagent.ErrNoAgent) {
			return &AgentError{Unreachable: dial.Addr, Err: err}
		}
		return &AgentError{NoAgent: true, Err: err}
	}
	if sshkeys.AgentSigner(w.agent, key.Public) != nil {
		w.r.Agent = AgentPresent
		return nil
	}
	raw, err := unlocked.AgentKey()
	if err != nil {
		return &AgentError{Err: err}
	}
	w.progress(AddingToAgent, "")
	added := agent.AddedKey{PrivateKey: raw, Comment: key.Comment, LifetimeSecs: uint32(w.o.AgentLifetime / time.Second)}
	if err := ag.Add(added); err != nil {
		return &AgentError{Err: err}
	}
	w.r.Agent, w.r.AgentLifetime = AgentAdded, w.o.AgentLifetime
	return nil
}
