package bitbucket

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeBB is a small Bitbucket stand-in that follows docs/bitbucket.md:
// error envelopes, 401 for bad credentials and missing permission, the XSRF
// rule, paging with nextPageStart, 201 on add, 204 on delete.
type fakeBB struct {
	t          *testing.T
	context    string // e.g. "/bitbucket"
	apiVersion string // "1.0" or "latest"
	pageSize   int    // server-side cap on limit
	oldServer  bool   // answer 200 instead of 201 on add
	policy     string // non-empty: refuse every key with this 400 message
	token      string
	user, pass string
	settings   string // raw JSON for /ssh/settings

	mu         sync.Mutex
	nextID     int
	keys       []SSHKey // user keys of "alice"
	accessKeys map[string][]AccessKey
	requests   []*http.Request
}

func newFake(t *testing.T) *fakeBB {
	return &fakeBB{
		t: t, apiVersion: "1.0", pageSize: 25, token: "tok-SECRET-123",
		user: "alice", pass: "pw-SECRET-456", nextID: 1,
		accessKeys: map[string][]AccessKey{},
		settings:   `{"enabled":true,"port":7999,"baseUrl":"ssh://git@bb.example:7999","fingerprint":{"algorithm":"SHA256","value":"AAAA="},"accessKeysEnabled":true}`,
	}
}

func (f *fakeBB) start() *httptest.Server {
	srv := httptest.NewServer(f.handler())
	f.t.Cleanup(srv.Close)
	return srv
}

func (f *fakeBB) handler() http.Handler {
	mux := http.NewServeMux()
	p := func(method, plugin, rest string) string {
		return method + " " + f.context + "/rest/" + plugin + "/" + f.apiVersion + rest
	}
	mux.HandleFunc(p("GET", "ssh", "/settings"), func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, f.settings)
	})
	mux.HandleFunc(p("GET", "ssh", "/keys"), f.authed(func(w http.ResponseWriter, r *http.Request) {
		if u := r.URL.Query().Get("user"); u != "" && u != f.user {
			writeErr(w, 404, "User "+u+" does not exist.", "com.atlassian.bitbucket.user.NoSuchUserException")
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.page(w, r, toAny(f.keys))
	}))
	mux.HandleFunc(p("POST", "ssh", "/keys"), f.authed(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Text, Label string
			ExpiryDays  *int
		}
		if !decode(w, r, &body) {
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if !f.validKey(w, body.Text) {
			return
		}
		k := SSHKey{ID: f.nextID, Text: body.Text, Label: body.Label, AlgorithmType: "ED25519", BitLength: 256,
			Fingerprint: "fp" + strconv.Itoa(f.nextID), ExpiryDays: body.ExpiryDays}
		f.nextID++
		f.keys = append(f.keys, k)
		f.writeCreated(w, k)
	}))
	mux.HandleFunc(p("GET", "ssh", "/keys/{id}"), f.authed(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, k := range f.keys {
			if strconv.Itoa(k.ID) == r.PathValue("id") {
				writeJSON(w, 200, k)
				return
			}
		}
		writeErr(w, 404, "No SSH key with ID "+r.PathValue("id")+" exists.", "com.atlassian.bitbucket.ssh.NoSuchSshKeyException")
	}))
	mux.HandleFunc(p("DELETE", "ssh", "/keys/{id}"), f.authed(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		for i, k := range f.keys {
			if strconv.Itoa(k.ID) == r.PathValue("id") {
				f.keys = append(f.keys[:i], f.keys[i+1:]...)
				break
			}
		}
		w.WriteHeader(204) // also when it did not exist
	}))
	for _, scope := range []string{"/projects/{p}/ssh", "/projects/{p}/repos/{s}/ssh"} {
		mux.HandleFunc(p("GET", "keys", scope), f.authed(func(w http.ResponseWriter, r *http.Request) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.page(w, r, toAny(f.accessKeys[scopeKey(r)]))
		}))
		mux.HandleFunc(p("POST", "keys", scope), f.authed(func(w http.ResponseWriter, r *http.Request) {
			var body AccessKey
			if !decode(w, r, &body) {
				return
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			sk := scopeKey(r)
			for i, ak := range f.accessKeys[sk] {
				if ak.Key.Text == body.Key.Text { // same key again: update the permission
					f.accessKeys[sk][i].Permission = body.Permission
					writeJSON(w, 200, f.accessKeys[sk][i])
					return
				}
			}
			// One access key may serve many repositories and projects.
			id := f.accessKeyID(body.Key.Text)
			if id == 0 {
				if !f.validKey(w, body.Key.Text) {
					return
				}
				id = f.nextID
				f.nextID++
			}
			ak := AccessKey{Key: SSHKey{ID: id, Text: body.Key.Text, Label: body.Key.Label}, Permission: body.Permission}
			if s := r.PathValue("s"); s != "" {
				ak.Repository = &Repository{Slug: s, Project: Project{Key: r.PathValue("p")}}
			} else {
				ak.Project = &Project{Key: r.PathValue("p")}
			}
			f.accessKeys[sk] = append(f.accessKeys[sk], ak)
			f.writeCreated(w, ak)
		}))
		mux.HandleFunc(p("DELETE", "keys", scope+"/{id}"), f.authed(func(w http.ResponseWriter, r *http.Request) {
			f.mu.Lock()
			defer f.mu.Unlock()
			sk := scopeKey(r)
			for i, ak := range f.accessKeys[sk] {
				if strconv.Itoa(ak.Key.ID) == r.PathValue("id") {
					f.accessKeys[sk] = append(f.accessKeys[sk][:i], f.accessKeys[sk][i+1:]...)
					break
				}
			}
			w.WriteHeader(204)
		}))
		mux.HandleFunc(p("PUT", "keys", scope+"/{id}/permission/{perm}"), f.authed(func(w http.ResponseWriter, r *http.Request) {
			f.mu.Lock()
			defer f.mu.Unlock()
			sk := scopeKey(r)
			for i, ak := range f.accessKeys[sk] {
				if strconv.Itoa(ak.Key.ID) == r.PathValue("id") {
					f.accessKeys[sk][i].Permission = Permission(r.PathValue("perm"))
					writeJSON(w, 200, f.accessKeys[sk][i])
					return
				}
			}
			writeErr(w, 404, "No access key with ID "+r.PathValue("id")+".", "")
		}))
	}
	mux.HandleFunc(p("GET", "api", "/projects/{p}/repos/{s}"), f.authed(func(w http.ResponseWriter, r *http.Request) {
		proj, slug := r.PathValue("p"), r.PathValue("s")
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		// The clone array order varies on real servers: ssh comes second here.
		fmt.Fprintf(w, `{"slug":%q,"name":%q,"project":{"key":%q,"name":"Project"},"links":{"clone":[`+
			`{"href":"http://%s%s/scm/%s/%s.git","name":"http"},{"href":"ssh://git@bb.example:7999/%s/%s.git","name":"ssh"}]}}`,
			slug, slug, proj, r.Host, f.context, strings.ToLower(proj), slug, strings.ToLower(proj), slug)
	}))
	// Anything else is a Tomcat-style HTML 404, as a wrong context path or
	// API version gets from a real server.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		w.WriteHeader(404)
		fmt.Fprint(w, "<html><body><h1>HTTP Status 404 – Not Found</h1></body></html>")
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Clone(r.Context()))
		f.mu.Unlock()
		// Bitbucket's XSRF filter. Stricter than the real one (which lets
		// JSON through): every write needs the header, so passing tests
		// prove the client sends it.
		if r.Method != http.MethodGet && r.Header.Get("X-Atlassian-Token") != "no-check" {
			w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
			w.WriteHeader(403)
			fmt.Fprint(w, "XSRF check failed")
			return
		}
		if r.Method == http.MethodPost && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			writeErr(w, 415, "Unsupported media type", "")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func scopeKey(r *http.Request) string { return r.PathValue("p") + "/" + r.PathValue("s") }

