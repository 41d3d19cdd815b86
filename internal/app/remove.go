package app

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/git-bbkey/git-bbkey/internal/register"
	"github.com/git-bbkey/git-bbkey/internal/termtext"
)

type removeOptions struct {
	Key    string
	Yes    bool
	Server string
	JSON   bool
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

// keySelector reads what names the registered key: an id, a SHA256
// fingerprint, or a public key file (the default key's .pub when empty).
func keySelector(ctx context.Context, env *Env, arg string) (register.Selector, error) {
	if id, err := strconv.Atoi(arg); err == nil && id > 0 {
		return register.Selector{ID: id}, nil
	}
	if fingerprintPattern.MatchString(arg) {
		return register.Selector{Fingerprint: arg}, nil
	}
	if strings.HasPrefix(arg, "SHA256:") || strings.HasPrefix(arg, "MD5:") {
		return register.Selector{}, usageError(fmt.Sprintf("%q is not a SHA256 fingerprint", arg),
			"copy it from git bbkey list --server (SHA256: followed by 43 characters), or give the key's id or .pub file")
	}
	key, err := readPublicKey(ctx, env, arg)
	if err != nil {
		return register.Selector{}, err
	}
	return register.Selector{Key: key.Key}, nil
}

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
	sel, err := keySelector(ctx, env, opts.Key)
	if err != nil {
		return err
	}
	s, err := env.bitbucket().Open(ctx, opts.Server)
	if err != nil {
		return err
	}
	found, err := register.FindUserKeys(ctx, s, sel)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return &register.NoMatchError{Base: s.Base(), What: sel.String()}
	}
	var results []removeResult
	for _, k := range found {
		fp := register.Fingerprint(k)
		if !opts.Yes {
			ok, err := env.Prompter.Confirm(ctx, fmt.Sprintf("Delete SSH key %q (%s, id %d) from %s? (y/n)", k.Label, fp, k.ID, s.Base()))
			if err != nil {
				return failuref(err)
			}
			if !ok {
				return failure("nothing was removed")
			}
		}
		r := register.RemoveUserKey(ctx, s, k)
		if r.Err != nil {
			return r.Err
		}
		results = append(results, removeResult{Status: string(r.Status), Kind: string(r.Kind), ID: r.ID, Fingerprint: r.Fingerprint, Label: r.Label,
			Message: fmt.Sprintf("removed %s (id %d) from %s", r.Fingerprint, r.ID, s.Base())})
	}
	if opts.JSON {
		return writeJSON(env.Stdout, struct {
			Results []removeResult `json:"results"`
		}{results})
	}
	for _, r := range results {
		fmt.Fprintf(env.Stderr, "%s: %s (id %d) from %s\n", env.statusWordErr(r.Status), r.Fingerprint, r.ID, termtext.Line(s.Base()))
	}
	return nil
}
