package doctor

import (
	"path/filepath"
	"strconv"
	"strings"
)

// tilde shows a path under $HOME as ~/….
func (f *Facts) tilde(p string) string {
	if f.Home != "" {
		if rel, err := filepath.Rel(f.Home, p); err == nil && rel != "." && !strings.HasPrefix(rel, "..") && !filepath.IsAbs(rel) {
			return "~/" + filepath.ToSlash(rel)
		}
	}
	return p
}

// tildes is tilde for several paths, joined with ", ".
func (f *Facts) tildes(paths []string) string {
	shown := make([]string, len(paths))
	for i, p := range paths {
		shown[i] = f.tilde(p)
	}
	return strings.Join(shown, ", ")
}

// shell is a path as an argument of a command to run: ~/… when that needs
// no quoting (Unix), else the whole path quoted for the shell at hand.
func (f *Facts) shell(p string) string {
	if f.Windows {
		if strings.ContainsAny(p, " &()^%!\"") {
			return `"` + p + `"`
		}
		return p
	}
	if t := f.tilde(p); !strings.ContainsAny(t, " \t\n'\"\\$`!*?[]{}()<>|&;#") {
		return t
	}
	return "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
}

// plural is "1 key" / "2 keys".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
