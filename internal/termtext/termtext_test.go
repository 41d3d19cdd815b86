package termtext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"caf\u00e9 \u65e5\u672c", "caf\u00e9 \u65e5\u672c"}, // printable Unicode stays
		{"\x1b[2Jcleared", `\x1b[2Jcleared`},
		{"\x1b]0;owned\x07title", `\x1b]0;owned\x07title`},
		{"msg\r\nerror: fake line", `msg\r\nerror: fake line`},
		{"a\tb", "a b"},
		{"del\x7f", `del\x7f`},
		{"c1 \u009b31m", `c1 \x9b31m`},
		{"bidi \u202egnp.exe", `bidi \u202egnp.exe`},
		{"bad \xff utf8", `bad \xff utf8`},
		{"nul\x00", `nul\x00`},
	} {
		if got := Line(c.in); got != c.want {
			t.Errorf("Line(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestBlockKeepsNewlines(t *testing.T) {
	if got := Block("one\ntwo\x1b[31m\r\n"); got != "one\ntwo\\x1b[31m\\r\n" {
		t.Errorf("Block = %q", got)
	}
}

// Whatever comes in, what goes out holds no byte a terminal acts on.
func FuzzLine(f *testing.F) {
	for _, s := range []string{"", "a", "\x1b[2J", "\r\n", "\u202e", "\xff\xfe", "\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{Line(s), Block(s)} {
			if !utf8.ValidString(out) {
				t.Fatalf("invalid UTF-8 out of %q: %q", s, out)
			}
			for _, r := range out {
				if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r < 0xa0 {
					t.Fatalf("control %U left in %q (from %q)", r, out, s)
				}
			}
		}
		if strings.Contains(Line(s), "\n") {
			t.Fatalf("newline in Line(%q)", s)
		}
	})
}
