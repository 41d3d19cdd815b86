package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/git-bbkey/git-bbkey/internal/prompt"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// loadSigner opens the private key at path for signing. An encrypted key is
// unlocked, in order, with --passphrase-file, by the ssh-agent if it holds
// this very key, or with a passphrase asked on the terminal.
func loadSigner(ctx context.Context, env *Env, path, passphraseFile string) (ssh.Signer, error) {
	signer, _, err := unlockKey(ctx, env, path, passphraseFile)
	return signer, err
}

// unlockKey is loadSigner that also returns the passphrase that unlocked
// the key (nil when it needed none, or the agent signs), so that a caller
// that needs the key again does not ask twice.
func unlockKey(ctx context.Context, env *Env, path, passphraseFile string) (ssh.Signer, []byte, error) {
	var pass []byte
	if passphraseFile != "" {
		var err error
		if pass, err = prompt.ReadPassphraseFile(env.absPath(passphraseFile)); err != nil {
			return nil, nil, usageError(err.Error(), "give a readable file whose first line is the passphrase (--passphrase-file FILE)")
		}
	}
	signer, err := sshkeys.LoadSigner(path, pass)
	if err == nil {
		return signer, pass, nil
	}
	if errors.Is(err, sshkeys.ErrUnsupportedKey) {
		return nil, nil, unsupportedKey(path, err)
	}
	var missing *ssh.PassphraseMissingError
	if !errors.As(err, &missing) {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, failure(fmt.Sprintf("private key %s does not exist", path),
				"create one with git bbkey generate, or name another with --key PATH")
		}
		if passphraseFile != "" {
			return nil, nil, failure(fmt.Sprintf("cannot unlock %s with the passphrase from %s", path, passphraseFile),
				"check the file's first line; ssh-keygen -y -f "+path+" asks for the passphrase and shows whether it is right")
		}
		return nil, nil, failuref(err)
	}
	pub := missing.PublicKey
	if pub == nil {
		if k, _, perr := readPub(path + ".pub"); perr == nil {
			pub = k
		}
	}
	if pub != nil {
		if s := agentSigner(env, pub); s != nil {
			return s, nil, nil
		}
	}
	if !env.Prompter.CanPrompt() {
		return nil, nil, failure(fmt.Sprintf("%s is encrypted, the ssh-agent does not hold it, and there is no terminal to ask for its passphrase", path),
			"pass --passphrase-file FILE, or load it into your agent first: ssh-add "+path)
	}
	for tries := 0; tries < 3; tries++ {
		pass, err := env.Prompter.Secret(ctx, fmt.Sprintf("Enter passphrase for %s: ", path))
		if err != nil {
			return nil, nil, failuref(err)
		}
		signer, err := sshkeys.LoadSigner(path, pass)
		if err == nil {
			return signer, pass, nil
		}
		if errors.Is(err, sshkeys.ErrUnsupportedKey) {
			return nil, nil, unsupportedKey(path, err)
		}
		env.Prompter.Say("Bad passphrase, try again.")
	}
	return nil, nil, failure(fmt.Sprintf("wrong passphrase for %s", path))
}

// unsupportedKey explains a key OpenSSH takes but git-bbkey cannot sign
// with (encrypted PKCS#8, security keys), and how to convert it.
func unsupportedKey(path string, err error) error {
	return failure(fmt.Sprintf("git-bbkey cannot use %s: %v", path, err),
		"convert it to OpenSSH's own format (keeps the key): ssh-keygen -p -f "+path)
}

func readPub(path string) (ssh.PublicKey, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	return sshkeys.ParsePublicKeyLine(data)
}

// agentSigner returns the running ssh-agent's signer for exactly pub, or nil.
func agentSigner(env *Env, pub ssh.PublicKey) ssh.Signer {
	ag := agentClient(env)
	if ag == nil {
		return nil
	}
	signers, err := ag.Signers()
	if err != nil {
		return nil
	}
	for _, s := range signers {
		if string(s.PublicKey().Marshal()) == string(pub.Marshal()) {
			return s
		}
	}
	return nil
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
