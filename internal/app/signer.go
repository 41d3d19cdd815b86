package app

import (
	"context"
	"errors"
	"net"
	"runtime"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

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

// lazyAgent connects to the ssh-agent only when a key needs it.
type lazyAgent struct{ env *Env }

func (a lazyAgent) Signers() ([]ssh.Signer, error) {
	ag := agentClient(a.env)
	if ag == nil {
		return nil, nil
	}
	return ag.Signers()
}

func readPub(path string) (ssh.PublicKey, string, error) {
	return sshkeys.ReadPublicKeyFile(path)
}

// agentSigner returns the running ssh-agent's signer for exactly pub, or nil.
func agentSigner(env *Env, pub ssh.PublicKey) ssh.Signer {
	return sshkeys.AgentSigner(lazyAgent{env}, pub)
}

// agentClient connects to $SSH_AUTH_SOCK; nil when there is no agent.
func agentClient(env *Env) agent.ExtendedAgent {
	sock := env.Getenv("SSH_AUTH_SOCK")
	if sock == "" || runtime.GOOS == "windows" {
		return nil
	}
	conn, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		return nil
	}
	// The agent signs during the whole run; a hung agent must still not hang us.
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	return agent.NewClient(conn)
}
