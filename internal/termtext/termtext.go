// Package termtext makes text that comes from outside — a server's
// messages, file contents, remote URLs, key comments — safe to print on a
// terminal: control characters are escaped so that nothing from outside
// can move the cursor, clear the screen, set the window title or forge a
// line of our own output. JSON output carries such text exactly (JSON
// escapes it); text output passes it through here.
package termtext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line returns s for one line of output: every control character (C0, DEL,
// C1, and Unicode format characters that reorder or hide text, such as
// bidirectional overrides) is written as a Go escape (\x1b, \r, \n,
// \u202e), invalid UTF-8 as \xNN. Tabs become spaces.
func Line(s string) string { return escape(s, false) }

// Block is Line for text of several lines: newlines are kept, every other
// control character is escaped.
func Block(s string) string { return escape(s, true) }

func escape(s string, keepNewlines bool) string {
	if isClean(s, keepNewlines) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' && keepNewlines:
			b.WriteByte('\n')
		case r == '\t':
			b.WriteByte(' ')
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// isClean is the fast path: printable ASCII (and newlines when kept).
// Anything else, UTF-8 included, takes the slow path.
func isClean(s string, keepNewlines bool) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 0x20 && c < 0x7f || c == '\n' && keepNewlines) {
			return false
		}
	}
	return true
}
