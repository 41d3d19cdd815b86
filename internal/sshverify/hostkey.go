package sshverify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
)

// Pin is what happened to a host key that known_hosts did not know.
type Pin struct {
	Host     HostRef
	Name     string        // the name it is known under: [host]:port, host or the alias
	File     string        // the known_hosts file it is (or would have been) recorded in
	Key      ssh.PublicKey // the key decided about
	Decision HostKeyDecision
	// Recorded: the key is in File now, appended by this run (Appended,
	// at Line) or found there by the time the file was locked (another
	// run recorded it).
	Recorded bool
	Appended bool
	Line     int
	// Err is a *RecordError when an accepted key could not be recorded.
	Err error
}

// RecordError means an accepted host key could not be written to File.
type RecordError struct {
	File string // "" when there is no known_hosts file to write to
	Err  error
}

func (e *RecordError) Error() string {
	if e.File == "" {
		return "no known_hosts file to record the host key in"
	}
	return fmt.Sprintf("cannot record the host key in %q: %v", e.File, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// ChangedMeanwhileError: by the time File was locked to record the key,
// it named another key for the host, or marked the key @revoked (another
// run, another program). Check says what it holds.
type ChangedMeanwhileError struct {
	File  string
	Check HostKeyCheck
}

func (e *ChangedMeanwhileError) Error() string {
	return fmt.Sprintf("%q came to name another key for %s meanwhile", e.File, e.Check.Name)
}

// knownHostsDB is the known_hosts files of one spec, read once per Verify.
type knownHostsDB struct {
	once  sync.Once
	files []string
	kh    *KnownHosts
	err   error
}

// decision is the verdict about an unknown host name, shared by every
// connection to it.
type decision struct {
	pin  *Pin          // nil when there was no policy to ask
	key  ssh.PublicKey // the accepted key
	fail *failure      // nil when accepted
}

type pinKey struct{ name, file string }

// spec is where ep's host keys are looked up and pinned.
func (v *verifier) spec(ep endpoint) KnownHostsSpec {
	if ep.settings == nil {
		return v.mergeSpec(KnownHostsSpec{})
	}
	return v.mergeSpec(ep.settings.KnownHosts)
}

// mergeSpec fills the file lists s leaves nil with Options' files.
func (v *verifier) mergeSpec(s KnownHostsSpec) KnownHostsSpec {
	spec := KnownHostsSpec{GlobalFiles: v.opts.ExtraKnownHosts, Alias: s.Alias}
	if v.opts.KnownHostsFile != "" {
		spec.UserFiles = []string{v.opts.KnownHostsFile}
	}
	if s.UserFiles != nil {
		spec.UserFiles = s.UserFiles
	}
	if s.GlobalFiles != nil {
		spec.GlobalFiles = s.GlobalFiles
	}
	return spec
}

// keyScope is a server whose host key is checked: the address dialled
// and where its keys are looked up and pinned (a target's endpoint, or a
// jump host on the way to it).
type keyScope struct {
	host string
	port int
	spec KnownHostsSpec
}

func (k keyScope) ref() HostRef { return HostRef{Host: k.host, Port: k.port, Alias: k.spec.Alias} }
func (k keyScope) addr() string { return net.JoinHostPort(k.host, strconv.Itoa(k.port)) }
func (v *verifier) scope(ep endpoint) keyScope {
	return keyScope{host: ep.host, port: ep.port, spec: v.spec(ep)}
}

func pinFile(spec KnownHostsSpec) string {
	if len(spec.UserFiles) == 0 {
		return ""
	}
	return spec.UserFiles[0]
}

// knownHosts reads the files of spec, once per Verify.
func (v *verifier) knownHosts(spec KnownHostsSpec) (*KnownHosts, error) {
	files := slices.Concat(spec.UserFiles, spec.GlobalFiles)
	key := strings.Join(files, "\x00")
	v.mu.Lock()
	db := v.dbs[key]
	if db == nil {
		db = &knownHostsDB{files: files}
		v.dbs[key] = db
	}
	v.mu.Unlock()
	db.once.Do(func() { db.kh, db.err = LoadKnownHosts(files...) })
	return db.kh, db.err
}

func describeKey(k ssh.PublicKey) string { return k.Type() + " " + ssh.FingerprintSHA256(k) }

// checkHostKey decides whether key may be used for ep: the known_hosts
// verdict, and for an unknown host the policy's decision, made once per
// name and file and shared by every connection.
func (v *verifier) checkHostKey(ctx context.Context, sc keyScope, key ssh.PublicKey) (*HostKeyCheck, *failure) {
	ref, spec, addr := sc.ref(), sc.spec, sc.addr()
	kh, err := v.knownHosts(spec)
	if err != nil {
		return nil, &failure{status: StatusHostUnknown, hostKey: key, msg: err.Error()}
	}
	chk := kh.Check(ref, key)
	offered := describeKey(key)
	fail := func(st Status, msg string) (*HostKeyCheck, *failure) {
		return &chk, &failure{status: st, hostKey: key, check: &chk, msg: msg}
	}
	switch chk.Status {
	case HostKeyKnown:
		return &chk, nil
	case HostKeyRevoked:
		return fail(StatusHostMismatch, fmt.Sprintf(
			"the host key of %s (%s) is marked @revoked in %s, so ssh refuses it. "+
				"Someone may be using a stolen key, or the server still uses a key that was withdrawn: %s; known_hosts was not changed",
			addr, offered, chk.Entry.Where(), checkAdvice(sc)))
	case HostKeyChanged:
		var where []string
		for _, w := range chk.Conflicts {
			where = append(where, fmt.Sprintf("%s (%s)", w.Where(), describeKey(w.Key)))
		}
		return fail(StatusHostMismatch, fmt.Sprintf(
			"the host key of %s has changed: the server offered %s, but known_hosts has %s. "+
				"Someone may be intercepting the connection (a man-in-the-middle attack), or the server's key was replaced: %s; known_hosts was not changed",
			addr, offered, strings.Join(where, ", "), checkAdvice(sc)))
	}

	file := pinFile(spec)
	pk := pinKey{chk.Name, file}
	v.promptMu.Lock()
	defer v.promptMu.Unlock()
	d, decided := v.decisions[pk]
	if !decided {
		d = v.decide(ctx, sc, file, chk)
		v.decisions[pk] = d
	}
	switch {
	case d.fail != nil:
		f := *d.fail
		f.hostKey, f.check = key, &chk
		return &chk, &f
	case samePublicKey(d.key, chk.Key):
		// Accepted in this run (by another connection, maybe).
		chk.Status = HostKeyKnown
		return &chk, nil
	}
	return fail(StatusHostMismatch, fmt.Sprintf("the host key of %s changed during this run: the server offered %s, this run accepted %s for it",
		addr, offered, describeKey(d.key)))
}

// decide asks the policy about an unknown host and records an accepted
// key. Called under promptMu.
func (v *verifier) decide(ctx context.Context, sc keyScope, file string, chk HostKeyCheck) *decision {
	ref, addr := sc.ref(), sc.addr()
	offered := describeKey(chk.Key)
	where := file
	if where == "" {
		where = "known_hosts"
	}
	unknown := func(msg string) *failure { return &failure{status: StatusHostUnknown, msg: msg} }
	if v.opts.HostKeyPolicy == nil {
		return &decision{fail: unknown(fmt.Sprintf("the host key of %s (%s) is not in %s", addr, offered, where))}
	}
	resume := v.clock.Pause()
	dec := v.opts.HostKeyPolicy.Decide(ctx, UnknownHost{Host: ref, Key: chk.Key})
	resume()
	pin := &Pin{Host: ref, Name: chk.Name, File: file, Key: chk.Key, Decision: dec}
	d := &decision{pin: pin}
	switch dec.Reason {
	case ReasonPublishedMismatch:
		d.fail = &failure{status: StatusHostMismatch, msg: fmt.Sprintf(
			"the host key of %s (%s) was not accepted: the server offered %s, but %s publishes %s; someone may be intercepting the connection: %s",
			addr, offered, ssh.FingerprintSHA256(chk.Key), dec.Published.Server, dec.Published.Fingerprint, checkAdvice(sc))}
	case ReasonPromptFailed:
		d.fail = unknown(fmt.Sprintf("the host key of %s (%s) is unknown and could not be checked: %v", addr, offered, dec.Err))
	case ReasonDeclined:
		d.fail = unknown(fmt.Sprintf("the host key of %s (%s) is not in %s and was not accepted: not accepted on the terminal", addr, offered, where))
	case ReasonNotChecked:
		d.fail = unknown(fmt.Sprintf("the host key of %s (%s) is not in %s and was not accepted: %s key %s was not checked: %s",
			addr, offered, where, KeyTypeName(chk.Key), ssh.FingerprintSHA256(chk.Key), dec.Why()))
	default:
		err := v.record(ctx, pin)
		var meanwhile *ChangedMeanwhileError
		switch {
		case errors.As(err, &meanwhile):
			d.fail = &failure{status: StatusHostMismatch, msg: fmt.Sprintf(
				"the host key of %s (%s) was accepted, but meanwhile %s came to name another key for it (%s): %s; known_hosts was not changed",
				addr, offered, file, DescribeConflict(meanwhile.Check), checkAdvice(sc))}
		case err != nil:
			pin.Err = err
			d.fail = unknown(fmt.Sprintf("the host key of %s (%s) was accepted but not recorded: %v", addr, offered, err))
		default:
			d.key = chk.Key
		}
	}
	return d
}

// DescribeConflict says, for a message, what known_hosts holds against a
// key: where it is @revoked, or which other keys it names and where.
func DescribeConflict(c HostKeyCheck) string {
	if c.Status == HostKeyRevoked {
		return "it is marked @revoked at " + c.Entry.Where()
	}
	var where []string
	for _, w := range c.Conflicts {
		where = append(where, w.Where()+" has "+describeKey(w.Key))
	}
	return strings.Join(where, ", ")
}

// record records the pin (RecordPin) and adds its line to the files
// this call has read.
func (v *verifier) record(ctx context.Context, pin *Pin) error {
	if err := RecordPin(ctx, pin); err != nil || !pin.Recorded {
		return err
	}
	e := KnownHostEntry{File: pin.File, Line: pin.Line, Hosts: pin.Name, Key: pin.Key}
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, db := range v.dbs {
		if db.kh != nil && slices.Contains(db.files, pin.File) {
			db.kh.add(e)
		}
	}
	return nil
}

// RecordPin appends the line of an accepted pin ("Name key") to its File,
// once, as Verify pins: under the file's lock, after reading the file
// again (another run may have recorded the key, or another key,
// meanwhile); then Recorded, Appended and Line say what happened. Its
// error is a *ChangedMeanwhileError (nothing written) or a *RecordError.
// A File of os.DevNull records nothing and is no error (ssh "records" it
// there too, and goes on).
func RecordPin(ctx context.Context, pin *Pin) error {
	if pin.File == "" {
		return &RecordError{}
	}
	if pin.File == os.DevNull {
		return nil
	}
	var line int
	appended, err := safefile.AppendLineOnce(ctx, pin.File, knownHostLine(pin.Name, pin.Key), 0o644, func(current []byte) (bool, error) {
		now := &KnownHosts{}
		now.parse(pin.File, current)
		c := now.check(pin.Name, "", "", pin.Key)
		switch c.Status {
		case HostKeyKnown:
			line = c.Entry.Line
			return true, nil
		case HostKeyChanged, HostKeyRevoked:
			return false, &ChangedMeanwhileError{File: pin.File, Check: c}
		}
		line = countLines(current) + 1
		return false, nil
	})
	var meanwhile *ChangedMeanwhileError
	if errors.As(err, &meanwhile) {
		return err
	}
	if err != nil {
		return &RecordError{File: pin.File, Err: err}
	}
	pin.Recorded, pin.Appended, pin.Line = true, appended, line
	return nil
}

func countLines(b []byte) int {
	n := bytes.Count(b, []byte("\n"))
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// attachPins adds to r the decision made about sc's host in this call.
func (v *verifier) attachPins(r *Result, sc keyScope) {
	ref, spec := sc.ref(), sc.spec
	v.promptMu.Lock()
	defer v.promptMu.Unlock()
	d := v.decisions[pinKey{ref.Name(), pinFile(spec)}]
	if d == nil || d.pin == nil {
		return
	}
	for _, p := range r.Pins {
		if p.Name == d.pin.Name && p.File == d.pin.File {
			return
		}
	}
	r.Pins = append(r.Pins, *d.pin)
	if d.pin.Appended {
		r.HostKeyAdded = true
	}
}

func checkAdvice(sc keyScope) string {
	return fmt.Sprintf("compare with the SSH host key fingerprint on Bitbucket's administration page (Server settings, SSH) "+
		"or from `ssh-keyscan -p %d %s | ssh-keygen -lf -` run on a network you trust", sc.port, sc.host)
}
