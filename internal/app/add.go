package app

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

type addOptions struct {
	PubKey     string
	Label      string
	ExpiryDays int
	Projects   []string
	Repos      []string
	Permission string
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
			return runAdd(c.Context, env, addOptions{
				PubKey: c.Args().First(), Label: c.String("label"), ExpiryDays: c.Int("expiry-days"),
				Projects: c.StringSlice("project"), Repos: c.StringSlice("repo"), Permission: c.String("permission"),
				Server: c.String("server"), JSON: c.Bool("json"),
			})
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

	err error
}

// accessTarget is one --repo or --project.
type accessTarget struct {
	kind    string // repo or project
	project string
	slug    string
}

func (t accessTarget) String() string {
	if t.kind == "repo" {
		return t.project + "/" + t.slug
	}
	return t.project
}

func (t accessTarget) permission(write bool) bitbucket.Permission {
	switch {
	case t.kind == "repo" && write:
		return bitbucket.RepoWrite
	case t.kind == "repo":
		return bitbucket.RepoRead
	case write:
		return bitbucket.ProjectWrite
	}
	return bitbucket.ProjectRead
}

func parseTargets(opts addOptions) ([]accessTarget, bool, error) {
	var write bool
	switch strings.ToLower(opts.Permission) {
	case "read", "":
	case "write":
		write = true
	default:
		return nil, false, usageError(fmt.Sprintf("--permission %q is not read or write", opts.Permission))
	}
	var targets []accessTarget
	for _, r := range opts.Repos {
		project, slug, ok := strings.Cut(r, "/")
		if !ok || project == "" || slug == "" || strings.Contains(slug, "/") {
			return nil, false, usageError(fmt.Sprintf("--repo %q is not PROJECT/SLUG", r),
				"for example: --repo PROJ/my-repo")
		}
		targets = append(targets, accessTarget{kind: "repo", project: project, slug: strings.TrimSuffix(slug, ".git")})
	}
	for _, p := range opts.Projects {
		if p == "" || strings.Contains(p, "/") {
			return nil, false, usageError(fmt.Sprintf("--project %q is not a project key", p), "for example: --project PROJ")
		}
		targets = append(targets, accessTarget{kind: "project", project: p})
	}
	if len(targets) == 0 && opts.Permission != "read" && opts.Permission != "" {
		return nil, false, usageError("--permission applies to access keys only",
			"add --repo PROJECT/SLUG or --project KEY")
	}
	return targets, write, nil
}

func runAdd(ctx context.Context, env *Env, opts addOptions) error {
	targets, write, err := parseTargets(opts)
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
	s, err := openSession(ctx, env, opts.Server, true)
	if err != nil {
		return err
	}
	label := opts.Label
	if label == "" {
		label = key.Comment
	}
	var results []addResult
	if len(targets) == 0 {
		results = []addResult{addUserKey(ctx, s, key, label, opts.ExpiryDays)}
	} else {
		results = make([]addResult, len(targets))
		var wg sync.WaitGroup
		sem := make(chan struct{}, 4) // a few at once: kind to the server
		for i, t := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				results[i] = addAccessKey(ctx, s, key, label, t, t.permission(write))
			}()
		}
		wg.Wait()
	}
	return reportAddResults(env, opts.JSON, results)
}

func reportAddResults(env *Env, asJSON bool, results []addResult) error {
	failed := 0
	for _, r := range results {
		if r.Status == "failed" {
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
			fmt.Fprintf(env.Stderr, "%s: %s\n", r.Status, r.Message)
		}
	}
	if failed > 0 {
		return errSilentFailure
	}
	return nil
}

// sameKey compares keys as Bitbucket does: type and base64, not the comment.
func sameKey(text string, pub ssh.PublicKey) bool {
	other, _, _, _, err := ssh.ParseAuthorizedKey([]byte(text))
	return err == nil && other.Type() == pub.Type() && string(other.Marshal()) == string(pub.Marshal())
}

func intPtr(i int) *int { return &i }

