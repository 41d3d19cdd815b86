package bbsandbox

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ---- access keys ----

func validPermission(perm string, repo bool) bool {
	if repo {
		return perm == "REPO_READ" || perm == "REPO_WRITE"
	}
	return perm == "PROJECT_READ" || perm == "PROJECT_WRITE"
}

func permLevel(perm string) int {
	if strings.HasSuffix(perm, "_WRITE") {
		return permWrite
	}
	if strings.HasSuffix(perm, "_ADMIN") {
		return permAdmin
	}
	return permRead
}

// accessKeys serves .../projects/P[/repos/S]/ssh[/ID[/permission/PERM]].
func (q *request) accessKeys(projectKey, slug string, tail []string) {
	if q.c.user == nil {
		q.denied()
		return
	}
	s := q.s
	s.mu.Lock()
	enabled := s.akEnabled
	p, r := s.findRepo(projectKey, slug)
	var perm int
	if p != nil {
		perm = s.userProjectPerm(q.c.user.Name, p)
	}
	s.mu.Unlock()
	switch {
	case !enabled:
		q.err(http.StatusForbidden, excDisabled, "SSH access keys are disabled on this instance.", "")
		return
	case p == nil:
		q.err(http.StatusNotFound, excNoProject, "Project "+projectKey+" does not exist.", "")
		return
	case slug != "" && r == nil:
		q.err(http.StatusNotFound, excNoRepo, "Repository "+projectKey+"/"+slug+" does not exist.", "")
		return
	case perm < permAdmin:
		q.denied()
		return
	}
	isRepo := slug != ""
	target := Grant{Project: p.key}
	if isRepo {
		target.Repo = r.slug
	}

	switch {
	case len(tail) == 0 && q.r.Method == http.MethodGet:
		q.listAccessKeys(p, r, target)
	case len(tail) == 0 && q.r.Method == http.MethodPost:
		q.addAccessKey(p, r, target)
	case len(tail) == 1 || (len(tail) == 3 && tail[1] == "permission"):
		id, _ := strconv.Atoi(tail[0])
		s.mu.Lock()
		var key *AccessKeyRecord
		gi := -1
		for _, k := range s.accessKeys {
			if k.ID != id {
				continue
			}
			for i, g := range k.Grants {
				if g.Project == target.Project && g.Repo == target.Repo {
					key, gi = k, i
				}
			}
		}
		if len(tail) == 1 && q.r.Method == http.MethodGet && key != nil {
			out := s.accessKeyJSON(key, key.Grants[gi], p, r, q.c.name())
			s.mu.Unlock()
			q.json(http.StatusOK, out)
			return
		}
		if len(tail) == 1 && q.r.Method == http.MethodDelete {
			if key != nil {
				key.Grants = slices.Delete(key.Grants, gi, gi+1)
				if len(key.Grants) == 0 {
					s.accessKeys = slices.DeleteFunc(s.accessKeys, func(k *AccessKeyRecord) bool { return k == key })
				}
			}
			s.mu.Unlock()
			q.noContent()
			return
		}
		if len(tail) == 3 && q.r.Method == http.MethodPut {
			newPerm := strings.ToUpper(tail[2])
			if !validPermission(newPerm, isRepo) {
				s.mu.Unlock()
				q.err(http.StatusBadRequest, excValidation, "The permission "+tail[2]+" is not valid for this access key.", "permission")
				return
			}
			if key != nil {
				g := key.Grants[gi]
				g.Permission = newPerm
				if q.keeps() {
					key.Grants[gi] = g
				}
				out := s.accessKeyJSON(key, g, p, r, q.c.name())
				s.mu.Unlock()
				q.written(http.StatusOK, out)
				return
			}
		}
		s.mu.Unlock()
		if q.r.Method == http.MethodGet || q.r.Method == http.MethodPut {
			q.err(http.StatusNotFound, excNoKey, "No SSH access key with ID "+tail[0]+" exists for this "+map[bool]string{true: "repository", false: "project"}[isRepo]+".", "")
			return
		}
		q.badMethod()
	default:
		if len(tail) == 0 {
			q.badMethod()
			return
		}
		q.err(http.StatusNotFound, excNotFound, "Not Found: "+q.r.URL.Path, "")
	}
}

func (q *request) listAccessKeys(p *projectState, r *repoState, target Grant) {
	query := q.r.URL.Query()
	filter := strings.ToLower(query.Get("filter"))
	minPerm := query.Get("permission")
	if minPerm == "" {
		minPerm = query.Get("minimumPermission")
	}
	effective := query.Get("effective") == "true"
	s := q.s
	s.mu.Lock()
	var vals []any
	for _, k := range s.accessKeys {
		if filter != "" && !strings.HasPrefix(strings.ToLower(k.Label), filter) {
			continue
		}
		for _, g := range k.Grants {
			onTarget := g.Project == target.Project && g.Repo == target.Repo
			viaProject := effective && target.Repo != "" && g.Project == target.Project && g.Repo == ""
			if !onTarget && !viaProject {
				continue
			}
			if minPerm != "" && permLevel(g.Permission) < permLevel(strings.ToUpper(minPerm)) {
				continue
			}
			gr := r
			if viaProject {
				gr = nil
			}
			vals = append(vals, s.accessKeyJSON(k, g, p, gr, q.c.name()))
		}
	}
	s.mu.Unlock()
	q.page(vals)
}

