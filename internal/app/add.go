package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/register"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/termtext"
)

type addOptions struct {
	PubKey     string
	Label      string
	ExpiryDays int
	Projects   []string
	Repos      []string
	Permission string // "" when --permission was not given
	Server     string
	JSON       bool
}

func addCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "add",
		Usage:     "register a public key with Bitbucket (SSH user key, or access key with --repo/--project)",
		UsageText: "git bbkey add [PUBKEY | -] [--label TEXT] [--expiry-days N] [--project KEY]... [--repo PROJECT/SLUG]... [--permission read|write] [--server URL] [--json]",
		Description: "Without --repo or --project the key becomes your SSH user key for personal use. With --repo " +
			"PROJECT/SLUG or --project KEY (repeatable) it becomes an SSH access key for a system such as a build " +
			"server, with read (default) or write permission. PUBKEY defaults to the .pub of your default key; - reads " +
			"stdin. Safe to repeat: a key that is already registered is reported as already-present.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "label", Usage: "key label shown in Bitbucket (default: the key comment)"},
			&cli.IntFlag{Name: "expiry-days", Usage: "let the key expire after `N` days"},
			&cli.StringSliceFlag{Name: "project", Usage: "add as an access key to project `KEY` (repeatable)"},
			&cli.StringSliceFlag{Name: "repo", Usage: "add as an access key to repository `PROJECT/SLUG` (repeatable)"},
			&cli.StringFlag{Name: "permission", Value: "read", Usage: "access key permission: read or write"},
			serverFlag(),
			jsonFlag(),
		},
		Action: func(c *cli.Context) error {
			opts := addOptions{
				PubKey: c.Args().First(), Label: c.String("label"), ExpiryDays: c.Int("expiry-days"),
				Projects: c.StringSlice("project"), Repos: c.StringSlice("repo"),
				Server: c.String("server"), JSON: c.Bool("json"),
			}
			if c.IsSet("permission") {
				opts.Permission = c.String("permission")
			}
			return runAdd(c.Context, env, opts)
		},
	}
}

// addResult is one line of add's outcome, as the contract prints it.
type addResult struct {
	Status      string  `json:"status"` // added, already-present, updated, failed
	Kind        string  `json:"kind"`   // user, repo, project
	Target      *string `json:"target"`
	Permission  *string `json:"permission"`
	ID          *int    `json:"id"`
	Fingerprint string  `json:"fingerprint"`
	Message     string  `json:"message"`

	err  *Error // failed: what to print
	what string // the text line after the status word
}

// parseTargets reads --repo and --project into access-key scopes, and
// --permission (absent: an existing grant is kept).
func parseTargets(opts addOptions) ([]bitbucket.Scope, register.Access, error) {
	access := register.AccessUnspecified
	switch strings.ToLower(opts.Permission) {
	case "":
	case "read":
		access = register.AccessRead
	case "write":
		access = register.AccessWrite
	default:
		return nil, 0, usageError(fmt.Sprintf("--permission %q is not read or write", opts.Permission))
	}
	var scopes []bitbucket.Scope
	for _, r := range opts.Repos {
		project, slug, ok := strings.Cut(r, "/")
		if !ok || project == "" || slug == "" || strings.Contains(slug, "/") {
			return nil, 0, usageError(fmt.Sprintf("--repo %q is not PROJECT/SLUG", r), "for example: --repo PROJ/my-repo")
		}
		scopes = append(scopes, bitbucket.Scope{Project: project, Slug: strings.TrimSuffix(slug, ".git")})
	}
	for _, p := range opts.Projects {
		if p == "" || strings.Contains(p, "/") {
			return nil, 0, usageError(fmt.Sprintf("--project %q is not a project key", p), "for example: --project PROJ")
		}
		scopes = append(scopes, bitbucket.Scope{Project: p})
	}
	if len(scopes) == 0 && access == register.AccessWrite {
		return nil, 0, usageError("--permission applies to access keys only",
			"add --repo PROJECT/SLUG or --project KEY")
	}
	return scopes, access, nil
}

