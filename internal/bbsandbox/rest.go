package bbsandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Exception names and messages of Bitbucket's error envelope.
const (
	excAuth        = "com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException"
	msgAuth        = "Authentication failed. Please check your credentials and try again."
	excDenied      = "com.atlassian.bitbucket.AuthorisationException"
	msgDenied      = "You are not permitted to access this resource"
	excNoProject   = "com.atlassian.bitbucket.project.NoSuchProjectException"
	excNoRepo      = "com.atlassian.bitbucket.repository.NoSuchRepositoryException"
	excNoUser      = "com.atlassian.bitbucket.user.NoSuchUserException"
	excNoKey       = "com.atlassian.bitbucket.ssh.NoSuchSshKeyException"
	excValidation  = "com.atlassian.bitbucket.validation.ArgumentValidationException"
	excDuplicate   = "com.atlassian.bitbucket.ssh.DuplicateSshKeyException"
	excDisabled    = "com.atlassian.bitbucket.FeatureDisabledException"
	excNotFound    = "com.atlassian.bitbucket.rest.NotFoundException"
	excBadMethod   = "com.atlassian.bitbucket.rest.MethodNotAllowedException"
	jsonType       = "application/json;charset=UTF-8"
	maxRequestBody = 1 << 20
)

// caller is the authenticated user of a request.
type caller struct {
	user     *userState
	viaToken bool
}

func (c caller) name() string {
	if c.user == nil {
		return ""
	}
	return c.user.Name
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP answers the REST API under the context path.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	w := &statusWriter{ResponseWriter: rw}
	rec := RequestRecord{
		Method: r.Method, Path: r.URL.Path, RawPath: r.URL.EscapedPath(), RawQuery: r.URL.RawQuery,
		Header: redactHeader(r.Header), Body: string(body), Time: time.Now(),
	}
	defer func() {
		rec.Status = w.status
		s.mu.Lock()
		s.requests = append(s.requests, rec)
		s.mu.Unlock()
	}()

	s.mu.Lock()
	delay := s.delay
	fail := s.fail
	if s.fail.n > 0 && (s.fail.method == "" || s.fail.method == r.Method) {
		s.fail.n--
	} else {
		fail.n = 0
	}
	s.mu.Unlock()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-s.ctx.Done():
			t.Stop()
			return
		}
	}
	if fail.n > 0 {
		if fail.retryAfter != "" {
			w.Header().Set("Retry-After", fail.retryAfter)
		}
		if fail.body == "" {
			writeError(w, fail.status, "com.atlassian.bitbucket.ServiceException", http.StatusText(fail.status), "")
			return
		}
		ct := fail.contentType
		if ct == "" {
			ct = jsonType
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(fail.status)
		_, _ = io.WriteString(w, fail.body)
		return
	}

	if s.redirect(w, r) {
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, s.context+"/rest/")
	if !ok {
		// Outside the application (a wrong context path): the servlet
		// container's HTML page, as a real server gives it.
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "<!doctype html><html><head><title>HTTP Status 404 – Not Found</title></head><body><h1>HTTP Status 404 – Not Found</h1></body></html>")
		return
	}
	if r.Header.Get("Authorization") != "" && s.currentFaults().BareUnauthorized {
		bareUnauthorized(w)
		return
	}

	c, ok := s.authenticate(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, excAuth, s.errMsg(msgAuth), "")
		return
	}
	if c.user != nil {
		rec.User = c.user.Name
		w.Header().Set("X-AUSERNAME", c.user.Name)
	}
	w.Header().Set("X-AREQUESTID", fmt.Sprintf("@SANDBOX%dx%d", time.Now().UnixMilli()%100000, len(rest)))

	if r.Method == http.MethodPost && !xsrfOK(r) {
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, "XSRF check failed")
		return
	}

	seg := strings.Split(strings.Trim(rest, "/"), "/")
	if len(seg) < 2 || (seg[1] != "1.0" && seg[1] != "latest") {
		writeError(w, http.StatusNotFound, excNotFound, s.errMsg("Not Found: "+r.URL.Path), "")
		return
	}
	req := &request{s: s, w: w, r: r, c: c, body: body}
	switch {
	case seg[0] == "ssh" && len(seg) == 3 && seg[2] == "keys":
		req.userKeys()
	case seg[0] == "ssh" && len(seg) == 4 && seg[2] == "keys":
		req.userKey(seg[3])
	case seg[0] == "ssh" && len(seg) == 3 && seg[2] == "settings":
		req.settings()
	case seg[0] == "keys" && len(seg) >= 5 && seg[2] == "projects" && seg[4] == "ssh":
		req.accessKeys(seg[3], "", seg[5:])
	case seg[0] == "keys" && len(seg) >= 7 && seg[2] == "projects" && seg[4] == "repos" && seg[6] == "ssh":
		req.accessKeys(seg[3], seg[5], seg[7:])
	case seg[0] == "api" && len(seg) == 6 && seg[2] == "projects" && seg[4] == "repos":
		req.repository(seg[3], seg[5])
	case seg[0] == "api" && len(seg) == 3 && seg[2] == "application-properties":
		s.mu.Lock()
		version := s.version
		s.mu.Unlock()
		req.json(http.StatusOK, map[string]any{
			"version": version, "buildNumber": "9002000", "buildDate": "1723590000000", "displayName": "Bitbucket",
		})
	default:
		writeError(w, http.StatusNotFound, excNotFound, s.errMsg("Not Found: "+r.URL.Path), "")
	}
}

