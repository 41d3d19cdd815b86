package bbsandbox

import (
	"net/http"
	"strconv"
	"strings"
)

// Faults are switchable misbehaviours of the REST side, from an old or
// proxied server to a hostile one. The zero value is a well-behaved
// server. Set them with SetFaults.
type Faults struct {
	// Paging: every listing says there is another page, forever, one
	// value per page (EndlessPaging); repeats nextPageStart (PagingLoop);
	// or says isLastPage false without a nextPageStart (NoNextPageStart).
	EndlessPaging   bool
	PagingLoop      bool
	NoNextPageStart bool
	// PageBytes pads every listing page to at least this many bytes (in a
	// field nobody reads), for clients that must bound what they read.
	PageBytes int

	// EmptyAnswers answers every POST and PUT that succeeds with "{}"
	// instead of the object; LoseWrites answers them as usual but stores
	// nothing. Both together are a server that claims 201 for nothing.
	EmptyAnswers bool
	LoseWrites   bool
	// OldServer answers 200 instead of 201 when a key is added.
	OldServer bool

	// EscapesInErrors puts terminal escape sequences (clear screen, an OSC
	// window title, a carriage return and a forged "error:" line) into
	// every error message.
	EscapesInErrors bool
	// ExtCloneLink makes the ssh clone link of every repository an ext::
	// command instead of an ssh:// URL.
	ExtCloneLink bool
	// BareUnauthorized answers every request that carries credentials with
	// a 401 and a WWW-Authenticate challenge, in HTML and without
	// Bitbucket's exception name (an SSO gateway, say).
	BareUnauthorized bool
}

// HostileEscapes is what EscapesInErrors adds to error messages.
const HostileEscapes = "\x1b[2J\x1b]0;pwned\x07\r\nerror: fake line"

// HostileCloneLink is the ssh clone link with ExtCloneLink.
const HostileCloneLink = "ext::sh -c touch% /tmp/bbsandbox-pwned"

// SetFaults switches the REST misbehaviours (see Faults).
func (s *Server) SetFaults(f Faults) { s.faults.Store(&f) }

// SetVersion sets the version /rest/api/1.0/application-properties
// reports (default "9.2.0").
func (s *Server) SetVersion(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version = v
}

// SetRedirect answers every request whose path (including the context
// path) starts with prefix with a 302 to target + the rest of the path and
// the query. target may be this server's URL (a same-host redirect) or
// another one. An empty prefix turns redirects off.
func (s *Server) SetRedirect(prefix, target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.redirectFrom, s.redirectTo = prefix, strings.TrimRight(target, "/")
}

// currentFaults needs no lock, so handlers may ask while they hold s.mu.
func (s *Server) currentFaults() Faults {
	if f := s.faults.Load(); f != nil {
		return *f
	}
	return Faults{}
}

// redirect answers a redirect when SetRedirect asks for one.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	from, to := s.redirectFrom, s.redirectTo
	s.mu.Unlock()
	rest, ok := strings.CutPrefix(r.URL.Path, from)
	if from == "" || !ok {
		return false
	}
	loc := to + "/" + strings.TrimLeft(rest, "/")
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, loc, http.StatusFound)
	return true
}

// errMsg is an error message as the server sends it, with escapes when
// the fault asks for them.
func (s *Server) errMsg(msg string) string {
	if s.currentFaults().EscapesInErrors {
		return msg + HostileEscapes
	}
	return msg
}

// bareUnauthorized answers a credentialed request as an SSO gateway would.
func bareUnauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="Atlassian Bitbucket"`)
	w.Header().Set("Content-Type", "text/html;charset=UTF-8")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte("<html><body><h1>401 Unauthorized</h1></body></html>"))
}

// shapePage shapes one listing page (out, about to be sent) under the
// paging faults.
func (f Faults) shapePage(out map[string]any, start int) {
	switch {
	case f.EndlessPaging:
		out["isLastPage"] = false
		out["nextPageStart"] = start + max(len(out["values"].([]any)), 1)
	case f.PagingLoop:
		out["isLastPage"] = false
		out["nextPageStart"] = start + 1
		if start > 0 {
			out["nextPageStart"] = start // the same start again
		}
	case f.NoNextPageStart:
		out["isLastPage"] = false
		delete(out, "nextPageStart")
	}
	if f.PageBytes > 0 {
		out["padding"] = strings.Repeat("x", f.PageBytes)
	}
}

// endlessValue is the single value of every page under EndlessPaging.
func endlessValue(start int) any {
	return map[string]any{"id": 1_000_000 + start, "text": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + strconv.Itoa(start), "label": "endless"}
}
