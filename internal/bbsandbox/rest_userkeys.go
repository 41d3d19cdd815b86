package bbsandbox

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

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
