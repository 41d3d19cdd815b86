package app

import (
	"context"
	"strings"
	"sync"

	"github.com/git-bbkey/git-bbkey/internal/gitremote"
)

// Remote URLs as git uses them. url.<base>.insteadOf rewrites every URL
// git fetches from, whether it comes from a remote or the command line.
// go-git, which reads the remotes, would apply only the repository's own
// rules, not the global ones where such rules usually live: gitremote
// gives the URLs as written, and the full set of rules is read through git
// and applied here, once.

// insteadOf is one url.<base>.insteadOf (or, push, pushInsteadOf) rule.
type insteadOf struct {
	base, prefix string
	push         bool
}

type insteadOfCache struct {
	once  sync.Once
	rules []insteadOf
	err   error
}

// insteadOfRules reads the url.<base>.insteadOf and pushInsteadOf
// settings, once per run.
func (e *Env) insteadOfRules(ctx context.Context) ([]insteadOf, error) {
	load := func() ([]insteadOf, error) {
		entries, err := e.config().GetRegexp(ctx, `^url\..*\.(push)?insteadof$`)
		if err != nil {
			return nil, configError(err)
		}
		rules := make([]insteadOf, 0, len(entries))
		for _, kv := range entries {
			if kv[1] == "" {
				continue
			}
			key := strings.TrimPrefix(kv[0], "url.")
			if base, ok := strings.CutSuffix(key, ".pushinsteadof"); ok {
				rules = append(rules, insteadOf{base: base, prefix: kv[1], push: true})
			} else {
				rules = append(rules, insteadOf{base: strings.TrimSuffix(key, ".insteadof"), prefix: kv[1]})
			}
		}
		return rules, nil
	}
	if e.insteadOf == nil {
		return load()
	}
	e.insteadOf.once.Do(func() { e.insteadOf.rules, e.insteadOf.err = load() })
	return e.insteadOf.rules, e.insteadOf.err
}

// rewriteURL applies the insteadOf rule with the longest matching prefix,
// as git does for the URLs it fetches from.
func rewriteURL(raw string, rules []insteadOf) string {
	u, _ := aliasURL(raw, rules, false)
	return u
}

// aliasURL applies the insteadOf (push: pushInsteadOf) rule with the
// longest matching prefix; ok tells whether one matched.
func aliasURL(raw string, rules []insteadOf, push bool) (string, bool) {
	best := -1
	for i, r := range rules {
		if r.push == push && strings.HasPrefix(raw, r.prefix) && (best < 0 || len(r.prefix) > len(rules[best].prefix)) {
			best = i
		}
	}
	if best < 0 {
		return raw, false
	}
	return rules[best].base + raw[len(rules[best].prefix):], true
}

// pushURLOf is where git pushes when given raw on the command line:
// pushInsteadOf applies, else it pushes where it fetches.
func pushURLOf(raw string, rules []insteadOf) string {
	if u, ok := aliasURL(raw, rules, true); ok {
		return u
	}
	return rewriteURL(raw, rules)
}

// remotes lists the repository's remotes with their URLs as git uses them.
func (e *Env) remotes(ctx context.Context) ([]gitremote.Remote, error) {
	remotes, err := gitremote.Remotes(e.Dir)
	if err != nil {
		return nil, err
	}
	rules, err := e.insteadOfRules(ctx)
	if err != nil {
		return nil, err
	}
	for i := range remotes {
		rewriteRemote(&remotes[i], rules)
	}
	return remotes, nil
}

// lookupRemote is gitremote.LookupRemote with the URLs as git uses them.
func (e *Env) lookupRemote(ctx context.Context, name string) (*gitremote.Remote, error) {
	r, err := gitremote.LookupRemote(e.Dir, name)
	if err != nil {
		return nil, err
	}
	rules, err := e.insteadOfRules(ctx)
	if err != nil {
		return nil, err
	}
	rewriteRemote(r, rules)
	return r, nil
}

// rewriteRemote turns r's URLs into the ones git fetches from and pushes
// to, as git's remote.c does: pushurl entries take insteadOf; without
// them, the URLs that a pushInsteadOf rule matches are the push URLs, and
// if none matches, pushes go where fetches do. Afterwards PushURLs is
// never empty when URLs is not.
func rewriteRemote(r *gitremote.Remote, rules []insteadOf) {
	var push []string
	if len(r.PushURLs) > 0 {
		for _, u := range r.PushURLs {
			push = append(push, rewriteURL(u, rules))
		}
	} else {
		for _, u := range r.URLs {
			if a, ok := aliasURL(u, rules, true); ok {
				push = append(push, a)
			}
		}
	}
	for i, u := range r.URLs {
		r.URLs[i] = rewriteURL(u, rules)
	}
	if len(push) == 0 {
		push = append(push, r.URLs...)
	}
	r.PushURLs = push
}
