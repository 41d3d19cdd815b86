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

type insteadOf struct{ base, prefix string }

type insteadOfCache struct {
	once  sync.Once
	rules []insteadOf
	err   error
}

// insteadOfRules reads the url.<base>.insteadOf settings, once per run.
func (e *Env) insteadOfRules(ctx context.Context) ([]insteadOf, error) {
	load := func() ([]insteadOf, error) {
		entries, err := e.config().GetRegexp(ctx, `^url\..*\.insteadof$`)
		if err != nil {
			return nil, configError(err)
		}
		rules := make([]insteadOf, 0, len(entries))
		for _, kv := range entries {
			base := strings.TrimSuffix(strings.TrimPrefix(kv[0], "url."), ".insteadof")
			if kv[1] != "" {
				rules = append(rules, insteadOf{base: base, prefix: kv[1]})
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

// rewriteURL applies the rule with the longest matching prefix, as git does.
func rewriteURL(raw string, rules []insteadOf) string {
	best := -1
	for i, r := range rules {
		if strings.HasPrefix(raw, r.prefix) && (best < 0 || len(r.prefix) > len(rules[best].prefix)) {
			best = i
		}
	}
	if best < 0 {
		return raw
	}
	return rules[best].base + raw[len(rules[best].prefix):]
}

// expandURL is raw as git would fetch from it.
func (e *Env) expandURL(ctx context.Context, raw string) (string, error) {
	rules, err := e.insteadOfRules(ctx)
	if err != nil {
		return "", err
	}
	return rewriteURL(raw, rules), nil
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

func rewriteRemote(r *gitremote.Remote, rules []insteadOf) {
	for i, u := range r.URLs {
		r.URLs[i] = rewriteURL(u, rules)
	}
}
