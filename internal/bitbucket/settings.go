package bitbucket

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// Settings are the server's SSH settings.
type Settings struct {
	Enabled bool
	// Port is where Bitbucket's SSH server listens. Behind a port forward
	// it is not what users dial: BaseURL (and the clone links) say that.
	Port    int
	BaseURL string // what users are told, e.g. "ssh://git@host:7999"; "git@" and the port vary
	// Fingerprint of the server's SSH host key, normalised to
	// "SHA256:<unpadded base64>" whatever the server sent.
	Fingerprint       string
	AccessKeysEnabled bool
}

// SSHSettings reads /rest/ssh/<v>/settings: the SSH address and the host
// key fingerprint, over HTTPS. Some servers answer it without
// credentials, others only to a signed-in user.
func (c *Client) SSHSettings(ctx context.Context) (*Settings, error) {
	u, err := c.endpoint("ssh", "settings")
	if err != nil {
		return nil, err
	}
	var raw struct {
		Enabled           bool            `json:"enabled"`
		Port              int             `json:"port"`
		BaseURL           string          `json:"baseUrl"`
		Fingerprint       json.RawMessage `json:"fingerprint"`
		AccessKeysEnabled bool            `json:"accessKeysEnabled"`
	}
	if _, err := c.call(ctx, request{method: http.MethodGet, u: u, out: &raw}); err != nil {
		return nil, err
	}
	return &Settings{
		Enabled:           raw.Enabled,
		Port:              raw.Port,
		BaseURL:           raw.BaseURL,
		Fingerprint:       settingsFingerprint(raw.Fingerprint),
		AccessKeysEnabled: raw.AccessKeysEnabled,
	}, nil
}

// settingsFingerprint reads {"algorithm","value"}, or a bare string, which
// we tolerate because the shape is not promised across versions.
func settingsFingerprint(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return NormalizeFingerprint(s)
	}
	var fp struct {
		Algorithm string `json:"algorithm"`
		Value     string `json:"value"`
	}
	if json.Unmarshal(raw, &fp) != nil || fp.Value == "" {
		return ""
	}
	alg := strings.ToUpper(strings.ReplaceAll(fp.Algorithm, "-", ""))
	if alg != "" && alg != "SHA256" {
		// Not comparable with ssh-keygen's SHA256 form: keep it labelled.
		return fp.Algorithm + ":" + fp.Value
	}
	return NormalizeFingerprint(fp.Value)
}

// NormalizeFingerprint returns a SHA-256 fingerprint in ssh-keygen's form,
// "SHA256:<unpadded base64>", from a value with or without the prefix (any
// case) and with or without base64 padding. "" stays "".
func NormalizeFingerprint(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 7 && strings.EqualFold(s[:7], "SHA256:") {
		s = s[7:]
	}
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if s == "" {
		return ""
	}
	return "SHA256:" + s
}

// Project is a Bitbucket project; personal projects have keys like "~alice".
type Project struct {
	Key  string `json:"key"`
	Name string `json:"name,omitempty"`
}

// Repository is a Bitbucket repository with its clone URLs.
type Repository struct {
	Slug    string  `json:"slug"`
	Name    string  `json:"name,omitempty"`
	Project Project `json:"project"`
	// CloneLinks by name ("ssh", "http"): the server's array order varies.
	CloneLinks map[string]string `json:"cloneLinks,omitempty"`
}

// UnmarshalJSON reads links.clone, an array of {href, name}, into CloneLinks.
func (r *Repository) UnmarshalJSON(b []byte) error {
	var v struct {
		Slug    string  `json:"slug"`
		Name    string  `json:"name"`
		Project Project `json:"project"`
		Links   struct {
			Clone []struct {
				Href string `json:"href"`
				Name string `json:"name"`
			} `json:"clone"`
		} `json:"links"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Repository{Slug: v.Slug, Name: v.Name, Project: v.Project}
	for _, l := range v.Links.Clone {
		if l.Name == "" || l.Href == "" {
			continue
		}
		if r.CloneLinks == nil {
			r.CloneLinks = map[string]string{}
		}
		r.CloneLinks[l.Name] = l.Href
	}
	return nil
}

// Repository fetches a repository, mainly for its SSH clone URL.
func (c *Client) Repository(ctx context.Context, project, slug string) (*Repository, error) {
	u, err := c.endpoint("api", "projects", project, "repos", slug)
	if err != nil {
		return nil, err
	}
	var r Repository
	if _, err := c.call(ctx, request{method: http.MethodGet, u: u, out: &r}); err != nil {
		return nil, err
	}
	return &r, nil
}

// Properties are the server's application properties.
type Properties struct {
	Version     string // "9.2.0"
	DisplayName string
}

// ApplicationProperties reads /rest/api/<v>/application-properties, which
// names the server's version.
func (c *Client) ApplicationProperties(ctx context.Context) (*Properties, error) {
	u, err := c.endpoint("api", "application-properties")
	if err != nil {
		return nil, err
	}
	var p Properties
	var raw struct {
		Version     string `json:"version"`
		DisplayName string `json:"displayName"`
	}
	if _, err := c.call(ctx, request{method: http.MethodGet, u: u, out: &raw}); err != nil {
		return nil, err
	}
	p.Version, p.DisplayName = raw.Version, raw.DisplayName
	return &p, nil
}
