package bbsandbox

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestUserKeyLifecycleAndPaging(t *testing.T) {
	s := startSandbox(t, nil)
	signer, text := newEd25519(t, "alice@example.com")

	r := do(t, s, "POST", "/rest/ssh/1.0/keys", asAlice, map[string]any{"text": text})
	wantStatus(t, r, http.StatusCreated)
	if got := r.header.Get("X-AUSERNAME"); got != "alice" {
		t.Errorf("X-AUSERNAME = %q, want alice", got)
	}
	key := r.json(t)
	wantFP := strings.TrimPrefix(ssh.FingerprintSHA256(signer.PublicKey()), "SHA256:")
	if key["fingerprint"] != wantFP {
		t.Errorf("fingerprint %v, want %v (no SHA256: prefix)", key["fingerprint"], wantFP)
	}
	if key["label"] != "alice@example.com" || key["algorithmType"] != "ED25519" || key["bitLength"] != 256.0 || key["text"] != text {
		t.Errorf("key object: %v", key)
	}
	if _, ok := key["createdDate"].(float64); !ok {
		t.Errorf("createdDate %v is not epoch millis", key["createdDate"])
	}
	id := int(key["id"].(float64))

	// Two more keys: three keys with a page limit of 2 must page.
	for i := range 2 {
		_, more := newEd25519(t, fmt.Sprint("more", i))
		wantStatus(t, do(t, s, "POST", "/rest/ssh/latest/keys", asAlice, map[string]any{"text": more, "label": fmt.Sprint("label", i)}), http.StatusCreated)
	}
	first := do(t, s, "GET", "/rest/ssh/1.0/keys?limit=100", asAlice, nil).json(t)
	if first["size"] != 2.0 || first["limit"] != 2.0 || first["isLastPage"] != false || first["nextPageStart"] != 2.0 {
		t.Fatalf("first page: %v", first)
	}
	second := do(t, s, "GET", "/rest/ssh/1.0/keys?start=2", asAlice, nil).json(t)
	if second["size"] != 1.0 || second["isLastPage"] != true || second["nextPageStart"] != nil {
		t.Fatalf("second page: %v", second)
	}
	if got := second["values"].([]any)[0].(map[string]any)["label"]; got != "label1" {
		t.Errorf("label of third key = %v", got)
	}
	// admin may read alice's keys, bob may not.
	if got := do(t, s, "GET", "/rest/ssh/1.0/keys?user=alice", asAdmin, nil).json(t)["size"]; got != 2.0 {
		t.Errorf("admin listing alice's keys: size %v", got)
	}
	r = do(t, s, "GET", "/rest/ssh/1.0/keys?user=alice", asBob, nil)
	wantStatus(t, r, http.StatusUnauthorized)

	wantStatus(t, do(t, s, "GET", fmt.Sprintf("/rest/ssh/1.0/keys/%d", id), asAlice, nil), http.StatusOK)
	wantStatus(t, do(t, s, "GET", fmt.Sprintf("/rest/ssh/1.0/keys/%d", id), asBob, nil), http.StatusUnauthorized)
	wantStatus(t, do(t, s, "DELETE", fmt.Sprintf("/rest/ssh/1.0/keys/%d", id), asAlice, nil), http.StatusNoContent)
	wantStatus(t, do(t, s, "DELETE", fmt.Sprintf("/rest/ssh/1.0/keys/%d", id), asAlice, nil), http.StatusNoContent)
	wantStatus(t, do(t, s, "GET", fmt.Sprintf("/rest/ssh/1.0/keys/%d", id), asAlice, nil), http.StatusNotFound)
	if n := len(s.UserKeys("alice")); n != 2 {
		t.Fatalf("UserKeys after delete: %d", n)
	}
	s.SetDatesAsStrings(true)
	dated := do(t, s, "GET", "/rest/ssh/1.0/keys", asAlice, nil).json(t)["values"].([]any)[0].(map[string]any)
	if d, ok := dated["createdDate"].(string); !ok || !strings.HasSuffix(d, "Z") {
		t.Errorf("createdDate as string: %v", dated["createdDate"])
	}
	wantStatus(t, do(t, s, "DELETE", "/rest/ssh/1.0/keys?user=alice", asAlice, nil), http.StatusNoContent)
	if n := len(s.UserKeys("alice")); n != 0 {
		t.Fatalf("UserKeys after delete all: %d", n)
	}
}

