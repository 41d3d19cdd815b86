// URLs written back: as git would write them (String), with a password
// hidden (Redact), and what a Bitbucket URL names (BitbucketRepo).

package gitremote

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

// String gives the URL in a form that Parse reads back to the same host,
// port, user and path. SSH URLs keep their form (scp-like or ssh://);
// the port is left out when it is 22 and the URL did not name it (443/80
// for https/http).
func (u *URL) String() string {
	switch u.Scheme {
	case "https", "http":
		pu := url.URL{Scheme: u.Scheme, Host: hostPort(u.Host, u.Port, u.Scheme), Path: u.Path}
		if u.User != "" {
			pu.User = url.User(u.User)
		}
		return pu.String()
	}
	userAt := ""
	if u.User != "" {
		userAt = u.User + "@"
	}
	relative := !strings.HasPrefix(u.Path, "/") && !strings.HasPrefix(u.Path, "~")
	keepPort := u.Port != 0 && (u.Port != 22 || u.PortGiven)
	if u.SCPLike || relative {
		switch {
		case keepPort:
			return "[" + userAt + u.Host + ":" + strconv.Itoa(u.Port) + "]:" + u.Path
		case strings.Contains(u.Host, ":"):
			return userAt + "[" + u.Host + "]:" + u.Path
		default:
			return userAt + u.Host + ":" + u.Path
		}
	}
	host := u.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if keepPort {
		host += ":" + strconv.Itoa(u.Port)
	}
	path := u.Path
	if strings.HasPrefix(path, "~") {
		path = "/" + path
	}
	return "ssh://" + escapePercent(userAt+host) + escapePercent(path)
}

func hostPort(host string, port int, scheme string) string {
	if (scheme == "https" && port == 443) || (scheme == "http" && port == 80) || port == 0 {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// escapePercent protects a literal '%' from the percent-decoding Parse
// (and git) applies to ssh:// URLs.
func escapePercent(s string) string {
	return strings.ReplaceAll(s, "%", "%25")
}

// BitbucketRepo reads the Bitbucket project key and repository slug from
// the URL: https://host[/context]/scm/PROJ/repo(.git) gives the base URL
// "https://host[/context]"; SSH paths /PROJ/repo.git (or PROJ/repo.git,
// ~user/repo.git) give base "". Personal projects keep their "~user" key.
func (u *URL) BitbucketRepo() (baseURL, project, slug string, ok bool) {
	switch u.Scheme {
	case "https", "http":
		segs := strings.Split(strings.Trim(u.Path, "/"), "/")
		n := len(segs)
		if n < 3 || segs[n-3] != "scm" {
			return "", "", "", false
		}
		project, slug = segs[n-2], strings.TrimSuffix(segs[n-1], ".git")
		if project == "" || slug == "" {
			return "", "", "", false
		}
		base := u.Scheme + "://" + hostPort(u.Host, u.Port, u.Scheme)
		if ctx := strings.Join(segs[:n-3], "/"); ctx != "" {
			base += "/" + ctx
		}
		return base, project, slug, true
	case "ssh":
		segs := strings.Split(strings.Trim(u.Path, "/"), "/")
		if len(segs) != 2 {
			return "", "", "", false
		}
		project, slug = segs[0], strings.TrimSuffix(segs[1], ".git")
		if project == "" || slug == "" || project == "~" {
			return "", "", "", false
		}
		return "", project, slug, true
	}
	return "", "", "", false
}

// Redact hides a password written into a URL (https://user:pw@host/…)
// before the URL is shown anywhere, even when the URL does not parse.
func Redact(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		return u.Redacted()
	}
	if i := strings.Index(raw, "://"); i >= 0 {
		if at := strings.LastIndex(raw, "@"); at > i {
			if colon := strings.Index(raw[i+3:at], ":"); colon >= 0 {
				return raw[:i+3+colon+1] + "xxxxx" + raw[at:]
			}
		}
	}
	return raw
}
