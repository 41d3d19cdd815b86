package app

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/git-bbkey/git-bbkey/internal/setup"
	"github.com/git-bbkey/git-bbkey/internal/termtext"
)

// setupJSON is setup's outcome, as the contract prints it.
type setupJSON struct {
	Email        string        `json:"email"`
	Key          *generatedKey `json:"key"`
	Generated    bool          `json:"generated"`
	BackupDir    *string       `json:"backupDir"`
	Registration *addResult    `json:"registration"`
	HostKey      string        `json:"hostKey"`   // pinned, known, skipped
	SSHConfig    string        `json:"sshConfig"` // written, unchanged, skipped
	Agent        string        `json:"agent"`     // added, present, skipped
	Verify       *verifyJSON   `json:"verify"`
	Manual       *manualStep   `json:"manual,omitempty"`
	Error        *jsonError    `json:"error,omitempty"` // why the run failed
}

// jsonError is a failure in a command's own JSON document, shaped as the
// document of a run that failed before it printed one (writeJSONFailure).
type jsonError struct {
	Message  string   `json:"message"`
	Hints    []string `json:"hints"`
	ExitCode int      `json:"exitCode"`
}

// jsonErrorOf is err, explained as e, as JSON carries it.
func jsonErrorOf(err error, e *Error) *jsonError {
	msg := e.Msg
	if msg == "" { // a decline: the run said what it kept
		msg = err.Error()
	}
	hints := e.Hints
	if hints == nil {
		hints = []string{}
	}
	return &jsonError{Message: lowerFirst(strings.TrimSuffix(msg, ".")), Hints: hints, ExitCode: e.Code}
}

// manualStep is what to do by hand when there are no credentials.
type manualStep struct {
	PublicKey string `json:"publicKey"`
	Page      string `json:"page"`
	Next      string `json:"next"`
}

// workflowKeyJSON is a workflow's key as generate prints it.
func workflowKeyJSON(k *setup.Key, backupDir string) *generatedKey {
	if k == nil {
		return nil
	}
	return &generatedKey{PrivateKeyPath: k.PrivateKeyPath, PublicKeyPath: k.PublicKeyPath, Type: k.Type, Bits: k.Bits,
		Fingerprint: k.Fingerprint, Comment: k.Comment, Encrypted: k.Encrypted, BackupDir: optional(backupDir)}
}

// verifyReport is the verify result an Outcome carries, to print as verify does.
func verifyReport(o *setup.Outcome) *verifyJSON {
	if o == nil {
		return nil
	}
	v, _ := o.Report.(*verifyJSON)
	return v
}

func setupDocument(r *setup.Result) setupJSON {
	doc := setupJSON{Email: r.Email, Key: workflowKeyJSON(r.Key, r.BackupDir), Generated: r.Generated, BackupDir: optional(r.BackupDir),
		HostKey: r.HostKey.String(), SSHConfig: r.SSHConfig.String(), Agent: r.Agent.String()}
	if r.Registration != nil {
		reg := addResultOf(*r.Registration, r.Server)
		doc.Registration = &reg
	}
	if r.Target != nil && !r.Target.HostOnly {
		doc.Verify = verifyReport(r.Verify)
	}
	if m := r.Manual; m != nil {
		doc.Manual = &manualStep{PublicKey: m.PublicKey, Page: m.Page, Next: manualNext(m)}
	}
	return doc
}

// manualNext is the command to run once the key is added by hand: the
// check that needs no credentials (verify pins the host key and proves
// the key works).
func manualNext(m *setup.Manual) string {
	switch {
	case m.Remote == nil:
		return "git bbkey verify ssh://git@HOST:7999/PROJECT/REPO.git   (your repository's SSH clone URL)"
	case m.Remote.HTTPS:
		return "git bbkey verify " + m.Remote.URL
	}
	return "git bbkey verify " + m.Remote.Remote
}

// reportSetup prints setup's outcome (one JSON document with --json,
// failures included; else one line per step) and returns the error to
// report, explained.
func reportSetup(env *Env, opts setupOptions, r *setup.Result, err error) error {
	var e *Error
	if err != nil {
		e = explain(err)
		if ve := new(setup.VerifyError); errors.As(err, &ve) {
			e = verifyFailure(ve, "the key", "")
		}
		if rc := r.Remote; rc != nil && rc.RollbackErr != nil {
			e.Hints = append(e.Hints, fmt.Sprintf("remote %s could not be switched back: git remote set-url -- %s %s",
				termtext.Line(rc.Name), termtext.Line(rc.Name), termtext.Line(rc.From)))
		}
	}
	if opts.JSON {
		doc := setupDocument(r)
		if e != nil {
			doc.Error = jsonErrorOf(err, e)
		}
		if werr := writeJSON(env.Stdout, doc); werr != nil && e == nil {
			return werr
		}
	} else {
		for _, l := range setupLines(env, r) {
			fmt.Fprintf(env.Stdout, "%-13s %s\n", l[0], l[1])
		}
		if r.Manual != nil && err == nil {
			m := setupDocument(r).Manual
			fmt.Fprintf(env.Stdout, "\nYour public key (copy all of this line):\n%s\n\nPaste it at: %s\nThen run:    %s\n",
				termtext.Line(m.PublicKey), termtext.Line(m.Page), termtext.Line(m.Next))
			fmt.Fprintln(env.Stderr, "hint: or give git bbkey credentials (BITBUCKET_TOKEN, or your password through git credential) and run: git bbkey setup --yes")
		}
		if d := new(setup.DeclinedError); errors.As(err, &d) {
			fmt.Fprintf(env.Stderr, "Kept %s; nothing was changed.\n", termtext.Line(d.Path))
		}
	}
	if e == nil {
		return nil
	}
	return e
}

