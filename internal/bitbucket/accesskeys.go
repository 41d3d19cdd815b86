package bitbucket

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Permission is what an SSH access key may do.
type Permission string

const (
	RepoRead     Permission = "REPO_READ"
	RepoWrite    Permission = "REPO_WRITE"
	ProjectRead  Permission = "PROJECT_READ"
	ProjectWrite Permission = "PROJECT_WRITE"
)

// AccessKey is an SSH access key ("for system use") on a project or a
// repository.
type AccessKey struct {
	Key        SSHKey      `json:"key"`
	Permission Permission  `json:"permission"`
	Project    *Project    `json:"project,omitempty"`
	Repository *Repository `json:"repository,omitempty"`
}

func checkPermission(perm Permission, forRepo bool) error {
	switch {
	case forRepo && (perm == RepoRead || perm == RepoWrite):
		return nil
	case !forRepo && (perm == ProjectRead || perm == ProjectWrite):
		return nil
	case forRepo:
		return fmt.Errorf("permission %q is not valid for a repository access key (want REPO_READ or REPO_WRITE)", perm)
	default:
		return fmt.Errorf("permission %q is not valid for a project access key (want PROJECT_READ or PROJECT_WRITE)", perm)
	}
}

// accessKeyPath is /rest/keys/<v>/projects/P[/repos/S]/ssh[/extra…].
func (c *Client) accessKeyPath(project, slug string, extra ...string) []string {
	p := []string{"projects", project}
	if slug != "" {
		p = append(p, "repos", slug)
	}
	return append(append(p, "ssh"), extra...)
}

func (c *Client) listAccessKeys(ctx context.Context, project, slug string) ([]AccessKey, error) {
	u, err := c.endpoint("keys", c.accessKeyPath(project, slug)...)
	if err != nil {
		return nil, err
	}
	return getAll[AccessKey](ctx, c, u)
}

func (c *Client) addAccessKey(ctx context.Context, project, slug, text, label string, perm Permission) (*AccessKey, error) {
	if err := checkPermission(perm, slug != ""); err != nil {
		return nil, err
	}
	u, err := c.endpoint("keys", c.accessKeyPath(project, slug)...)
	if err != nil {
		return nil, err
	}
	type keyBody struct {
		Text  string `json:"text"`
		Label string `json:"label,omitempty"`
	}
	body := struct {
		Key        keyBody    `json:"key"`
		Permission Permission `json:"permission"`
	}{keyBody{strings.TrimSpace(text), label}, perm}
	var ak AccessKey
	// 201 per the API; old servers answer 200 for repositories.
	if _, err := c.call(ctx, http.MethodPost, u, body, &ak, http.StatusOK, http.StatusCreated); err != nil {
		return nil, err
	}
	return &ak, nil
}

func (c *Client) deleteAccessKey(ctx context.Context, project, slug string, id int) error {
	u, err := c.endpoint("keys", c.accessKeyPath(project, slug, strconv.Itoa(id))...)
	if err != nil {
		return err
	}
	return ignoreNotFound(c.call(ctx, http.MethodDelete, u, nil, nil))
}

func (c *Client) setAccessKeyPermission(ctx context.Context, project, slug string, id int, perm Permission) error {
	if err := checkPermission(perm, slug != ""); err != nil {
		return err
	}
	u, err := c.endpoint("keys", c.accessKeyPath(project, slug, strconv.Itoa(id), "permission", string(perm))...)
	if err != nil {
		return err
	}
	_, err = c.call(ctx, http.MethodPut, u, nil, nil)
	return err
}

// ListProjectAccessKeys lists the SSH access keys of a project, over all pages.
func (c *Client) ListProjectAccessKeys(ctx context.Context, project string) ([]AccessKey, error) {
	return c.listAccessKeys(ctx, project, "")
}

// ListRepoAccessKeys lists the SSH access keys of a repository, over all pages.
func (c *Client) ListRepoAccessKeys(ctx context.Context, project, slug string) ([]AccessKey, error) {
	if slug == "" {
		return nil, fmt.Errorf("repository slug is empty")
	}
	return c.listAccessKeys(ctx, project, slug)
}

// AddProjectAccessKey grants a key PROJECT_READ or PROJECT_WRITE on a
// project. Adding a key the project already has changes its permission.
func (c *Client) AddProjectAccessKey(ctx context.Context, project, text, label string, perm Permission) (*AccessKey, error) {
	return c.addAccessKey(ctx, project, "", text, label, perm)
}

// AddRepoAccessKey grants a key REPO_READ or REPO_WRITE on a repository.
// Adding a key the repository already has changes its permission.
func (c *Client) AddRepoAccessKey(ctx context.Context, project, slug, text, label string, perm Permission) (*AccessKey, error) {
	if slug == "" {
		return nil, fmt.Errorf("repository slug is empty")
	}
	return c.addAccessKey(ctx, project, slug, text, label, perm)
}

// DeleteProjectAccessKey removes an access key from a project; one that is
// already gone is not an error.
func (c *Client) DeleteProjectAccessKey(ctx context.Context, project string, id int) error {
	return c.deleteAccessKey(ctx, project, "", id)
}

// DeleteRepoAccessKey removes an access key from a repository; one that is
// already gone is not an error.
func (c *Client) DeleteRepoAccessKey(ctx context.Context, project, slug string, id int) error {
	if slug == "" {
		return fmt.Errorf("repository slug is empty")
	}
	return c.deleteAccessKey(ctx, project, slug, id)
}

// SetProjectAccessKeyPermission changes what an access key may do on a project.
func (c *Client) SetProjectAccessKeyPermission(ctx context.Context, project string, id int, perm Permission) error {
	return c.setAccessKeyPermission(ctx, project, "", id, perm)
}

// SetRepoAccessKeyPermission changes what an access key may do on a repository.
func (c *Client) SetRepoAccessKeyPermission(ctx context.Context, project, slug string, id int, perm Permission) error {
	if slug == "" {
		return fmt.Errorf("repository slug is empty")
	}
	return c.setAccessKeyPermission(ctx, project, slug, id, perm)
}