func redactHeader(h http.Header) http.Header {
	out := h.Clone()
	if a := out.Get("Authorization"); a != "" {
		scheme, _, _ := strings.Cut(a, " ")
		out.Set("Authorization", scheme)
	}
	return out
}

// xsrfOK is Atlassian's XSRF rule for POST: JSON bodies, or the
// X-Atlassian-Token: no-check header.
func xsrfOK(r *http.Request) bool {
	if strings.EqualFold(r.Header.Get("X-Atlassian-Token"), "no-check") {
		return true
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// authenticate checks the Authorization header. ok is false for bad
// credentials; no header is an anonymous caller.
func (s *Server) authenticate(r *http.Request) (caller, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return caller{}, true
	}
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch strings.ToLower(scheme) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return caller{}, false
		}
		name, secret, ok := strings.Cut(string(raw), ":")
		u := s.users[strings.ToLower(name)]
		if !ok || u == nil || secret == "" {
			return caller{}, false
		}
		if u.Password != "" && secret == u.Password {
			return caller{user: u}, true
		}
		if slices.Contains(u.Tokens, secret) {
			return caller{user: u, viaToken: true}, true
		}
	case "bearer":
		for _, u := range s.users {
			if cred != "" && slices.Contains(u.Tokens, cred) {
				return caller{user: u, viaToken: true}, true
			}
		}
	}
	return caller{}, false
}

func writeError(w http.ResponseWriter, status int, exception, message, context string) {
	var ctx any
	if context != "" {
		ctx = context
	}
	w.Header().Set("Content-Type", jsonType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"context": ctx, "message": message, "exceptionName": exception}},
	})
}

// request carries one REST call through its handler.
type request struct {
	s    *Server
	w    http.ResponseWriter
	r    *http.Request
	c    caller
	body []byte
}

// written answers a successful POST or PUT, as the faults shape it.
func (q *request) written(status int, v any) {
	f := q.s.currentFaults()
	if f.OldServer && status == http.StatusCreated {
		status = http.StatusOK
	}
	if f.EmptyAnswers {
		v = map[string]any{}
	}
	q.json(status, v)
}

// keeps reports whether writes are stored (false under LoseWrites).
func (q *request) keeps() bool { return !q.s.currentFaults().LoseWrites }

func (q *request) json(status int, v any) {
	q.w.Header().Set("Content-Type", jsonType)
	q.w.WriteHeader(status)
	_ = json.NewEncoder(q.w).Encode(v)
}

func (q *request) err(status int, exception, message, context string) {
	writeError(q.w, status, exception, q.s.errMsg(message), context)
}

func (q *request) denied() { q.err(http.StatusUnauthorized, excDenied, msgDenied, "") }

func (q *request) badMethod() {
	q.err(http.StatusMethodNotAllowed, excBadMethod, "Method "+q.r.Method+" is not supported by this resource", "")
}

func (q *request) noContent() { q.w.WriteHeader(http.StatusNoContent) }