// verifyFailure is the error of a key that did not verify (or was never
// tried: the server did not answer), with verify's own next step. key
// names the key ("the key", "the new key"); detail is added to the status
// in the message ("" for none).
func verifyFailure(ve *setup.VerifyError, key, detail string) *Error {
	status := string(ve.Outcome.Status)
	if detail != "" {
		status += ": " + termtext.Line(detail)
	}
	e := &Error{Code: exitFailure, Err: ve, Msg: fmt.Sprintf("%s did not verify (%s)", key, status)}
	if ve.NotTried() {
		e.Msg = fmt.Sprintf("could not reach %s to try %s (%s)", termtext.Line(net.JoinHostPort(ve.Target.Host, strconv.Itoa(ve.Target.Port))), key, status)
	}
	if v := verifyReport(&ve.Outcome); v != nil {
		e.Hints = v.hint
	}
	return e
}

// setupLines are setup's steps, one line each.
func setupLines(env *Env, r *setup.Result) [][2]string {
	var lines [][2]string
	add := func(step, text string) { lines = append(lines, [2]string{step, text}) }
	if r.Email != "" {
		add("email", termtext.Line(r.Email)+" (git config user.email)")
	}
	if k := r.Key; k != nil {
		verb := "reused"
		switch {
		case r.Generated:
			verb = "generated"
		case r.Resumed:
			verb = "reused the key the last setup made:"
		}
		add("key", fmt.Sprintf("%s %s (%s %s)", verb, termtext.Line(k.PrivateKeyPath), k.Type, k.Fingerprint))
	}
	if r.BackupDir != "" {
		add("backup", "the old key is in "+termtext.Line(r.BackupDir))
	}
	if r.Registration != nil && r.Registration.Err == nil {
		add("registration", termtext.Line(addResultOf(*r.Registration, r.Server).Message))
	}
	if m := r.Manual; m != nil {
		add("registration", "no Bitbucket credentials: add the key by hand (below), then run: "+termtext.Line(manualNext(m)))
	}
	if rc := r.Remote; rc != nil && rc.HTTPS {
		name, from, to := termtext.Line(rc.Name), termtext.Line(rc.From), termtext.Line(rc.To)
		switch {
		case rc.RolledBack:
			add("remote", fmt.Sprintf("%s switched back to %s: the key did not verify over SSH", name, from))
		case rc.RollbackErr != nil:
			add("remote", fmt.Sprintf("%s stays switched to %s: switching it back failed", name, to))
		case rc.Switched:
			add("remote", fmt.Sprintf("%s switched from %s to %s", name, from, to))
		default:
			add("remote", fmt.Sprintf("%s stays https; switch it with: git bbkey setup --fix-remote", name))
		}
	}
	if r.RememberedServer {
		add("server", "remembered "+termtext.Line(r.Server)+" as bbkey.url in this repository")
	}
	if r.HostKeyErr != nil {
		add("host key", env.statusWord("skipped")+": "+termtext.Line(explain(r.HostKeyErr).Msg))
	}
	t, v := r.Target, r.Verify
	if t == nil || v == nil {
		return lines
	}
	where := knownHostsName(t.Host, t.Port)
	switch r.HostKey {
	case setup.HostKeyPinned:
		add("host key", "pinned "+termtext.Line(where)+" in ~/.ssh/known_hosts")
	case setup.HostKeyKnown:
		add("host key", termtext.Line(where)+" already in ~/.ssh/known_hosts")
	default:
		add("host key", "not pinned")
	}
	step := "verify"
	if t.HostOnly {
		step = "ssh check"
	}
	if !v.OK() {
		add(step, env.statusWord(string(v.Status))+": "+termtext.Line(v.Message))
		return lines
	}
	switch r.SSHConfig {
	case setup.SSHConfigWritten:
		add("ssh config", "wrote the Host "+termtext.Line(r.SSHConfigHost)+" block in "+termtext.Line(r.SSHConfigPath))
	case setup.SSHConfigUnchanged:
		add("ssh config", "the Host "+termtext.Line(r.SSHConfigHost)+" block in "+termtext.Line(r.SSHConfigPath)+" is up to date")
	case setup.SSHConfigDeclined:
		add("ssh config", "not written")
	}
	if t.HostOnly {
		add("verify", env.statusWord("skipped")+": not inside a repository with a Bitbucket remote")
	} else {
		add("verify", fmt.Sprintf("%s: %s as %s, %d refs", env.statusWord("ok"), termtext.Line(t.URL), termtext.Line(v.User), v.Refs))
	}
	switch r.Agent {
	case setup.AgentAdded:
		msg := "added the key to the ssh-agent"
		if r.AgentLifetime > 0 {
			msg += " for " + r.AgentLifetime.String()
		}
		add("agent", msg)
	case setup.AgentPresent:
		add("agent", "the ssh-agent already holds the key")
	}
	return lines
}
