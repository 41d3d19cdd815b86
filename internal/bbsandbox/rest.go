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