// decode reads the JSON body into v; false after answering 400.
func (q *request) decode(v any) bool {
	if err := json.Unmarshal(bytes.TrimSpace(q.body), v); err != nil {
		q.err(http.StatusBadRequest, "com.fasterxml.jackson.core.JsonParseException", "The request body could not be read: "+err.Error(), "")
		return false
	}
	return true
}

// page answers one page of values. limit is capped at Config.PageLimit
// (Bitbucket caps it too), so clients must follow nextPageStart.
func (q *request) page(values []any) {
	start, _ := strconv.Atoi(q.r.URL.Query().Get("start"))
	start = max(start, 0)
	limit, _ := strconv.Atoi(q.r.URL.Query().Get("limit"))
	if limit <= 0 || limit > q.s.cfg.PageLimit {
		limit = q.s.cfg.PageLimit
	}
	end := min(start+limit, len(values))
	vals := []any{}
	if start < len(values) {
		vals = values[start:end]
	}
	f := q.s.currentFaults()
	if f.EndlessPaging {
		vals = []any{endlessValue(start)}
	}
	out := map[string]any{
		"size": len(vals), "limit": limit, "start": start,
		"isLastPage": end >= len(values), "values": vals,
	}
	if end < len(values) {
		out["nextPageStart"] = end
	}
	f.shapePage(out, start)
	q.json(http.StatusOK, out)
}

// ---- SSH user keys ----

func (q *request) targetUser() (*userState, bool) {
	name := q.r.URL.Query().Get("user")
	if name == "" {
		name = q.r.URL.Query().Get("userName")
	}
	if q.c.user == nil {
		q.denied()
		return nil, false
	}
	if name == "" || strings.EqualFold(name, q.c.user.Name) {
		return q.c.user, true
	}
	q.s.mu.Lock()
	u := q.s.users[strings.ToLower(name)]
	q.s.mu.Unlock()
	if !q.c.user.Admin {
		q.denied()
		return nil, false
	}
	if u == nil {
		q.err(http.StatusNotFound, excNoUser, "User "+name+" does not exist.", "")
		return nil, false
	}
	return u, true
}

func (q *request) tokenMayManageKeys() bool {
	q.s.mu.Lock()
	ok := q.s.tokenKeys || !q.c.viaToken
	q.s.mu.Unlock()
	if !ok {
		q.err(http.StatusUnauthorized, excDenied, "HTTP access tokens cannot be used to change SSH keys of a user account. Authenticate with your password.", "")
	}
	return ok
}

func (q *request) userKeys() {
	switch q.r.Method {
	case http.MethodGet:
		u, ok := q.targetUser()
		if !ok {
			return
		}
		q.s.mu.Lock()
		var vals []any
		for _, k := range q.s.userKeys {
			if k.User == u.Name {
				vals = append(vals, q.s.keyJSON(k))
			}
		}
		q.s.mu.Unlock()
		q.page(vals)
	case http.MethodPost:
		u, ok := q.targetUser()
		if !ok || !q.tokenMayManageKeys() {
			return
		}
		var in struct {
			Text       string `json:"text"`
			Label      string `json:"label"`
			ExpiryDays *int   `json:"expiryDays"`
		}
		if !q.decode(&in) {
			return
		}
		pk, err := parseKeyText(in.Text)
		if err != nil {
			q.err(http.StatusBadRequest, excValidation, err.Error(), "text")
			return
		}
		expiry := 0
		if in.ExpiryDays != nil {
			if *in.ExpiryDays <= 0 {
				q.err(http.StatusBadRequest, excValidation, "The expiry must be a positive number of days.", "expiryDays")
				return
			}
			expiry = *in.ExpiryDays
		}
		q.s.mu.Lock()
		if _, msg := q.s.keyClashLocked(pk.blob, u.Name); msg != "" {
			q.s.mu.Unlock()
			q.err(http.StatusConflict, excDuplicate, msg, "text")
			return
		}
		rec := pk.record(q.s.nextKeyID, in.Label, expiry, time.Now())
		rec.User = u.Name
		q.s.nextKeyID++
		if q.keeps() {
			q.s.userKeys = append(q.s.userKeys, &rec)
		}
		out := q.s.keyJSON(&rec)
		q.s.mu.Unlock()
		q.written(http.StatusCreated, out)
	case http.MethodDelete:
		u, ok := q.targetUser()
		if !ok || !q.tokenMayManageKeys() {
			return
		}
		q.s.mu.Lock()
		q.s.userKeys = slices.DeleteFunc(q.s.userKeys, func(k *KeyRecord) bool { return k.User == u.Name })
		q.s.mu.Unlock()
		q.noContent()
	default:
		q.badMethod()
	}
}

