package register

import (
	"context"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
)

// Access is the permission asked for an access key.
type Access int

const (
	// AccessUnspecified: a new grant is read-only, an existing grant is
	// left as it is.
	AccessUnspecified Access = iota
	AccessRead
	AccessWrite
)

// AccessKeyOptions are the optional parts of an access key.
type AccessKeyOptions struct {
	Access      Access
	Label       string // "" leaves Bitbucket's default (the key comment)
	ExpiryDays  int    // 0: no expiry
	Concurrency int    // scopes worked on at once; 0 means 4
}

// AddAccessKeys grants key on each scope (a few at a time), one Result per
// scope in the order given: Added; AlreadyPresent when the scope has the
// key with the permission asked for, or with any permission when none was
// asked for (an existing grant is never lowered by accident); Updated when
// an explicit permission differs from the grant; Failed with a
// *ScopeError around the cause otherwise.
func AddAccessKeys(ctx context.Context, s *bbsession.Session, key Key, scopes []bitbucket.Scope, opts AccessKeyOptions) []Result {
	results := make([]Result, len(scopes))
	c, err := s.Client(ctx)
	if err == nil {
		err = s.Require(ctx, bbsession.FeaturesForKey(key.Public.Type(), opts.ExpiryDays > 0)...)
	}
	if err != nil {
		for i, sc := range scopes {
			results[i] = Result{Status: Failed, Kind: kindOf(sc), Scope: sc, Fingerprint: key.Fingerprint(), Err: &ScopeError{Scope: sc, Err: err}}
		}
		return results
	}
	n := opts.Concurrency
	if n <= 0 {
		n = 4
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, sc := range scopes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = addAccessKey(ctx, s, c, key, sc, opts)
		}()
	}
	wg.Wait()
	return results
}

func addAccessKey(ctx context.Context, s *bbsession.Session, c *bitbucket.Client, key Key, sc bitbucket.Scope, opts AccessKeyOptions) Result {
	res := Result{Kind: kindOf(sc), Scope: sc, Fingerprint: key.Fingerprint()}
	fail := func(err error) Result {
		res.Status, res.Err = Failed, &ScopeError{Scope: sc, Err: err}
		return res
	}
	explain := func(err error) Result { return fail(s.Explain(ctx, err, bbsession.OpAccessKey)) }
	want := sc.Permission(opts.Access == AccessWrite)

	existing, err := c.ListAccessKeys(ctx, sc)
	if err != nil {
		return explain(err)
	}
	if ak, ok := findAccessKey(existing, key.Public); ok {
		res.ID, res.Permission = ak.Key.ID, ak.Permission
		if opts.Access == AccessUnspecified || ak.Permission == want {
			res.Status = AlreadyPresent
			return res
		}
		got, err := c.SetAccessKeyPermission(ctx, sc, ak.Key.ID, want)
		if err != nil {
			return explain(err)
		}
		if got.Key.ID != ak.Key.ID || got.Permission != want || (got.Key.Text != "" && !SameKey(got.Key.Text, key.Public)) {
			if _, err := confirm(ctx, s, c, key, sc, want); err != nil {
				return fail(err)
			}
		}
		res.Status, res.Previous, res.Permission = Updated, ak.Permission, want
		return res
	}

	added, err := c.AddAccessKey(ctx, sc, bitbucket.NewKey{Text: key.Text(), Label: opts.Label, ExpiryDays: opts.ExpiryDays}, want)
	if err != nil {
		if e, ok := conflict(err); ok {
			return fail(&ConflictError{Fingerprint: res.Fingerprint, Kind: res.Kind, Err: e})
		}
		return explain(err)
	}
	res.Status, res.Permission, res.ID = Added, want, added.Key.ID
	if !carries(added.Key, key) || added.Permission != want {
		ak, err := confirm(ctx, s, c, key, sc, want)
		if err != nil {
			return fail(err)
		}
		res.ID = ak.Key.ID
	}
	return res
}

// confirm lists the scope's access keys again: the key must be there with
// the permission asked for.
func confirm(ctx context.Context, s *bbsession.Session, c *bitbucket.Client, key Key, sc bitbucket.Scope, want bitbucket.Permission) (bitbucket.AccessKey, error) {
	now, err := c.ListAccessKeys(ctx, sc)
	if err != nil {
		return bitbucket.AccessKey{}, s.Explain(ctx, err, bbsession.OpAccessKey)
	}
	if ak, ok := findAccessKey(now, key.Public); ok && ak.Permission == want {
		return ak, nil
	}
	return bitbucket.AccessKey{}, &UnconfirmedError{Base: s.Base(), Fingerprint: key.Fingerprint(), Kind: kindOf(sc), Permission: want}
}

func findAccessKey(keys []bitbucket.AccessKey, pub ssh.PublicKey) (bitbucket.AccessKey, bool) {
	for _, k := range keys {
		if SameKey(k.Key.Text, pub) {
			return k, true
		}
	}
	return bitbucket.AccessKey{}, false
}
