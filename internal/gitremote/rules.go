package gitremote

import (
	"context"
	"strings"
	"sync"

	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
)

// git's URL rules: url.<base>.insteadOf rewrites every URL git fetches
// from, whether it comes from a remote or the command line, and
// url.<base>.pushInsteadOf every URL it pushes to. go-git applies only the
// repository's own rules, not the global ones where such rules usually
// live, so Remotes gives the URLs as written and a Repo applies git's full
// set of rules, read through `git config`, once.

// Rule is one url.<base>.insteadOf (or, with Push, pushInsteadOf) setting.
type Rule struct {
	Base, Prefix string
	Push         bool
}

// Rules are the URL rewriting settings in effect.
type Rules []Rule

// ReadRules reads the url.<base>.insteadOf and pushInsteadOf settings from
// every scope and include git reads.
func ReadRules(ctx context.Context, cfg *gitconfig.Reader) (Rules, error) {
	entries, err := cfg.GetRegexp(ctx, `^url\..*\.(push)?insteadof$`)
	if err != nil {
		return nil, err
	}
	rules := make(Rules, 0, len(entries))
	for _, kv := range entries {
		if kv[1] == "" {
			continue
		}
		key := strings.TrimPrefix(kv[0], "url.")
		if base, ok := strings.CutSuffix(key, ".pushinsteadof"); ok {
			rules = append(rules, Rule{Base: base, Prefix: kv[1], Push: true})
		} else {
			rules = append(rules, Rule{Base: strings.TrimSuffix(key, ".insteadof"), Prefix: kv[1]})
		}
	}
	return rules, nil
}

// alias applies the insteadOf (push: pushInsteadOf) rule with the longest
// matching prefix; ok tells whether one matched.
func (rules Rules) alias(raw string, push bool) (string, bool) {
	best := -1
	for i, r := range rules {
		if r.Push == push && strings.HasPrefix(raw, r.Prefix) && (best < 0 || len(r.Prefix) > len(rules[best].Prefix)) {
			best = i
		}
	}
	if best < 0 {
		return raw, false
	}
	return rules[best].Base + raw[len(rules[best].Prefix):], true
}

// FetchURL is where git fetches from when given raw: the insteadOf rule
// with the longest matching prefix applied, once.
func (rules Rules) FetchURL(raw string) string {
	u, _ := rules.alias(raw, false)
	return u
}

// PushURL is where git pushes when given raw on the command line:
// pushInsteadOf applies, else it pushes where it fetches.
func (rules Rules) PushURL(raw string) string {
	if u, ok := rules.alias(raw, true); ok {
		return u
	}
	return rules.FetchURL(raw)
}

// Apply turns r's URLs as written into the ones git fetches from and
// pushes to, as git's remote.c does: pushurl entries take insteadOf;
// without them, the URLs that a pushInsteadOf rule matches are the push
// URLs, and if none matches, pushes go where fetches do. Afterwards
// PushURLs is never empty when URLs is not. r.Written keeps the URLs as
// written.
func (rules Rules) Apply(r *Remote) {
	var push []string
	if len(r.PushURLs) > 0 {
		for _, u := range r.PushURLs {
			push = append(push, rules.FetchURL(u))
		}
	} else {
		for _, u := range r.URLs {
			if a, ok := rules.alias(u, true); ok {
				push = append(push, a)
			}
		}
	}
	r.Written = append([]string(nil), r.URLs...)
	for i, u := range r.URLs {
		r.URLs[i] = rules.FetchURL(u)
	}
	if len(push) == 0 {
		push = append(push, r.URLs...)
	}
	r.PushURLs = push
}

// Repo is the repository in a directory as git uses it: its remotes with
// git's URL rules applied. The rules are read once, when first needed.
type Repo struct {
	Dir    string
	Config *gitconfig.Reader

	once  sync.Once
	rules Rules
	err   error
}

// Rules returns the URL rules, read once.
func (r *Repo) Rules(ctx context.Context) (Rules, error) {
	r.once.Do(func() { r.rules, r.err = ReadRules(ctx, r.Config) })
	return r.rules, r.err
}

// Remotes lists the remotes with the URLs git fetches from and pushes to.
func (r *Repo) Remotes(ctx context.Context) ([]Remote, error) {
	remotes, err := Remotes(r.Dir)
	if err != nil {
		return nil, err
	}
	rules, err := r.Rules(ctx)
	if err != nil {
		return nil, err
	}
	for i := range remotes {
		rules.Apply(&remotes[i])
	}
	return remotes, nil
}

// Remote is LookupRemote with the URLs git fetches from and pushes to.
func (r *Repo) Remote(ctx context.Context, name string) (*Remote, error) {
	remote, err := LookupRemote(r.Dir, name)
	if err != nil {
		return nil, err
	}
	rules, err := r.Rules(ctx)
	if err != nil {
		return nil, err
	}
	rules.Apply(remote)
	return remote, nil
}

// FetchURL is the URL git fetches from when raw is given on its command
// line ("" when the rules cannot be read).
func (r *Repo) FetchURL(ctx context.Context, raw string) (string, error) {
	rules, err := r.Rules(ctx)
	if err != nil {
		return "", err
	}
	return rules.FetchURL(raw), nil
}

// PushURL is the URL git pushes to when raw is given on its command line.
func (r *Repo) PushURL(ctx context.Context, raw string) (string, error) {
	rules, err := r.Rules(ctx)
	if err != nil {
		return "", err
	}
	return rules.PushURL(raw), nil
}

// FirstURL is the remote's first fetch URL, "" when it has none.
func (r *Remote) FirstURL() string {
	if len(r.URLs) == 0 {
		return ""
	}
	return r.URLs[0]
}