func dsaKeyText(t *testing.T) string {
	t.Helper()
	p := new(big.Int).Lsh(big.NewInt(1), 1023)
	p.Add(p, big.NewInt(1))
	blob := ssh.Marshal(struct {
		Name       string
		P, Q, G, Y *big.Int
	}{"ssh-dss", p, big.NewInt(65537), big.NewInt(2), big.NewInt(12345)})
	return "ssh-dss " + base64.StdEncoding.EncodeToString(blob) + " old@example.com"
}

func TestUserKeyRejections(t *testing.T) {
	s := startSandbox(t, nil)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallPub, _ := ssh.NewPublicKey(&small.PublicKey)
	_, mine := newEd25519(t, "a@example.com")
	_, access := newEd25519(t, "ci")

	for name, tc := range map[string]struct {
		text   string
		status int
		msg    string
	}{
		"garbage":     {"ssh-ed25519 bm90IGEga2V5", 400, "invalid"},
		"private key": {"-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----", 400, "invalid"},
		"rsa 1024":    {strings.TrimSpace(string(ssh.MarshalAuthorizedKey(smallPub))), 400, msgKeyRestricted},
		"dsa":         {dsaKeyText(t), 400, msgKeyRestricted},
	} {
		r := do(t, s, "POST", "/rest/ssh/1.0/keys", asAlice, map[string]any{"text": tc.text})
		wantStatus(t, r, tc.status)
		if msg, _ := r.errorOf(t); !strings.Contains(msg, tc.msg) {
			t.Errorf("%s: message %q, want it to contain %q", name, msg, tc.msg)
		}
	}

	wantStatus(t, do(t, s, "POST", "/rest/ssh/1.0/keys", asAlice, map[string]any{"text": mine}), 201)
	// The same key again (other comment): 409, and for another user too.
	base := strings.Join(strings.Fields(mine)[:2], " ")
	r := do(t, s, "POST", "/rest/ssh/1.0/keys", asAlice, map[string]any{"text": base + " other-comment"})
	wantStatus(t, r, 409)
	if msg, _ := r.errorOf(t); msg != msgKeyIsYours {
		t.Errorf("duplicate own key: %q", msg)
	}
	r = do(t, s, "POST", "/rest/ssh/1.0/keys", asBob, map[string]any{"text": mine})
	wantStatus(t, r, 409)
	if msg, _ := r.errorOf(t); msg != msgKeyIsOtherUsers {
		t.Errorf("key of another user: %q", msg)
	}
	// A user key cannot become an access key, nor the other way round.
	r = do(t, s, "POST", "/rest/keys/1.0/projects/PROJ/repos/demo/ssh", asAlice, map[string]any{"key": map[string]any{"text": mine}, "permission": "REPO_READ"})
	wantStatus(t, r, 409)
	wantStatus(t, do(t, s, "POST", "/rest/keys/1.0/projects/PROJ/repos/demo/ssh", asAlice, map[string]any{"key": map[string]any{"text": access}, "permission": "REPO_READ"}), 201)
	r = do(t, s, "POST", "/rest/ssh/1.0/keys", asBob, map[string]any{"text": access})
	wantStatus(t, r, 409)
	if msg, _ := r.errorOf(t); msg != "This SSH key is already used to access a repository or project." {
		t.Errorf("access key as user key: %q", msg)
	}
}

