package bbsandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// loadState builds the users, projects and repositories of Config.
func (s *Server) loadState() error {
	for _, u := range s.cfg.Users {
		if u.Name == "" {
			return errors.New("bbsandbox: user without a name")
		}
		k := strings.ToLower(u.Name)
		if _, dup := s.users[k]; dup {
			return fmt.Errorf("bbsandbox: user %q twice", u.Name)
		}
		s.users[k] = &userState{User: u, slug: k}
	}
	for i, p := range s.cfg.Projects {
		if p.Key == "" {
			return errors.New("bbsandbox: project without a key")
		}
		key := strings.ToUpper(p.Key)
		if _, dup := s.projects[key]; dup {
			return fmt.Errorf("bbsandbox: project %q twice", p.Key)
		}
		ps := &projectState{key: key, name: p.Name, id: i + 1, admins: p.Admins, readers: p.Readers, writers: p.Writers}
		if strings.HasPrefix(key, "~") {
			u := s.users[strings.ToLower(key[1:])]
			if u == nil {
				return fmt.Errorf("bbsandbox: personal project %q of unknown user", p.Key)
			}
			ps.personal, ps.owner = true, u.Name
			if ps.name == "" {
				ps.name = u.Name
			}
		}
		if ps.name == "" {
			ps.name = key
		}
		for _, slug := range p.Repos {
			slug = strings.ToLower(slug)
			dir := filepath.Join(s.cfg.DataDir, strings.ToLower(key), slug+".git")
			ps.repos = append(ps.repos, &repoState{id: s.nextRepoID, slug: slug, dir: dir})
			s.nextRepoID++
		}
		s.projects[key] = ps
		s.projOrder = append(s.projOrder, key)
	}
	return nil
}

// ---- state helpers (callers hold s.mu) ----

func (s *Server) findProject(key string) *projectState {
	return s.projects[strings.ToUpper(key)]
}

func (s *Server) findRepo(project, slug string) (*projectState, *repoState) {
	p := s.findProject(project)
	if p == nil {
		return nil, nil
	}
	for _, r := range p.repos {
		if strings.EqualFold(r.slug, slug) {
			return p, r
		}
	}
	return p, nil
}

// permission levels, ordered.
const (
	permNone = iota
	permRead
	permWrite
	permAdmin
)

func containsFold(list []string, name string) bool {
	return slices.ContainsFunc(list, func(n string) bool { return strings.EqualFold(n, name) })
}

// userProjectPerm is a user's permission on a project (and so on its repos).
func (s *Server) userProjectPerm(user string, p *projectState) int {
	u := s.users[strings.ToLower(user)]
	if u == nil {
		return permNone
	}
	switch {
	case u.Admin, p.personal && strings.EqualFold(p.owner, u.Name), containsFold(p.admins, u.Name):
		return permAdmin
	case containsFold(p.writers, u.Name):
		return permWrite
	case containsFold(p.readers, u.Name):
		return permRead
	}
	return permNone
}

// accessKeyRepoPerm is what an access key may do on a repository.
func accessKeyRepoPerm(k *AccessKeyRecord, p *projectState, r *repoState) int {
	best := permNone
	for _, g := range k.Grants {
		if g.Project != p.key || (g.Repo != "" && g.Repo != r.slug) {
			continue
		}
		lvl := permRead
		if strings.HasSuffix(g.Permission, "_WRITE") {
			lvl = permWrite
		}
		best = max(best, lvl)
	}
	return best
}

// keyClashLocked reports whether a key blob is already registered: as a
// user key (returned) or as an access key (msg only). owner is the user
// that wants to add it as a user key ("" for an access key).
func (s *Server) keyClashLocked(blob, owner string) (*KeyRecord, string) {
	for _, k := range s.userKeys {
		if k.blob == blob {
			switch {
			case owner == "":
				return k, msgKeyIsUserKey
			case strings.EqualFold(k.User, owner):
				return k, msgKeyIsYours
			default:
				return k, msgKeyIsOtherUsers
			}
		}
	}
	if owner != "" {
		for _, k := range s.accessKeys {
			if k.blob == blob {
				return nil, msgKeyIsAccessKey
			}
		}
	}
	return nil, ""
}

func (s *Server) findAccessKeyLocked(blob string) *AccessKeyRecord {
	for _, k := range s.accessKeys {
		if k.blob == blob {
			return k
		}
	}
	return nil
}

// hostKeyFingerprintValue is the settings "value" in the chosen format.
func (s *Server) hostKeyFingerprintValue(prefix, padding bool) string {
	sum := sha256.Sum256(s.HostKey().Marshal())
	v := base64.RawStdEncoding.EncodeToString(sum[:])
	if padding {
		v = base64.StdEncoding.EncodeToString(sum[:])
	}
	if prefix {
		v = "SHA256:" + v
	}
	return v
}