func (q *request) userKey(idText string) {
	if q.c.user == nil {
		q.denied()
		return
	}
	id, _ := strconv.Atoi(idText)
	q.s.mu.Lock()
	var key *KeyRecord
	for _, k := range q.s.userKeys {
		if k.ID == id {
			key = k
		}
	}
	var out map[string]any
	if key != nil {
		out = q.s.keyJSON(key)
	}
	q.s.mu.Unlock()
	mine := key != nil && (key.User == q.c.user.Name || q.c.user.Admin)
	switch q.r.Method {
	case http.MethodGet:
		switch {
		case key == nil:
			q.err(http.StatusNotFound, excNoKey, "No SSH key exists with ID "+idText+".", "")
		case !mine:
			q.denied()
		default:
			q.json(http.StatusOK, out)
		}
	case http.MethodDelete:
		switch {
		case key == nil:
			q.noContent() // Bitbucket: deleted "or did not exist"
		case !mine:
			q.denied()
		case q.tokenMayManageKeys():
			q.s.mu.Lock()
			q.s.userKeys = slices.DeleteFunc(q.s.userKeys, func(k *KeyRecord) bool { return k.ID == id })
			q.s.mu.Unlock()
			q.noContent()
		}
	default:
		q.badMethod()
	}
}

// keyJSON is Bitbucket's key object. Callers hold s.mu.
func (s *Server) keyJSON(k *KeyRecord) map[string]any {
	m := map[string]any{
		"id": k.ID, "text": k.Text, "label": k.Label, "algorithmType": k.AlgorithmType,
		"bitLength":   k.BitLength,
		"fingerprint": strings.TrimPrefix(k.Fingerprint, "SHA256:"),
	}
	if s.dateStrings {
		m["createdDate"] = k.CreatedDate.UTC().Format("2006-01-02T15:04:05.000Z")
	} else {
		m["createdDate"] = k.CreatedDate.UnixMilli()
	}
	if !k.LastAuthenticated.IsZero() {
		if s.dateStrings {
			m["lastAuthenticated"] = strconv.FormatInt(k.LastAuthenticated.UnixMilli(), 10)
		} else {
			m["lastAuthenticated"] = k.LastAuthenticated.UnixMilli()
		}
	}
	if k.ExpiryDays > 0 {
		m["expiryDays"] = k.ExpiryDays
	}
	if k.AlgorithmType == "RSA" && k.BitLength < 3072 {
		m["warning"] = "RSA keys shorter than 3072 bits are considered weak."
	}
	return m
}

// ---- settings ----

func (q *request) settings() {
	if q.r.Method != http.MethodGet {
		q.badMethod()
		return
	}
	q.s.mu.Lock()
	anon := q.s.anonSetting
	enabled, ak := q.s.sshEnabled, q.s.akEnabled
	prefix, padding := q.s.fpPrefix, q.s.fpPadding
	baseOverride := q.s.sshBaseURL
	q.s.mu.Unlock()
	if q.c.user == nil && !anon {
		q.denied()
		return
	}
	// "port" is where the SSH server listens; baseUrl is what users are
	// told to dial (behind a port forward the two differ).
	port := q.s.advertisedPort()
	base := "ssh://git@127.0.0.1"
	if port != 22 {
		base += ":" + strconv.Itoa(port)
	}
	port = q.s.SSHPort()
	if baseOverride != "" {
		base = baseOverride
	}
	q.json(http.StatusOK, map[string]any{
		"enabled": enabled, "port": port, "baseUrl": base, "accessKeysEnabled": ak,
		"fingerprint": map[string]any{"algorithm": "SHA256", "value": q.s.hostKeyFingerprintValue(prefix, padding)},
	})
}

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