func runAdd(ctx context.Context, env *Env, opts addOptions) error {
	scopes, access, err := parseTargets(opts)
	if err != nil {
		return err
	}
	if opts.ExpiryDays < 0 {
		return usageError("--expiry-days must be a positive number of days")
	}
	key, err := readPublicKey(ctx, env, opts.PubKey)
	if err != nil {
		return err
	}
	s, err := env.bitbucket().Open(ctx, opts.Server)
	if err == nil {
		err = s.Authenticate(ctx)
	}
	if err != nil {
		return err
	}
	label := opts.Label
	if label == "" {
		label = key.Comment
	}
	var results []addResult
	if len(scopes) == 0 {
		results = []addResult{addUserKey(ctx, s, key, label, opts.ExpiryDays)}
	} else {
		rk := register.Key{Public: key.Key, Comment: key.Comment}
		for _, r := range register.AddAccessKeys(ctx, s, rk, scopes, register.AccessKeyOptions{Access: access, Label: label, ExpiryDays: opts.ExpiryDays}) {
			results = append(results, addResultOf(r, s.Base()))
		}
	}
	return reportAddResults(env, opts.JSON, results)
}

// addUserKey registers key as the user's SSH key (setup and rotate too).
func addUserKey(ctx context.Context, s *bbsession.Session, key *sshkeys.PublicKeyInput, label string, expiry int) addResult {
	r := register.AddUserKey(ctx, s, register.Key{Public: key.Key, Comment: key.Comment}, register.UserKeyOptions{Label: label, ExpiryDays: expiry})
	return addResultOf(r, s.Base())
}

// addResultOf renders one registration as the contract prints it. Message
// is a sentence (JSON); the text output is the status word and what it
// was done to, one verb per line.
func addResultOf(r register.Result, base string) addResult {
	res := addResult{Status: string(r.Status), Kind: string(r.Kind), Fingerprint: r.Fingerprint}
	if r.ID > 0 {
		res.ID = &r.ID
	}
	target := r.Scope.String()
	if r.Kind != register.UserKey {
		res.Target = &target
		if r.Permission != "" {
			perm := string(r.Permission)
			res.Permission = &perm
		}
	}
	switch {
	case r.Status == register.Failed:
		res.err = explain(r.Err)
		res.Message = res.err.Msg
	case r.Kind == register.UserKey && r.Status == register.Added:
		res.what = fmt.Sprintf("%s as your SSH key (id %d) on %s", r.Fingerprint, r.ID, base)
		res.Message = "registered " + res.what
	case r.Kind == register.UserKey:
		res.what = fmt.Sprintf("%s is your SSH key (id %d) on %s", r.Fingerprint, r.ID, base)
		res.Message = fmt.Sprintf("%s is already registered as your SSH key (id %d)", r.Fingerprint, r.ID)
	case r.Status == register.Added:
		res.what = fmt.Sprintf("%s as an access key on %s with %s (id %d)", r.Fingerprint, target, r.Permission, r.ID)
		res.Message = "added " + res.what
	case r.Status == register.Updated:
		res.what = fmt.Sprintf("the access key %s on %s from %s to %s", r.Fingerprint, target, r.Previous, r.Permission)
		res.Message = "changed " + res.what
	default:
		res.what = fmt.Sprintf("%s is an access key on %s with %s (id %d)", r.Fingerprint, target, r.Permission, r.ID)
		res.Message = fmt.Sprintf("%s is already an access key on %s with %s (id %d)", r.Fingerprint, target, r.Permission, r.ID)
	}
	return res
}

func reportAddResults(env *Env, asJSON bool, results []addResult) error {
	failed := 0
	for _, r := range results {
		if r.Status == string(register.Failed) {
			failed++
		}
	}
	if asJSON {
		if err := writeJSON(env.Stdout, struct {
			Results []addResult `json:"results"`
		}{results}); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			if r.err != nil {
				report(env.Stderr, r.err)
				continue
			}
			fmt.Fprintf(env.Stderr, "%s: %s\n", env.statusWordErr(r.Status), termtext.Line(r.what))
		}
	}
	if failed > 0 {
		return errSilentFailure
	}
	return nil
}
