package app

// Adapters that keep setup.go and rotate.go working on internal/verify
// until they move to internal/setup and internal/rotate and call
// verify.Deps.RemoteTarget, verify.HostTarget and verify.Check directly.
// Delete this file then (it is the last importer of x/crypto/ssh in
// verify's part of app).

import (
	"context"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
	"github.com/git-bbkey/git-bbkey/internal/verify"
)

// verifyTarget is a target before the SSH check: ready to dial, or
// already decided (bad-url).
type verifyTarget struct {
	remote string
	raw    string
	target sshverify.Target
	base   string // Bitbucket base URL, for host-key pinning
	failed *verifyJSON
}

// targetName is a remote (or "" for a URL) and the URL git fetches from.
type targetName struct{ remote, url, push string }

// resolveTargets maps each URL to the SSH URL to check (an https one
// through Bitbucket); server is the base URL to pin host keys against.
func resolveTargets(ctx context.Context, env *Env, server string, raw []targetName, _ bool) []verifyTarget {
	deps := env.verifyDeps("")
	out := make([]verifyTarget, len(raw))
	for i, r := range raw {
		vt := verifyTarget{remote: r.remote, raw: redactURL(r.url), base: server}
		u, base, err := deps.SSHURL(ctx, r.url)
		if err != nil {
			e := explain(err)
			vt.failed = &verifyJSON{Status: string(verify.StatusBadURL), Message: e.Msg, hint: e.Hints}
			if len(e.Hints) == 0 {
				vt.failed.hint = verifyHints(verify.Result{Status: verify.StatusBadURL})
			}
		} else {
			if base != "" {
				vt.base = base
			}
			vt.target = sshverify.Target{Remote: r.remote, URL: u.String(), Host: u.Host, Port: u.Port, Path: u.Path}
		}
		out[i] = vt
	}
	return out
}

// verifyTargets checks each target with signer (the key at keyPath), as
// verify does, one at a time.
func verifyTargets(ctx context.Context, env *Env, opts verifyOptions, targets []verifyTarget, keyPath string, signer ssh.Signer, _ error) []verifyJSON {
	deps := env.verifyDeps("")
	key := &sshkeys.Unlocked{Path: keyPath, Signer: signer}
	out := make([]verifyJSON, len(targets))
	for i, vt := range targets {
		if vt.failed != nil {
			out[i] = *vt.failed
			out[i].Remote, out[i].URL = optional(vt.remote), vt.raw
			continue
		}
		r, _ := verify.Check(ctx, deps, verify.Target{Remote: vt.remote, URL: vt.target.URL, Base: vt.base, HostOnly: vt.target.HostOnly},
			key, verify.CheckOptions{AcceptNewHostKey: opts.AcceptNewHostKey, Write: opts.Write, Timeout: opts.Timeout})
		out[i] = toJSON(env, r, opts.Write)
		notes := &hostKeyNotes{env: env}
		for _, p := range r.Pins {
			notes.say(p)
		}
	}
	return out
}
