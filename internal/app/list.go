package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/register"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/termtext"
)

type listOptions struct {
	JSON   bool
	Server string
}

func listCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "list",
		Usage:     "check for existing SSH keys in ~/.ssh",
		UsageText: "git bbkey list [--json] [--server URL]",
		Description: "Scans ~/.ssh (not key_backup/) for private and public keys, pairs NAME with NAME.pub, and shows " +
			"path, type, bits, SHA256 fingerprint, comment and problems (loose file modes, a missing half, a file " +
			"that does not parse, types Bitbucket refuses, deprecated DSA). Never asks for a passphrase. With --server, " +
			"each key also says whether it is registered on Bitbucket as your SSH user key, and registered keys with " +
			"no local file are listed too.",
		Flags: []cli.Flag{jsonFlag(), serverFlag()},
		Action: func(c *cli.Context) error {
			return runList(c.Context, env, listOptions{JSON: c.Bool("json"), Server: c.String("server")})
		},
	}
}

// keyJSON is a key as the contract prints it; a missing half is null.
type keyJSON struct {
	PrivateKeyPath *string  `json:"privateKeyPath"`
	PublicKeyPath  *string  `json:"publicKeyPath"`
	Type           string   `json:"type"`
	Bits           int      `json:"bits"`
	Fingerprint    string   `json:"fingerprint"`
	Comment        string   `json:"comment"`
	Encrypted      bool     `json:"encrypted"`
	Problems       []string `json:"problems"`
	Registered     *bool    `json:"registered"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// problemTexts are the problems as people read them (list --json keeps
// these words).
func problemTexts(k sshkeys.Key) []string {
	texts := make([]string, 0, len(k.Problems))
	for _, p := range k.Problems {
		texts = append(texts, p.String())
	}
	return texts
}

// listProblems adds, for a key on Bitbucket only, what list says about it.
func listProblems(k sshkeys.Key, serverOnly map[string][]string) []string {
	texts := problemTexts(k)
	if k.PrivateKeyPath == "" && k.PublicKeyPath == "" {
		texts = append(texts, serverOnly[k.Fingerprint]...)
	}
	return texts
}

func toKeyJSON(k sshkeys.Key) keyJSON {
	problems := problemTexts(k)
	return keyJSON{
		PrivateKeyPath: optional(k.PrivateKeyPath),
		PublicKeyPath:  optional(k.PublicKeyPath),
		Type:           k.Type,
		Bits:           k.Bits,
		Fingerprint:    k.Fingerprint,
		Comment:        k.Comment,
		Encrypted:      k.Encrypted,
		Problems:       problems,
	}
}

func runList(ctx context.Context, env *Env, opts listOptions) error {
	dir, err := env.sshDir()
	if err != nil {
		return err
	}
	keys, err := findKeys(dir)
	if err != nil {
		return err
	}
	var registered map[string]bool
	var serverOnly map[string][]string // problems of the keys on Bitbucket only, by fingerprint
	var onlyKeys []sshkeys.Key
	switch {
	case opts.Server != "":
		if registered, onlyKeys, serverOnly, err = registeredKeys(ctx, env, opts.Server, keys); err != nil {
			return err
		}
	default:
		// With bbkey.url set and credentials at hand (BITBUCKET_TOKEN, or
		// a credential git has stored), list says what is registered too;
		// it never asks for them, and a server it cannot ask is a warning.
		registered, onlyKeys, serverOnly = registeredIfKnown(ctx, env, keys)
	}
	keys = append(keys, onlyKeys...)
	if opts.JSON {
		out := struct {
			SSHDir string    `json:"sshDir"`
			Keys   []keyJSON `json:"keys"`
		}{SSHDir: dir, Keys: []keyJSON{}}
		for _, k := range keys {
			kj := toKeyJSON(k)
			kj.Problems = listProblems(k, serverOnly)
			if registered != nil {
				r := registered[k.Fingerprint]
				kj.Registered = &r
			}
			out.Keys = append(out.Keys, kj)
		}
		return writeJSON(env.Stdout, out)
	}
	if len(keys) == 0 {
		fmt.Fprintf(env.Stderr, "No SSH keys in %s.\n", dir)
		fmt.Fprintln(env.Stderr, "Next: git bbkey generate   (or git bbkey setup to do everything)")
		return nil
	}
	rows := make([][]string, len(keys))
	for i, k := range keys {
		rows[i] = keyColumns(k)
		if registered != nil {
			if registered[k.Fingerprint] {
				rows[i][5] = strings.TrimPrefix(rows[i][5]+",registered", ",")
			} else {
				rows[i][5] = strings.TrimPrefix(rows[i][5]+",not-registered", ",")
			}
		}
	}
	widths := columnWidths(rows)
	for i, k := range keys {
		var line strings.Builder
		for j, cell := range rows[i] {
			if j > 0 {
				line.WriteString("  ")
			}
			fmt.Fprintf(&line, "%-*s", widths[j], cell)
		}
		fmt.Fprintln(env.Stdout, strings.TrimRight(line.String(), " "))
		for _, p := range listProblems(k, serverOnly) {
			fmt.Fprintf(env.Stdout, "    problem: %s\n", termtext.Line(p))
		}
	}
	return nil
}

// keyColumns is one row of the human listing: path, type, bits,
// fingerprint, comment, flags.
func keyColumns(k sshkeys.Key) []string {
	path := k.PrivateKeyPath
	if path == "" {
		path = k.PublicKeyPath
	}
	if path == "" {
		path = "(on Bitbucket only)"
	}
	typ, fp := k.Type, k.Fingerprint
	if typ == "" {
		typ = "unknown"
	}
	if fp == "" {
		fp = "-"
	}
	var flags []string
	if k.Encrypted {
		flags = append(flags, "encrypted")
	}
	// Paths and comments come from files: escaped before they are measured.
	return []string{termtext.Line(path), termtext.Line(typ), fmt.Sprint(k.Bits), fp, termtext.Line(k.Comment), strings.Join(flags, ",")}
}

func columnWidths(rows [][]string) []int {
	var widths []int
	for _, r := range rows {
		for j, cell := range r {
			if j >= len(widths) {
				widths = append(widths, 0)
			}
			if len(cell) > widths[j] {
				widths[j] = len(cell)
			}
		}
	}
	return widths
}

// registeredIfKnown is registeredKeys for the server in bbkey.url, with
// the credentials at hand and without asking for any: nil when there is
// no such server or no credential; a warning when the server cannot say.
func registeredIfKnown(ctx context.Context, env *Env, local []sshkeys.Key) (map[string]bool, []sshkeys.Key, map[string][]string) {
	base, err := env.configValue(ctx, "bbkey.url")
	if err != nil || base == "" {
		return nil, nil, nil
	}
	quiet := *env
	quiet.Prompter = noPrompt{}
	quiet.sessions = &sessionCache{} // git credential must not ask
	registered, only, notes, err := registeredKeys(ctx, &quiet, base, local)
	if err != nil {
		if !errors.Is(err, bbsession.ErrNoCredentials) && ctx.Err() == nil {
			fmt.Fprintf(env.Stderr, "warning: cannot tell which keys are registered on %s: %s\n", termtext.Line(base), termtext.Line(err.Error()))
		}
		return nil, nil, nil
	}
	return registered, only, notes
}

// registeredKeys asks Bitbucket for the user's keys: which local
// fingerprints are registered, and the registered keys with no local file
// with what to say about each (by fingerprint).
func registeredKeys(ctx context.Context, env *Env, server string, local []sshkeys.Key) (map[string]bool, []sshkeys.Key, map[string][]string, error) {
	s, err := env.bitbucket().Open(ctx, server)
	if err != nil {
		return nil, nil, nil, err
	}
	env.statusLine().Show("asking %s which keys are registered", s.Base())
	fps := make([]string, 0, len(local))
	for _, k := range local {
		fps = append(fps, k.Fingerprint)
	}
	registered, others, err := register.Registered(ctx, s, fps)
	if err != nil {
		return nil, nil, nil, err
	}
	var only []sshkeys.Key
	notes := map[string][]string{}
	for _, k := range register.ServerOnly(others) {
		only = append(only, k.Key)
		for _, id := range k.IDs {
			notes[k.Key.Fingerprint] = append(notes[k.Key.Fingerprint], fmt.Sprintf("registered on Bitbucket (id %d) but not found in ~/.ssh: remove it with git bbkey remove %d if it is no longer used", id, id))
		}
	}
	return registered, only, notes, nil
}