func addUserKey(ctx context.Context, s *session, key *publicKeyInput, label string, expiry int) addResult {
	fp := sshkeys.Fingerprint(key.Key)
	res := addResult{Kind: "user", Fingerprint: fp}
	fail := func(err error) addResult {
		s.settle(ctx, err)
		e := s.apiError(err)
		res.Status, res.Message, res.err = "failed", e.Msg, e
		return res
	}
	existing, err := s.ListUserKeys(ctx, "")
	if err != nil {
		return fail(err)
	}
	s.settle(ctx, nil)
	for _, k := range existing {
		if sameKey(k.Text, key.Key) {
			res.Status, res.ID = "already-present", intPtr(k.ID)
			res.Message = fmt.Sprintf("%s is already registered as your SSH key (id %d)", fp, k.ID)
			return res
		}
	}
	added, err := s.AddUserKey(ctx, key.Text(), label, expiry)
	if err != nil {
		if bitbucket.IsKind(err, bitbucket.KindConflict) {
			return fail(&Error{Code: exitFailure, Err: err,
				Msg: fmt.Sprintf("%s is already registered on this Bitbucket server, but not as your SSH key: it belongs to another user or is used as an access key for a repository or project (%v)", fp, err),
				Hints: []string{"a key can be registered only once on the whole server: generate a new key for yourself with git bbkey generate --file ~/.ssh/id_ed25519_bitbucket",
					"or remove it where it is registered (Bitbucket: repository or project settings > Access keys)"}})
		}
		return fail(err)
	}
	res.Status, res.ID = "added", intPtr(added.ID)
	res.Message = fmt.Sprintf("registered %s as your SSH key (id %d) on %s", fp, added.ID, s.base)
	return res
}

func addAccessKey(ctx context.Context, s *session, key *publicKeyInput, label string, t accessTarget, perm bitbucket.Permission) addResult {
	fp := sshkeys.Fingerprint(key.Key)
	target, permStr := t.String(), string(perm)
	res := addResult{Kind: t.kind, Target: &target, Permission: &permStr, Fingerprint: fp}
	fail := func(err error) addResult {
		s.settle(ctx, err)
		e := s.apiError(err)
		if bitbucket.IsKind(err, bitbucket.KindConflict) {
			e.Msg = fmt.Sprintf("%s: %s is already registered elsewhere on this server (as a user's SSH key, or another access key) (%v)", target, fp, err)
			e.Hints = []string{"a user key cannot also be an access key: use a separate key for the system, e.g. git bbkey generate --file ~/.ssh/id_ed25519_ci"}
		} else {
			e.Msg = target + ": " + e.Msg
		}
		res.Status, res.Message, res.err = "failed", e.Msg, e
		return res
	}
	var existing []bitbucket.AccessKey
	var err error
	if t.kind == "repo" {
		existing, err = s.ListRepoAccessKeys(ctx, t.project, t.slug)
	} else {
		existing, err = s.ListProjectAccessKeys(ctx, t.project)
	}
	if err != nil {
		return fail(err)
	}
	s.settle(ctx, nil)
	for _, k := range existing {
		if !sameKey(k.Key.Text, key.Key) {
			continue
		}
		res.ID = intPtr(k.Key.ID)
		if k.Permission == perm {
			res.Status = "already-present"
			res.Message = fmt.Sprintf("%s is already an access key on %s with %s (id %d)", fp, target, perm, k.Key.ID)
			return res
		}
		if t.kind == "repo" {
			err = s.SetRepoAccessKeyPermission(ctx, t.project, t.slug, k.Key.ID, perm)
		} else {
			err = s.SetProjectAccessKeyPermission(ctx, t.project, k.Key.ID, perm)
		}
		if err != nil {
			return fail(err)
		}
		res.Status = "updated"
		res.Message = fmt.Sprintf("changed the access key %s on %s from %s to %s", fp, target, k.Permission, perm)
		return res
	}
	var added *bitbucket.AccessKey
	if t.kind == "repo" {
		added, err = s.AddRepoAccessKey(ctx, t.project, t.slug, key.Text(), label, perm)
	} else {
		added, err = s.AddProjectAccessKey(ctx, t.project, key.Text(), label, perm)
	}
	if err != nil {
		return fail(err)
	}
	res.Status, res.ID = "added", intPtr(added.Key.ID)
	res.Message = fmt.Sprintf("added %s as an access key on %s with %s (id %d)", fp, target, perm, added.Key.ID)
	return res
}
