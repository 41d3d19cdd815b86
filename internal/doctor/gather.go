package doctor

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/sshagent"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// gatherTimeout bounds a whole Gather: the server's answers (each request
// has its own bound too) and ssh -G for every remote.
const gatherTimeout = 2 * time.Minute

// Gather collects the facts the checks need. It never fails: what could
// not be learned is recorded as an error beside the fact.
func Gather(ctx context.Context, o Options) *Facts {
	ctx, cancel := context.WithTimeout(ctx, gatherTimeout)
	defer cancel()
	f := &Facts{Home: o.Home, SSHDir: filepath.Join(o.Home, ".ssh"), Windows: o.Windows, Key: o.Key}
	progress := func(step string) {
		if o.Progress != nil {
			o.Progress(step)
		}
	}
	f.SSHDirInfo = statFile(f.SSHDir)
	f.SSHConfig = statFile(filepath.Join(f.SSHDir, "config"))
	keys, err := sshkeys.FindKeyPairs(f.SSHDir)
	f.KeysErr = err
	for _, k := range keys {
		f.Keys = append(f.Keys, keyFacts(k, false))
	}
	f.Leftovers, _ = sshkeys.FindLeftovers(f.SSHDir)

	gatherSSH(ctx, o.World, f)
	gatherAgent(ctx, o.World, f)
	progress("waiting for Bitbucket")
	srv := gatherServer(ctx, o.World, f)
	eps := &endpoints{w: o.World, srv: srv, f: f, byTarget: map[string]*Endpoint{}, progress: progress}
	gatherRemotes(ctx, o.World, srv, eps, f)
	if srv != nil && f.Server.Address.Host != "" && !eps.anyOnServer() {
		a := f.Server.Address
		f.Address = eps.get(ctx, target(a.Host, a.Port, a.User))
		f.Address.OnServer = true
	}
	gatherNamedKeys(f)
	gatherRegistration(ctx, srv, f)
	return f
}

func statFile(path string) FileInfo {
	fi := FileInfo{Path: path}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		fi.Err = err
	default:
		fi.Exists, fi.Mode = true, st.Mode()
	}
	return fi
}

func isRegular(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// keyFacts adds what OpenSSH would make of k's private key file.
func keyFacts(k sshkeys.Key, named bool) KeyFacts {
	kf := KeyFacts{Key: k, Named: named}
	if k.PrivateKeyPath == "" {
		return kf
	}
	errors.As(safefile.CheckPrivate(k.PrivateKeyPath), &kf.Unprotected)
	var nl *sshkeys.NotLoadableError
	if errors.As(sshkeys.CheckLoadable(k.PrivateKeyPath), &nl) && nl.Reason != sshkeys.LoadPermissions {
		kf.NotLoadable = nl
	}
	return kf
}

var openSSHVersion = regexp.MustCompile(`OpenSSH_(?:for_Windows_)?(\d+)\.(\d+)(\S*)`)

func gatherSSH(ctx context.Context, w World, f *Facts) {
	f.SSH.Command, f.SSH.CommandErr = w.SSHCommand(ctx)
	prog := f.SSH.Command.Program()
	if f.SSH.CommandErr != nil || prog == "" {
		return
	}
	path, err := w.LookPath(prog)
	if err != nil {
		return
	}
	f.SSH.Path = path
	out, _ := w.SSHVersion(ctx, path)
	if m := openSSHVersion.FindStringSubmatch(out); m != nil {
		f.SSH.Version.Major, _ = strconv.Atoi(m[1])
		f.SSH.Version.Minor, _ = strconv.Atoi(m[2])
		f.SSH.Version.Raw = m[1] + "." + m[2] + m[3]
		f.SSH.Version.Raw = strings.TrimSuffix(f.SSH.Version.Raw, ",")
	}
}

func gatherAgent(ctx context.Context, w World, f *Facts) {
	addr, keys, err := w.Agent(ctx)
	f.Agent.Addr = addr
	switch {
	case errors.Is(err, sshagent.ErrNoAgent):
	case err != nil:
		var dial *sshagent.DialError
		f.Agent.Running = !errors.As(err, &dial) // it answered, then failed to list
		f.Agent.Err = err
	default:
		f.Agent.Running, f.Agent.Keys = true, keys
	}
}

func gatherServer(ctx context.Context, w World, f *Facts) Server {
	srv, err := w.Server(ctx)
	if err != nil || srv == nil {
		f.Server.Err = err
		return nil
	}
	s := &f.Server
	s.Base = srv.Base()
	s.Settings, s.SettingsErr = srv.Settings(ctx)
	s.WithCredentials = srv.SettingsWithCredentials()
	if s.SettingsErr == nil {
		s.Address, s.AddressErr = srv.SSHAddress(ctx)
	}
	if err := srv.Authenticate(ctx); err != nil {
		s.AuthErr = err
	} else {
		s.Authenticated = true
	}
	var be *bitbucket.Error
	if s.SettingsErr != nil && !(errors.As(s.SettingsErr, &be) && be.Kind == bitbucket.KindUnauthorized) {
		return nil // unreachable, or not Bitbucket: asking more would only wait more
	}
	return srv
}

// gatherNamedKeys adds the key files git-bbkey or git's ssh would use that
// are not in ~/.ssh's listing (bbkey.keyFile elsewhere, an IdentityFile).
func gatherNamedKeys(f *Facts) {
	var paths []string
	if f.Key.Path != "" {
		if isRegular(f.Key.Path) {
			paths = append(paths, f.Key.Path)
		} else {
			f.KeyMissing = !isRegular(f.Key.Path + ".pub")
		}
	}
	for _, e := range f.endpoints() {
		if e.HasOffered {
			paths = append(paths, e.Offered.HomePath)
		}
	}
	for _, p := range paths {
		if f.keyAt(p) != nil {
			continue
		}
		k := sshkeys.Key{PrivateKeyPath: p}
		if keys, err := sshkeys.FindKeyPairs(filepath.Dir(p)); err == nil {
			for _, found := range keys {
				if found.PrivateKeyPath == p {
					k = found
				}
			}
		}
		f.Keys = append(f.Keys, keyFacts(k, true))
	}
}

// keyAt is the key whose private file is path, nil if none.
func (f *Facts) keyAt(path string) *KeyFacts {
	for i := range f.Keys {
		if k := &f.Keys[i]; k.PrivateKeyPath != "" && filepath.Clean(k.PrivateKeyPath) == filepath.Clean(path) {
			return k
		}
	}
	return nil
}

// endpoints are the distinct endpoints of remotes on the server, then
// Address: where git's ssh goes to reach Bitbucket.
func (f *Facts) endpoints() []*Endpoint {
	var out []*Endpoint
	seen := map[*Endpoint]bool{}
	for _, r := range f.Remotes {
		if e := r.Endpoint; e != nil && r.Reach == ReachYes && !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	if f.Address != nil && !seen[f.Address] {
		out = append(out, f.Address)
	}
	return out
}