func (q *request) addAccessKey(p *projectState, r *repoState, target Grant) {
	var in struct {
		Key struct {
			Text       string `json:"text"`
			Label      string `json:"label"`
			ExpiryDays *int   `json:"expiryDays"`
		} `json:"key"`
		Permission string `json:"permission"`
	}
	if !q.decode(&in) {
		return
	}
	perm := strings.ToUpper(in.Permission)
	if !validPermission(perm, target.Repo != "") {
		want := "PROJECT_READ or PROJECT_WRITE"
		if target.Repo != "" {
			want = "REPO_READ or REPO_WRITE"
		}
		q.err(http.StatusBadRequest, excValidation, "The permission must be one of "+want+".", "permission")
		return
	}
	pk, err := parseKeyText(in.Key.Text)
	if err != nil {
		q.err(http.StatusBadRequest, excValidation, err.Error(), "text")
		return
	}
	expiry := 0
	if in.Key.ExpiryDays != nil && *in.Key.ExpiryDays > 0 {
		expiry = *in.Key.ExpiryDays
	}
	s := q.s
	s.mu.Lock()
	if _, msg := s.keyClashLocked(pk.blob, ""); msg != "" {
		s.mu.Unlock()
		q.err(http.StatusConflict, excDuplicate, msg, "text")
		return
	}
	key := s.findAccessKeyLocked(pk.blob)
	if key == nil {
		key = &AccessKeyRecord{KeyRecord: pk.record(s.nextKeyID, in.Key.Label, expiry, time.Now())}
		s.nextKeyID++
		if q.keeps() {
			s.accessKeys = append(s.accessKeys, key)
		}
	}
	target.Permission = perm
	grants := key.Grants
	if !q.keeps() {
		grants = slices.Clone(grants)
	}
	gi := slices.IndexFunc(grants, func(g Grant) bool { return g.Project == target.Project && g.Repo == target.Repo })
	if gi >= 0 {
		grants[gi].Permission = perm // same key, same target: the permission is updated
	} else {
		grants = append(grants, target)
		gi = len(grants) - 1
	}
	if q.keeps() {
		key.Grants = grants
	}
	out := s.accessKeyJSON(key, grants[gi], p, r, q.c.name())
	s.mu.Unlock()
	q.written(http.StatusCreated, out)
}

// accessKeyJSON is Bitbucket's RestSshAccessKey. r nil means a project
// grant. Callers hold s.mu.
func (s *Server) accessKeyJSON(k *AccessKeyRecord, g Grant, p *projectState, r *repoState, user string) map[string]any {
	m := map[string]any{"key": s.keyJSON(&k.KeyRecord), "permission": g.Permission}
	if r != nil && g.Repo != "" {
		m["repository"] = s.repoJSON(p, r, user, false)
	} else {
		m["project"] = s.projectJSON(p)
	}
	return m
}

// ---- repositories ----

func (q *request) repository(projectKey, slug string) {
	if q.r.Method != http.MethodGet {
		q.badMethod()
		return
	}
	if q.c.user == nil {
		q.denied()
		return
	}
	s := q.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, r := s.findRepo(projectKey, slug)
	switch {
	case p == nil:
		q.err(http.StatusNotFound, excNoProject, "Project "+projectKey+" does not exist.", "")
	case r == nil:
		q.err(http.StatusNotFound, excNoRepo, "Repository "+projectKey+"/"+slug+" does not exist.", "")
	case s.userProjectPerm(q.c.user.Name, p) < permRead:
		q.denied()
	default:
		s.cloneCalls++
		q.json(http.StatusOK, s.repoJSON(p, r, q.c.user.Name, s.cloneCalls%2 == 0))
	}
}

func (s *Server) projectJSON(p *projectState) map[string]any {
	m := map[string]any{"key": p.key, "id": p.id, "name": p.name, "public": false, "type": "NORMAL"}
	self := s.URL() + "/projects/" + p.key
	if p.personal {
		m["type"] = "PERSONAL"
		m["owner"] = map[string]any{"name": p.owner, "slug": strings.ToLower(p.owner), "displayName": p.owner, "active": true, "type": "NORMAL"}
		self = s.URL() + "/users/" + strings.ToLower(p.owner)
	}
	m["links"] = map[string]any{"self": []any{map[string]any{"href": self}}}
	return m
}

// repoJSON is Bitbucket's repository object. Clone links put the user
// into the http URL (as Bitbucket does) and come in either order.
func (s *Server) repoJSON(p *projectState, r *repoState, user string, sshFirst bool) map[string]any {
	httpURL := s.HTTPCloneURL(p.key, r.slug)
	if user != "" {
		scheme, rest, _ := strings.Cut(httpURL, "://")
		httpURL = scheme + "://" + strings.ToLower(user) + "@" + rest
	}
	sshURL := s.CloneURL(p.key, r.slug)
	if s.currentFaults().ExtCloneLink {
		sshURL = HostileCloneLink
	}
	clone := []any{
		map[string]any{"href": httpURL, "name": "http"},
		map[string]any{"href": sshURL, "name": "ssh"},
	}
	if sshFirst {
		slices.Reverse(clone)
	}
	return map[string]any{
		"slug": r.slug, "id": r.id, "name": r.slug, "hierarchyId": fmt.Sprintf("%020x", r.id*7919),
		"scmId": "git", "state": "AVAILABLE", "statusMessage": "Available", "forkable": true,
		"project": s.projectJSON(p), "public": false, "archived": false,
		"links": map[string]any{
			"clone": clone,
			"self":  []any{map[string]any{"href": s.URL() + "/projects/" + p.key + "/repos/" + r.slug + "/browse"}},
		},
	}
}