func TestAuthAndXSRF(t *testing.T) {
	s := startSandbox(t, nil)
	_, text := newEd25519(t, "")

	r := do(t, s, "GET", "/rest/ssh/1.0/keys", anon, nil)
	wantStatus(t, r, 401)
	if _, exc := r.errorOf(t); !strings.HasSuffix(exc, "AuthorisationException") {
		t.Errorf("anonymous: exception %q", exc)
	}
	r = do(t, s, "GET", "/rest/ssh/1.0/keys", auth{user: "alice", secret: "wrong"}, nil)
	wantStatus(t, r, 401)
	if _, exc := r.errorOf(t); !strings.HasSuffix(exc, "IncorrectPasswordAuthenticationException") {
		t.Errorf("bad password: exception %q", exc)
	}
	wantStatus(t, do(t, s, "GET", "/rest/ssh/1.0/keys", auth{bearer: "nope"}, nil), 401)

	r = do(t, s, "GET", "/rest/ssh/1.0/keys", auth{bearer: aliceToken}, nil)
	wantStatus(t, r, 200)
	if r.header.Get("X-AUSERNAME") != "alice" {
		t.Errorf("bearer: X-AUSERNAME %q", r.header.Get("X-AUSERNAME"))
	}
	wantStatus(t, do(t, s, "GET", "/rest/ssh/1.0/keys", auth{user: "alice", secret: aliceToken}, nil), 200)

	// Tokens refused for personal keys (the other reading of the docs).
	s.SetTokensCanManageUserKeys(false)
	wantStatus(t, do(t, s, "POST", "/rest/ssh/1.0/keys", auth{bearer: aliceToken}, map[string]any{"text": text}), 401)
	s.SetTokensCanManageUserKeys(true)
	wantStatus(t, do(t, s, "POST", "/rest/ssh/1.0/keys", auth{bearer: aliceToken}, map[string]any{"text": text}), 201)

	// XSRF: a form-like POST without the header is refused.
	req, _ := http.NewRequest("POST", s.URL()+"/rest/ssh/1.0/keys", strings.NewReader(`{"text":"x"}`))
	req.Header.Set("Content-Type", "text/plain")
	req.SetBasicAuth("alice", alicePW)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, _ := resp.Body.Read(buf)
	resp.Body.Close()
	if resp.StatusCode != 403 || strings.TrimSpace(string(buf[:n])) != "XSRF check failed" {
		t.Errorf("XSRF: %d %q", resp.StatusCode, buf[:n])
	}

	// Requests are recorded with the Authorization header reduced to its scheme.
	var sawBearer bool
	for _, rec := range s.Requests() {
		a := strings.Join(rec.Header["Authorization"], ",")
		if strings.Contains(a, aliceToken) || strings.Contains(a, " ") {
			t.Fatalf("Authorization not redacted: %q", a)
		}
		sawBearer = sawBearer || (a == "Bearer" && rec.User == "alice")
	}
	if !sawBearer {
		t.Error("no recorded Bearer request from alice")
	}
}

func TestAccessKeys(t *testing.T) {
	s := startSandbox(t, nil)
	_, ci := newEd25519(t, "ci-bot")
	_, deploy := newEd25519(t, "deploy")

	repoPath := "/rest/keys/1.0/projects/proj/repos/demo/ssh" // project key case-insensitive
	r := do(t, s, "POST", repoPath, asAlice, map[string]any{"key": map[string]any{"text": ci}, "permission": "REPO_READ"})
	wantStatus(t, r, 201)
	ak := r.json(t)
	id := int(ak["key"].(map[string]any)["id"].(float64))
	if ak["permission"] != "REPO_READ" || ak["repository"].(map[string]any)["slug"] != "demo" {
		t.Fatalf("access key: %v", ak)
	}
	// Same key, same repository, other permission: updated, same id.
	r = do(t, s, "POST", repoPath, asAlice, map[string]any{"key": map[string]any{"text": ci}, "permission": "REPO_WRITE"})
	wantStatus(t, r, 201)
	if got := r.json(t); got["permission"] != "REPO_WRITE" || int(got["key"].(map[string]any)["id"].(float64)) != id {
		t.Fatalf("re-add with REPO_WRITE: %v", got)
	}
	// The same key on another repository and on the project: one key, three grants.
	wantStatus(t, do(t, s, "POST", "/rest/keys/latest/projects/PROJ/repos/other/ssh", asAlice, map[string]any{"key": map[string]any{"text": ci}, "permission": "REPO_READ"}), 201)
	wantStatus(t, do(t, s, "POST", "/rest/keys/1.0/projects/PROJ/ssh", asAlice, map[string]any{"key": map[string]any{"text": ci}, "permission": "PROJECT_READ"}), 201)
	if aks := s.AccessKeys(); len(aks) != 1 || len(aks[0].Grants) != 3 {
		t.Fatalf("AccessKeys: %+v", aks)
	}
	wantStatus(t, do(t, s, "POST", repoPath, asAlice, map[string]any{"key": map[string]any{"text": deploy, "label": "deploy key"}, "permission": "REPO_READ"}), 201)

	// Wrong permission kind, bob without admin, unknown repository.
	wantStatus(t, do(t, s, "POST", repoPath, asAlice, map[string]any{"key": map[string]any{"text": deploy}, "permission": "PROJECT_READ"}), 400)
	wantStatus(t, do(t, s, "POST", repoPath, asBob, map[string]any{"key": map[string]any{"text": deploy}, "permission": "REPO_READ"}), 401)
	wantStatus(t, do(t, s, "GET", repoPath, asBob, nil), 401)
	wantStatus(t, do(t, s, "GET", "/rest/keys/1.0/projects/PROJ/repos/nope/ssh", asAlice, nil), 404)

	list := do(t, s, "GET", repoPath, asAlice, nil).json(t)
	if list["size"] != 2.0 || list["isLastPage"] != true {
		t.Fatalf("list: %v", list)
	}
	if got := do(t, s, "GET", repoPath+"?filter=depl", asAlice, nil).json(t)["size"]; got != 1.0 {
		t.Errorf("filter: size %v", got)
	}
	if got := do(t, s, "GET", repoPath+"?permission=REPO_WRITE", asAlice, nil).json(t)["size"]; got != 1.0 {
		t.Errorf("permission filter: size %v", got)
	}

	keyPath := fmt.Sprintf("%s/%d", repoPath, id)
	wantStatus(t, do(t, s, "GET", keyPath, asAlice, nil), 200)
	r = do(t, s, "PUT", keyPath+"/permission/REPO_READ", asAlice, nil)
	wantStatus(t, r, 200)
	if r.json(t)["permission"] != "REPO_READ" {
		t.Errorf("PUT permission: %s", r.body)
	}
	wantStatus(t, do(t, s, "PUT", keyPath+"/permission/PROJECT_ADMIN", asAlice, nil), 400)
	wantStatus(t, do(t, s, "DELETE", keyPath, asAlice, nil), 204)
	wantStatus(t, do(t, s, "DELETE", keyPath, asAlice, nil), 204)
	wantStatus(t, do(t, s, "GET", keyPath, asAlice, nil), 404)
	if aks := s.AccessKeys(); len(aks) != 2 {
		t.Fatalf("after revoking one grant: %+v", aks)
	}

	s.SetAccessKeysEnabled(false)
	if r := do(t, s, "GET", repoPath, asAlice, nil); r.status < 400 {
		t.Errorf("access keys disabled: %d", r.status)
	}
}

