package bbsession

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Version is a Bitbucket version, "9.2.0".
type Version struct {
	Major, Minor, Patch int
	Raw                 string
}

func (v Version) String() string { return v.Raw }

// less reports whether v is older than w.
func (v Version) less(w Version) bool {
	if v.Major != w.Major {
		return v.Major < w.Major
	}
	if v.Minor != w.Minor {
		return v.Minor < w.Minor
	}
	return v.Patch < w.Patch
}

// parseVersion reads "9.2.0", "8.19" or "8.19.1-SNAPSHOT"; false when
// there are no leading numbers.
func parseVersion(raw string) (Version, bool) {
	v := Version{Raw: strings.TrimSpace(raw)}
	parts := strings.SplitN(v.Raw, ".", 3)
	nums := []*int{&v.Major, &v.Minor, &v.Patch}
	for i, p := range parts {
		end := 0
		for end < len(p) && p[end] >= '0' && p[end] <= '9' {
			end++
		}
		n, err := strconv.Atoi(p[:end])
		if err != nil {
			if i == 0 {
				return Version{}, false
			}
			break
		}
		*nums[i] = n
		if end < len(p) {
			break
		}
	}
	return v, true
}

// Feature is something only newer servers support.
type Feature int

const (
	FeatureECDSAKeys    Feature = iota + 1 // ECDSA keys: 7.10
	FeatureKeyExpiry                       // expiryDays: 8.7
	FeatureSecurityKeys                    // sk-ssh-ed25519@openssh.com, sk-ecdsa-…: 8.13
)

var features = map[Feature]struct {
	name  string
	since Version
}{
	FeatureECDSAKeys:    {"ECDSA keys", Version{7, 10, 0, "7.10"}},
	FeatureKeyExpiry:    {"key expiry (--expiry-days)", Version{8, 7, 0, "8.7"}},
	FeatureSecurityKeys: {"security keys (sk-…)", Version{8, 13, 0, "8.13"}},
}

func (f Feature) String() string { return features[f].name }

// Since is the first version with the feature.
func (f Feature) Since() Version { return features[f].since }

// FeaturesForKey lists what registering a key of this OpenSSH type (with
// an expiry or not) needs from a server newer than the oldest one still
// met (RSA and Ed25519 keys need nothing).
func FeaturesForKey(keyType string, expiry bool) []Feature {
	var fs []Feature
	switch {
	case strings.HasPrefix(keyType, "sk-"):
		fs = append(fs, FeatureSecurityKeys)
	case strings.HasPrefix(keyType, "ecdsa-"):
		fs = append(fs, FeatureECDSAKeys)
	}
	if expiry {
		fs = append(fs, FeatureKeyExpiry)
	}
	return fs
}

// Version is the server's version from /rest/api/1.0/application-properties,
// read once per run.
func (s *Session) Version(ctx context.Context) (Version, error) {
	s.versionOnce.Do(func() {
		c, _, err := s.Reader(ctx)
		if err != nil {
			s.versionErr = err
			return
		}
		p, err := c.ApplicationProperties(ctx)
		if err != nil {
			s.versionErr = err
			return
		}
		v, ok := parseVersion(p.Version)
		if !ok {
			s.versionErr = fmt.Errorf("bitbucket version %q does not parse", p.Version)
			return
		}
		s.version = v
	})
	return s.version, s.versionErr
}

// Require returns an *UnsupportedError when the server is known to be
// older than the features need. A version that cannot be read is no
// reason to stop: the server then decides.
func (s *Session) Require(ctx context.Context, fs ...Feature) error {
	if len(fs) == 0 {
		return nil
	}
	v, err := s.Version(ctx)
	if err != nil {
		return ctx.Err()
	}
	for _, f := range fs {
		if v.less(f.Since()) {
			return &UnsupportedError{Base: s.base, Feature: f, Have: v}
		}
	}
	return nil
}
