package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

type listOptions struct {
	JSON   bool
	Server string
}

func listCommand(env *Env) *cli.Command {
	maxArgs["list"] = 0
	return &cli.Command{
		Name:      "list",
		Usage:     "check for existing SSH keys in ~/.ssh",
		UsageText: "git bbkey list [--json]",
		Description: "Scans ~/.ssh (not key_backup/) for private and public keys, pairs NAME with NAME.pub, and shows " +
			"path, type, bits, SHA256 fingerprint, comment and problems (loose file modes, a missing half, a file " +
			"that does not parse, types Bitbucket refuses, deprecated DSA). Never asks for a passphrase.",
		Flags: []cli.Flag{jsonFlag()},
		Action: func(c *cli.Context) error {
			return runList(c.Context, env, listOptions{JSON: c.Bool("json")})
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

func toKeyJSON(k sshkeys.Key) keyJSON {
	problems := k.Problems
	if problems == nil {
		problems = []string{}
	}
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
	keys, err := sshkeys.FindKeyPairs(dir)
	if err != nil {
		return failuref(err, fmt.Sprintf("check that %s is a readable directory", dir))
	}
	if opts.JSON {
		out := struct {
			SSHDir string    `json:"sshDir"`
			Keys   []keyJSON `json:"keys"`
		}{SSHDir: dir, Keys: []keyJSON{}}
		for _, k := range keys {
			out.Keys = append(out.Keys, toKeyJSON(k))
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
		for _, p := range k.Problems {
			fmt.Fprintf(env.Stdout, "    problem: %s\n", p)
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
	return []string{path, typ, fmt.Sprint(k.Bits), fp, k.Comment, strings.Join(flags, ",")}
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