func TestSettingsFingerprintFormats(t *testing.T) {
	s := startSandbox(t, func(c *Config) { c.AdvertisedSSHPort = 7999 })
	want := ssh.FingerprintSHA256(s.HostKey()) // "SHA256:" + unpadded
	for _, tc := range []struct{ prefix, padding bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		s.SetSettingsFingerprintFormat(tc.prefix, tc.padding)
		m := do(t, s, "GET", "/rest/ssh/1.0/settings", asBob, nil).json(t)
		fp := m["fingerprint"].(map[string]any)
		v := fp["value"].(string)
		if strings.HasPrefix(v, "SHA256:") != tc.prefix || strings.HasSuffix(v, "=") != tc.padding {
			t.Errorf("format %+v: value %q", tc, v)
		}
		if norm := "SHA256:" + strings.TrimRight(strings.TrimPrefix(v, "SHA256:"), "="); norm != want || fp["algorithm"] != "SHA256" {
			t.Errorf("format %+v: %q normalises to %q, want %q", tc, v, norm, want)
		}
		if m["port"] != float64(s.SSHPort()) || m["baseUrl"] != "ssh://git@127.0.0.1:7999" || m["enabled"] != true || m["accessKeysEnabled"] != true {
			t.Errorf("settings: %v", m)
		}
	}
	s.SetSettingsBaseURL("ssh://127.0.0.1")
	if m := do(t, s, "GET", "/rest/ssh/1.0/settings", asBob, nil).json(t); m["baseUrl"] != "ssh://127.0.0.1" {
		t.Errorf("baseUrl override: %v", m["baseUrl"])
	}
	wantStatus(t, do(t, s, "GET", "/rest/ssh/1.0/settings", anon, nil), 401)
	s.SetAnonymousSettings(true)
	s.SetSSHEnabled(false)
	if m := do(t, s, "GET", "/rest/ssh/latest/settings", anon, nil).json(t); m["enabled"] != false {
		t.Errorf("ssh disabled: %v", m)
	}
}

