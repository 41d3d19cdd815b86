package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
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
	for _, name := range sshkeys.DefaultKeyNames {
		p := filepath.Join(dir, name)
		if exists(p) || exists(p+".pub") {
			return p, nil
		}
	}
	return "", failure(fmt.Sprintf("no SSH key in %s", dir),
		"create one: git bbkey generate (or git bbkey setup to do everything)")
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

// publicKeyInput is a public key read from a file or stdin.
type publicKeyInput struct {
	Source  string
	Key     ssh.PublicKey
	Comment string
}

// Text is the "type base64 comment" line Bitbucket takes.
func (p *publicKeyInput) Text() string {
	return strings.TrimSpace(string(sshkeys.MarshalPublicKey(p.Key, p.Comment)))
}

// readPublicKey reads PUBKEY ("-" is stdin, "" the default key's .pub) and
// refuses anything that is not one public key, a private key above all.
func readPublicKey(ctx context.Context, env *Env, arg string) (*publicKeyInput, error) {
	var data []byte
	var source string
	switch arg {
	case "-":
		source = "standard input"
		b, err := readAllLimited(env.Stdin, 64<<10)
		if err != nil {
			return nil, failuref(err)
		}
		data = b
	default:
		path := arg
		if path == "" {
			priv, err := defaultKeyPath(ctx, env)
			if err != nil {
				return nil, err
			}
			path = priv + ".pub"
		} else {
			path = env.absPath(path)
		}
		source = path
		b, err := safefile.ReadSmall(path, safefile.MaxSmallFile)
		if err != nil {
			if os.IsNotExist(err) && arg == "" {
				return nil, failure(fmt.Sprintf("public key %s is missing", path),
					fmt.Sprintf("recreate it from the private key: ssh-keygen -y -f %s > %s", strings.TrimSuffix(path, ".pub"), path))
			}
			msg := fmt.Sprintf("cannot read %s: %v", path, unwrapPathError(err))
			var tooLarge *safefile.TooLargeError
			if errors.Is(err, safefile.ErrNotRegular) || errors.As(err, &tooLarge) {
				msg = err.Error()
			}
			return nil, failure(msg, "give the path of a public key file, e.g. ~/.ssh/id_ed25519.pub (see git bbkey list)")
		}
		data = b
	}
	pub, comment, err := sshkeys.ParsePublicKeyLine(data)
	if err != nil {
		if errors.Is(err, sshkeys.ErrPrivateKey) {
			return nil, failure(fmt.Sprintf("%s is a private key; only the public key is ever sent", source),
				"give the .pub file instead, for example: git bbkey add ~/.ssh/id_ed25519.pub")
		}
		return nil, failure(fmt.Sprintf("%s is not an SSH public key: %v", source, err),
			"give a .pub file with one line: type base64 comment")
	}
	return &publicKeyInput{Source: source, Key: pub, Comment: comment}, nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
