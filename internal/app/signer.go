package app

import (
	"context"
	"errors"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/sshagent"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// loadSigner opens the private key at path for signing. An encrypted key is
// unlocked, in order, with --passphrase-file, by the ssh-agent if it holds
// this very key, or with a passphrase asked on the terminal.
func loadSigner(ctx context.Context, env *Env, path, passphraseFile string) (ssh.Signer, error) {
	u, err := unlockKey(ctx, env, path, passphraseFile)
	if err != nil {
		return nil, err
	}
	return u.Signer, nil
}

// unlockKey is loadSigner keeping the unlocked key, so that a caller that
// needs it again (setup --agent) does not ask twice. Its errors come
// explained (an *Error), as verify reports them per target.
func unlockKey(ctx context.Context, env *Env, path, passphraseFile string) (*sshkeys.Unlocked, error) {
	opts := sshkeys.UnlockOptions{Agent: lazyAgent{env}, PassphraseFile: passphraseFile}
	if passphraseFile != "" {
		pass, err := readPassphraseFile(env, passphraseFile)
		if err != nil {
			return nil, explain(err)
		}
		opts.Passphrase = pass
	}
	if env.Prompter.CanPrompt() {
		opts.Ask = func(question string) ([]byte, error) { return env.Prompter.Secret(ctx, question) }
		opts.Say = func(text string) { env.Prompter.Say(text) }
	}
	u, err := sshkeys.Unlock(path, opts)
	if err != nil {
		return nil, explain(err)
	}
	return u, nil
}

// checkLoadable is sshkeys.CheckLoadable's verdict as an explained error
// ("OpenSSH will not load this file: …"); nil when OpenSSH would load the
// file, and for a file that cannot be read (loadSigner says why).
func checkLoadable(path string) error {
	var notLoadable *sshkeys.NotLoadableError
	if err := sshkeys.CheckLoadable(path); errors.As(err, &notLoadable) {
		return explain(err)
	}
	return nil
}

// lazyAgent is the run's ssh-agent (connected when a key first needs it).
type lazyAgent struct{ env *Env }

func (a lazyAgent) Signers() ([]ssh.Signer, error) { return a.env.sshAgent().Signers() }

// sshAgent is the run's agent, shared by copies of the Env and closed when
// Main ends; outside Main, one for the call.
func (e *Env) sshAgent() *sshagent.Lazy {
	if e.agent == nil {
		return sshagent.NewLazy(sshagent.System(e.Getenv))
	}
	return e.agent
}

func readPub(path string) (ssh.PublicKey, string, error) {
	return sshkeys.ReadPublicKeyFile(path)
}