func TestRepositoryCloneLinks(t *testing.T) {
	s := startSandbox(t, nil)
	orders := map[string]bool{}
	for range 2 {
		r := do(t, s, "GET", "/rest/api/1.0/projects/proj/repos/demo", asBob, nil)
		wantStatus(t, r, 200)
		links := r.json(t)["links"].(map[string]any)["clone"].([]any)
		var names []string
		for _, l := range links {
			m := l.(map[string]any)
			names = append(names, m["name"].(string))
			switch m["name"] {
			case "ssh":
				if want := fmt.Sprintf("ssh://git@127.0.0.1:%d/proj/demo.git", s.SSHPort()); m["href"] != want || s.CloneURL("PROJ", "demo") != want {
					t.Errorf("ssh href %v, want %s", m["href"], want)
				}
			case "http":
				want := strings.Replace(s.URL(), "://", "://bob@", 1) + "/scm/proj/demo.git"
				if m["href"] != want {
					t.Errorf("http href %v, want %s", m["href"], want)
				}
			}
		}
		orders[strings.Join(names, ",")] = true
	}
	if len(orders) != 2 {
		t.Errorf("clone link order never varied: %v", orders)
	}
	r := do(t, s, "GET", "/rest/api/latest/projects/~ALICE/repos/dotfiles", asAlice, nil)
	wantStatus(t, r, 200)
	if !strings.Contains(string(r.body), fmt.Sprintf("ssh://git@127.0.0.1:%d/~alice/dotfiles.git", s.SSHPort())) {
		t.Errorf("personal repo links: %s", r.body)
	}
	wantStatus(t, do(t, s, "GET", "/rest/api/latest/projects/~ALICE/repos/dotfiles", asBob, nil), 401)
	wantStatus(t, do(t, s, "GET", "/rest/api/1.0/projects/PROJ/repos/missing", asBob, nil), 404)
	wantStatus(t, do(t, s, "GET", "/rest/api/1.0/projects/NOPE/repos/demo", asBob, nil), 404)
	// Outside the context path nothing answers.
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(strings.TrimSuffix(s.URL(), "/bitbucket") + "/rest/api/1.0/projects/PROJ/repos/demo")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("outside context path: %d", resp.StatusCode)
	}
}

func TestFailNextAndDelay(t *testing.T) {
	s := startSandbox(t, nil)
	s.FailNext(2, 503, "", "", "1")
	for range 2 {
		r := do(t, s, "GET", "/rest/ssh/1.0/keys", asAlice, nil)
		if r.status != 503 || r.header.Get("Retry-After") != "1" {
			t.Fatalf("FailNext: %d %q", r.status, r.header.Get("Retry-After"))
		}
	}
	wantStatus(t, do(t, s, "GET", "/rest/ssh/1.0/keys", asAlice, nil), 200)

	s.FailNext(1, 502, "<html><body>Bad gateway</body></html>", "text/html", "")
	r := do(t, s, "GET", "/rest/ssh/1.0/keys", asAlice, nil)
	if r.status != 502 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("HTML failure: %d %s", r.status, r.header.Get("Content-Type"))
	}

	s.SetDelay(2 * time.Second)
	req, _ := http.NewRequest("GET", s.URL()+"/rest/ssh/1.0/keys", nil)
	req.SetBasicAuth("alice", alicePW)
	start := time.Now()
	_, err := (&http.Client{Timeout: 200 * time.Millisecond}).Do(req)
	if err == nil || time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("delay: err %v after %v", err, time.Since(start))
	}
	s.SetDelay(0)
}

func TestTLS(t *testing.T) {
	s := startSandbox(t, func(c *Config) { c.TLS = true; c.ContextPath = "" })
	if !strings.HasPrefix(s.URL(), "https://127.0.0.1:") {
		t.Fatalf("URL %s", s.URL())
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CACertPEM()) {
		t.Fatal("CACertPEM is not a PEM certificate")
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	wantStatus(t, call(t, s, client, "GET", "/rest/ssh/1.0/settings", asAlice, nil), 200)
	// Without the CA the certificate is not trusted.
	if _, err := (&http.Client{Timeout: 10 * time.Second}).Get(s.URL() + "/rest/ssh/1.0/settings"); err == nil {
		t.Error("TLS without the CA succeeded")
	}
}

func TestCloseIsFinal(t *testing.T) {
	s, err := Start(context.Background(), Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if resp, err := (&http.Client{Timeout: time.Second}).Get(s.URL() + "/rest/ssh/1.0/settings"); err == nil {
		resp.Body.Close()
		t.Fatal("REST still answers after Close")
	}
	if c, err := net.DialTimeout("tcp", s.SSHAddr(), time.Second); err == nil {
		c.Close()
		t.Fatal("SSH still listens after Close")
	}
}
