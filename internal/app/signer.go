package app

import (
	"context"

	"github.com/git-bbkey/git-bbkey/internal/sshagent"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// unlockKey opens the private key at path for signing. An encrypted key is
// unlocked, in order, with --passphrase-file, by the ssh-agent if it holds
// this very key, or with a passphrase asked on the terminal. Its errors come
// explained (an *Error), as verify reports them per target.
func unlockKey(ctx context.Context, env *Env, path, passphraseFile string) (*sshkeys.Unlocked, error) {
	opts := sshkeys.UnlockOptions{Agent: env.sshAgent(), PassphraseFile: passphraseFile}
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

// sshAgent is the run's agent, shared by copies of the Env and closed when
// Main ends; outside Main, one for the call.
func (e *Env) sshAgent() *sshagent.Lazy {
	if e.agent == nil {
		return sshagent.NewLazy(sshagent.System(e.Getenv))
	}
	return e.agent
}
