package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// defaultKeyPath is bbkey.keyFile, else the first of id_ed25519, id_ecdsa,
// id_rsa in ~/.ssh that exists.
func defaultKeyPath(ctx context.Context, env *Env) (string, error) {
	v, err := env.configValue(ctx, "bbkey.keyFile")
	if err != nil {
		return "", err
	}
	if v != "" {
		return env.absPath(v), nil
	}
	dir, err := env.sshDir()
	if err != nil {
		return "", err
	}
	p, err := sshkeys.DefaultKey(dir)
	if errors.Is(err, sshkeys.ErrNoDefaultKey) {
		return "", failure(err.Error(), "create one: git bbkey generate (or git bbkey setup to do everything)")
	}
	return p, err
}

// findKeys is sshkeys.FindKeyPairs with the next step when the directory
// cannot be read.
func findKeys(dir string) ([]sshkeys.Key, error) {
	keys, err := sshkeys.FindKeyPairs(dir)
	if err != nil {
		return nil, failuref(err, fmt.Sprintf("check that %s is a directory you can read: ls -ld %s", dir, dir))
	}
	return keys, nil
}

// readPublicKey reads PUBKEY ("-" is stdin, "" the default key's .pub) and
// refuses anything that is not one public key, a private key above all.
func readPublicKey(ctx context.Context, env *Env, arg string) (*sshkeys.PublicKeyInput, error) {
	switch arg {
	case "-":
		key, err := sshkeys.ReadPublicKeyFrom(env.Stdin, "standard input")
		return key, explainPublicKey(err)
	case "":
		priv, err := defaultKeyPath(ctx, env)
		if err != nil {
			return nil, err
		}
		key, err := sshkeys.ReadPublicKey(priv + ".pub")
		if errors.Is(err, fs.ErrNotExist) {
			return nil, failure(fmt.Sprintf("public key %s.pub is missing", priv),
				fmt.Sprintf("recreate it from the private key: ssh-keygen -y -f %s > %s.pub", priv, priv))
		}
		return key, explainPublicKey(err)
	}
	key, err := sshkeys.ReadPublicKey(env.absPath(arg))
	return key, explainPublicKey(err)
}

// explainPublicKey gives a public key that cannot be used its next step.
func explainPublicKey(err error) error {
	var readErr *sshkeys.PublicKeyReadError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sshkeys.ErrPrivateKey):
		return failure(err.Error(), "give the .pub file instead, for example: git bbkey add ~/.ssh/id_ed25519.pub")
	case errors.As(err, new(*sshkeys.NotPublicKeyError)):
		return failure(err.Error(), "give a .pub file with one line: type base64 comment")
	case errors.As(err, &readErr):
		return failure(err.Error(), "give the path of a public key file, e.g. ~/.ssh/id_ed25519.pub (see git bbkey list)")
	}
	return failuref(err)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
