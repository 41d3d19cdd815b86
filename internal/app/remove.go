package app

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
)

type removeOptions struct {
	Key    string
	Yes    bool
	Server string
	JSON   bool
}

func yesFlag(usage string) cli.Flag {
	return &cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: usage}
}

func removeCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "remove",
		Usage:     "delete your SSH user key from Bitbucket",
		UsageText: "git bbkey remove [PUBKEY | FINGERPRINT | ID] [--yes] [--server URL] [--json]",
		Description: "Deletes your matching SSH user key from Bitbucket: give its .pub file, its SHA256 fingerprint or " +
			"its Bitbucket id (default: the .pub of your default key). Asks on a terminal; otherwise needs --yes. " +
			"Local key files are not touched.",
		Flags: []cli.Flag{yesFlag("delete without asking"), serverFlag(), jsonFlag()},
		Action: func(c *cli.Context) error {
			return runRemove(c.Context, env, removeOptions{Key: c.Args().First(), Yes: c.Bool("yes"), Server: c.String("server"), JSON: c.Bool("json")})
		},
	}
}

var fingerprintPattern = regexp.MustCompile(`^SHA256:[A-Za-z0-9+/]{43}=?$`)

// keyMatcher finds the registered key the argument names.
func keyMatcher(ctx context.Context, env *Env, arg string) (func(bitbucket.SSHKey) bool, string, error) {
	if id, err := strconv.Atoi(arg); err == nil && id > 0 {
		return func(k bitbucket.SSHKey) bool { return k.ID == id }, fmt.Sprintf("id %d", id), nil
	}
	if fingerprintPattern.MatchString(arg) {
		want := bitbucket.NormalizeFingerprint(arg)
		return func(k bitbucket.SSHKey) bool { return registeredFingerprint(k) == want }, want, nil
	}
	if strings.HasPrefix(arg, "SHA256:") || strings.HasPrefix(arg, "MD5:") {
		return nil, "", usageError(fmt.Sprintf("%q is not a SHA256 fingerprint", arg),
			"copy it from git bbkey list --server (SHA256: followed by 43 characters), or give the key's id or .pub file")
	}
	key, err := readPublicKey(ctx, env, arg)
	if err != nil {
		return nil, "", err
	}
	return func(k bitbucket.SSHKey) bool { return sameKey(k.Text, key.Key) }, fingerprintOf(key.Key), nil
}

// registeredFingerprint is a server key's SHA256 fingerprint, computed from
// its text when possible (the server's field lacks the prefix).
func registeredFingerprint(k bitbucket.SSHKey) string {
	if pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.Text)); err == nil {
		return ssh.FingerprintSHA256(pub)
	}
	return bitbucket.NormalizeFingerprint(k.Fingerprint)
}

func fingerprintOf(pub ssh.PublicKey) string { return ssh.FingerprintSHA256(pub) }

type removeResult struct {
	Status      string `json:"status"` // removed
	Kind        string `json:"kind"`
	ID          int    `json:"id"`
	Fingerprint string `json:"fingerprint"`
	Label       string `json:"label"`
	Message     string `json:"message"`
}

func runRemove(ctx context.Context, env *Env, opts removeOptions) error {
	if !opts.Yes && !env.Prompter.CanPrompt() {
		return usageError("removing a key needs a confirmation and there is no terminal to ask on",
			"pass --yes to remove it without asking")
	}
	match, what, err := keyMatcher(ctx, env, opts.Key)
	if err != nil {
		return err
	}
	s, err := openSession(ctx, env, opts.Server, true)
	if err != nil {
		return err
	}
	keys, err := s.ListUserKeys(ctx, "")
	s.settle(ctx, err)
	if err != nil {
		return s.apiError(err)
	}
	var found []bitbucket.SSHKey
	for _, k := range keys {
		if match(k) {
			found = append(found, k)
		}
	}
	if len(found) == 0 {
		return failure(fmt.Sprintf("no SSH key of yours on %s matches %s", s.base, what),
			"see what is registered: git bbkey list --server "+s.base)
	}
	var results []removeResult
	for _, k := range found {
		fp := registeredFingerprint(k)
		if !opts.Yes {
			ok, err := env.Prompter.Confirm(ctx, fmt.Sprintf("Delete SSH key %q (%s, id %d) from %s? (y/n)", k.Label, fp, k.ID, s.base))
			if err != nil {
				return failuref(err)
			}
			if !ok {
				return failure("nothing was removed")
			}
		}
		if err := s.DeleteUserKey(ctx, k.ID); err != nil {
			return s.apiError(err)
		}
		results = append(results, removeResult{Status: "removed", Kind: "user", ID: k.ID, Fingerprint: fp, Label: k.Label,
			Message: fmt.Sprintf("removed %s (id %d) from %s", fp, k.ID, s.base)})
	}
	if opts.JSON {
		return writeJSON(env.Stdout, struct {
			Results []removeResult `json:"results"`
		}{results})
	}
	for _, r := range results {
		fmt.Fprintf(env.Stderr, "%s: %s\n", r.Status, r.Message)
	}
	return nil
}