// authed checks Bearer or Basic credentials the way Bitbucket answers:
// wrong credentials are 401 IncorrectPasswordAuthenticationException,
// none at all is 401 "not permitted".
func (f *fakeBB) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		authz := r.Header.Get("Authorization")
		user, pass, isBasic := r.BasicAuth()
		switch {
		case authz == "":
			writeErr(w, 401, "You are not permitted to access this resource", "com.atlassian.bitbucket.AuthorisationException")
			return
		case authz == "Bearer "+f.token, isBasic && user == f.user && pass == f.pass:
			w.Header().Set("X-AUSERNAME", f.user)
			h(w, r)
		default:
			writeErr(w, 401, "Authentication failed. Please check your credentials and try again.", incorrectPassword)
		}
	}
}

func (f *fakeBB) validKey(w http.ResponseWriter, text string) bool {
	fields := strings.Fields(text)
	if len(fields) < 2 || !strings.HasPrefix(fields[0], "ssh-") {
		writeErr(w, 400, "The SSH key is invalid.", "com.atlassian.bitbucket.ssh.InvalidSshKeyException")
		return false
	}
	if f.policy != "" {
		writeErr(w, 400, f.policy, "com.atlassian.bitbucket.ssh.SshKeyPolicyException")
		return false
	}
	for _, k := range f.keys {
		if strings.Fields(k.Text)[1] == fields[1] {
			writeErr(w, 409, "This SSH key is already used.", "com.atlassian.bitbucket.ssh.DuplicateSshKeyException")
			return false
		}
	}
	for _, aks := range f.accessKeys {
		for _, ak := range aks {
			if strings.Fields(ak.Key.Text)[1] == fields[1] {
				writeErr(w, 409, "This SSH key is already used to access a repository or project.", "")
				return false
			}
		}
	}
	return true
}

func (f *fakeBB) accessKeyID(text string) int {
	for _, aks := range f.accessKeys {
		for _, ak := range aks {
			if ak.Key.Text == text {
				return ak.Key.ID
			}
		}
	}
	return 0
}

func (f *fakeBB) writeCreated(w http.ResponseWriter, v any) {
	if f.oldServer {
		writeJSON(w, 200, v)
	} else {
		writeJSON(w, 201, v)
	}
}

// page serves values[start:start+limit] with Bitbucket's paging fields.
func (f *fakeBB) page(w http.ResponseWriter, r *http.Request, values []any) {
	start, _ := strconv.Atoi(r.URL.Query().Get("start"))
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 || limit > f.pageSize {
		limit = f.pageSize
	}
	start = min(start, len(values))
	end := min(start+limit, len(values))
	out := map[string]any{
		"size": end - start, "limit": limit, "start": start,
		"isLastPage": end == len(values), "values": values[start:end],
	}
	if end < len(values) {
		out["nextPageStart"] = end
	}
	writeJSON(w, 200, out)
}

func toAny[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeErr(w, 400, "Invalid JSON: "+err.Error(), "")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, code int, msg, exception string) {
	e := map[string]any{"context": nil, "message": msg}
	if exception != "" {
		e["exceptionName"] = exception
	}
	writeJSON(w, code, map[string]any{"errors": []any{e}})
}
