package bitbucket

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
)

// Permission is what an SSH access key may do.
type Permission string

const (
	RepoRead     Permission = "REPO_READ"
	RepoWrite    Permission = "REPO_WRITE"
	ProjectRead  Permission = "PROJECT_READ"
	ProjectWrite Permission = "PROJECT_WRITE"
)

// Scope is where an access key applies: a project (Slug "") or one of
// its repositories.
type Scope struct {
	Project string
	Slug    string
}

// IsRepo reports whether the scope is a repository.
func (s Scope) IsRepo() bool { return s.Slug != "" }

// String is "PROJ/slug" or "PROJ".
func (s Scope) String() string {
	if s.IsRepo() {
		return s.Project + "/" + s.Slug
	}
	return s.Project
}

// Permission is the read or write permission of this kind of scope.
func (s Scope) Permission(write bool) Permission {
	switch {
	case s.IsRepo() && write:
		return RepoWrite
	case s.IsRepo():
		return RepoRead
	case write:
		return ProjectWrite
	}
	return ProjectRead
}

// AccessKey is an SSH access key ("for system use") on a project or a
// repository.
type AccessKey struct {
	Key        SSHKey      `json:"key"`
	Permission Permission  `json:"permission"`
	Project    *Project    `json:"project,omitempty"`
	Repository *Repository `json:"repository,omitempty"`
}

func (s Scope) check(perm Permission) error {
	switch {
	case s.Project == "":
		return fmt.Errorf("%w: the project key is empty", ErrInvalidArgument)
	case perm == "":
		return nil
	case s.IsRepo() && (perm == RepoRead || perm == RepoWrite):
		return nil
	case !s.IsRepo() && (perm == ProjectRead || perm == ProjectWrite):
		return nil
	case s.IsRepo():
		return fmt.Errorf("%w: permission %q is not valid for a repository access key (want REPO_READ or REPO_WRITE)", ErrInvalidArgument, perm)
	default:
		return fmt.Errorf("%w: permission %q is not valid for a project access key (want PROJECT_READ or PROJECT_WRITE)", ErrInvalidArgument, perm)
	}
}

// accessKeyRequest is a request to /rest/keys/<v>/projects/P[/repos/S]/ssh[/extra…].
func (c *Client) accessKeyRequest(s Scope, perm Permission, method string, extra ...string) (request, error) {
	if err := s.check(perm); err != nil {
		return request{}, err
	}
	p := []string{"projects", s.Project}
	if s.IsRepo() {
		p = append(p, "repos", s.Slug)
	}
	u, err := c.endpoint("keys", append(append(p, "ssh"), extra...)...)
	return request{method: method, u: u}, err
}

// ListAccessKeys lists the SSH access keys of a project or repository,
// over all pages.
func (c *Client) ListAccessKeys(ctx context.Context, s Scope) ([]AccessKey, error) {
	r, err := c.accessKeyRequest(s, "", http.MethodGet)
	if err != nil {
		return nil, err
	}
	return getAll[AccessKey](ctx, c, r.u)
}

// AddAccessKey grants a key perm on a project or repository. Bitbucket
// changes the permission of a key the scope already has. The answer is
// returned as the server gave it: one without the key is a zero AccessKey.
func (c *Client) AddAccessKey(ctx context.Context, s Scope, key NewKey, perm Permission) (*AccessKey, error) {
	if perm == "" {
		return nil, fmt.Errorf("%w: no permission given", ErrInvalidArgument)
	}
	r, err := c.accessKeyRequest(s, perm, http.MethodPost)
	if err != nil {
		return nil, err
	}
	var ak AccessKey
	r.body = struct {
		Key        any        `json:"key"`
		Permission Permission `json:"permission"`
	}{key.body(), perm}
	// 201 per the API; old servers answer 200 for repositories.
	r.out, r.ok = &ak, []int{http.StatusOK, http.StatusCreated}
	if _, err := c.call(ctx, r); err != nil {
		return nil, err
	}
	return &ak, nil
}

// SetAccessKeyPermission changes what access key id may do on a project
// or repository. The answer is returned as the server gave it (zero when
// it sent none).
func (c *Client) SetAccessKeyPermission(ctx context.Context, s Scope, id int, perm Permission) (*AccessKey, error) {
	if perm == "" {
		return nil, fmt.Errorf("%w: no permission given", ErrInvalidArgument)
	}
	r, err := c.accessKeyRequest(s, perm, http.MethodPut, strconv.Itoa(id), "permission", string(perm))
	if err != nil {
		return nil, err
	}
	var ak AccessKey
	r.out = &ak
	if _, err := c.call(ctx, r); err != nil {
		return nil, err
	}
	return &ak, nil
}
