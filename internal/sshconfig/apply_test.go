package sshconfig

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

var testBlock = Block{
	Host:           "bb.example.com",
	HostName:       "bb.internal",
	Port:           7999,
	User:           "git",
	IdentityFile:   "/home/u/.ssh/id_ed25519",
	IdentitiesOnly: true,
}

// Written out by hand: the exact bytes users will see in their config.
const blockLF = "# BEGIN git-bbkey bb.example.com\n" +
	"Host bb.example.com\n" +
	"    HostName bb.internal\n" +
	"    Port 7999\n" +
	"    User git\n" +
	"    IdentityFile /home/u/.ssh/id_ed25519\n" +
	"    IdentitiesOnly yes\n" +
	"# END git-bbkey bb.example.com\n"

var blockCRLF = strings.ReplaceAll(blockLF, "\n", "\r\n")

// An older version of the block: different port and key.
const oldBlockLF = "# BEGIN git-bbkey bb.example.com\n" +
	"Host bb.example.com\n" +
	"    HostName bb.internal\n" +
	"    Port 22\n" +
	"    User git\n" +
	"    IdentityFile /home/u/.ssh/id_rsa\n" +
	"# END git-bbkey bb.example.com\n"

const otherBlock = "# BEGIN git-bbkey other.example.com\n" +
	"Host other.example.com\n" +
	"    User git\n" +
	"# END git-bbkey other.example.com\n"

const bom = "\uFEFF"

func TestRender(t *testing.T) {
	if got := testBlock.Render("\n"); got != blockLF {
		t.Errorf("Render(LF) =\n%q\nwant\n%q", got, blockLF)
	}
	if got := testBlock.Render("\r\n"); got != blockCRLF {
		t.Errorf("Render(CRLF) =\n%q\nwant\n%q", got, blockCRLF)
	}
	if got := testBlock.Render(""); got != blockLF {
		t.Errorf("Render(\"\") = %q, want LF", got)
	}
	minimal := Block{Host: "h"}
	if got, want := minimal.Render("\n"), "# BEGIN git-bbkey h\nHost h\n# END git-bbkey h\n"; got != want {
		t.Errorf("minimal Render = %q, want %q", got, want)
	}
	for path, want := range map[string]string{
		"/home/u/.ssh/id_ed25519":       "/home/u/.ssh/id_ed25519",
		"/Users/Jane Doe/.ssh/id":       `"/Users/Jane Doe/.ssh/id"`,
		"/home/u/100%/id":               "/home/u/100%%/id",
		"/home/u/a=b/id":                `"/home/u/a=b/id"`,
		"/home/u/#keys/id":              `"/home/u/#keys/id"`,
		"/home/o'neil/id":               `"/home/o'neil/id"`,
		`C:\Users\Jane Doe\.ssh\id_rsa`: `"C:\Users\Jane Doe\.ssh\id_rsa"`,
	} {
		b := Block{Host: "h", IdentityFile: path}
		if err := b.validate(); err != nil {
			t.Errorf("validate(%q): %v", path, err)
		}
		got := b.Render("\n")
		if line := "    IdentityFile " + want + "\n"; !strings.Contains(got, line) {
			t.Errorf("Render with IdentityFile %q =\n%s\nwant the line %q", path, got, line)
		}
	}
}

func TestApply(t *testing.T) {
	tests := []struct {
		name     string
		existing string
		want     string
		change   Change
	}{
		// New files and files without Host/Match: append.
		{"empty file", "", blockLF, Inserted},
		{"global options only", "ServerAliveInterval 60\n", "ServerAliveInterval 60\n\n" + blockLF, Inserted},
		{"no final newline: the line is ended, nothing else changes",
			"ServerAliveInterval 60", "ServerAliveInterval 60\n" + blockLF, Inserted},
		{"comments only", "# nothing here\n", "# nothing here\n\n" + blockLF, Inserted},
		{"HostName and HostKeyAlias are not Host lines",
			"HostName x\nHostKeyAlias y\n", "HostName x\nHostKeyAlias y\n\n" + blockLF, Inserted},
		{"CRLF without Host, no final newline",
			"Compression yes\r\nUser me", "Compression yes\r\nUser me\r\n" + blockCRLF, Inserted},
		{"one line ending in a bare CR becomes CRLF",
			"User me\r", "User me\r\r\n" + blockCRLF, Inserted},
		{"BOM only", bom, bom + blockLF, Inserted},

		// Host or Match present: insert before the first one.
		{"Host first", "Host other\n    User x\n", blockLF + "\nHost other\n    User x\n", Inserted},
		{"global options then Host",
			"User me\nHost other\n", "User me\n" + blockLF + "\nHost other\n", Inserted},
		{"comments directly above the first Host stay with it",
			"Compression yes\n\n# work\n# servers\nHost work\n",
			"Compression yes\n\n" + blockLF + "\n# work\n# servers\nHost work\n", Inserted},
		{"first line is a comment attached to Host", "# mine\nHost a\n", blockLF + "\n# mine\nHost a\n", Inserted},
		{"Match first", "Match all\n  User x\n", blockLF + "\nMatch all\n  User x\n", Inserted},
		{"lowercase indented Host= form", "Port 22\n  host=other\n", "Port 22\n" + blockLF + "\n  host=other\n", Inserted},
		{"MATCH with a tab", "Port 22\nMATCH\texec true\n", "Port 22\n" + blockLF + "\nMATCH\texec true\n", Inserted},
		{"top-level Include stays above the block",
			"Include ~/.orbstack/ssh/config\n\nHost *\n  User other\n",
			"Include ~/.orbstack/ssh/config\n\n" + blockLF + "\nHost *\n  User other\n", Inserted},
		{"CRLF file", "Compression yes\r\nHost other\r\n",
			"Compression yes\r\n" + blockCRLF + "\r\nHost other\r\n", Inserted},
		{"BOM before Host stays first", bom + "Host other\n", bom + blockLF + "\nHost other\n", Inserted},
		{"tabs, comments and a missing final newline are kept",
			"\tUser me # why\n# c\t\nHost a\n\tPort 22\t",
			"\tUser me # why\n" + blockLF + "\n# c\t\nHost a\n\tPort 22\t", Inserted},
		{"another host's block holding the first Host line",
			"User me\n" + otherBlock + "Host *\n",
			"User me\n" + blockLF + "\n" + otherBlock + "Host *\n", Inserted},
		{"comment above another host's block",
			"# managed\n" + otherBlock, blockLF + "\n# managed\n" + otherBlock, Inserted},
		{"another block's END line is not walked over",
			"# BEGIN git-bbkey o\n# END git-bbkey o\n# x\nHost a\n",
			"# BEGIN git-bbkey o\n# END git-bbkey o\n" + blockLF + "\n# x\nHost a\n", Inserted},

		// Our block present.
		{"identical", "User me\n" + blockLF + "\nHost a\n", "User me\n" + blockLF + "\nHost a\n", Unchanged},
		{"identical CRLF", blockCRLF + "\r\nHost a\r\n", blockCRLF + "\r\nHost a\r\n", Unchanged},
		{"identical at the end without a final newline",
			"Host a\n" + strings.TrimSuffix(blockLF, "\n"), "Host a\n" + strings.TrimSuffix(blockLF, "\n"), Unchanged},
		{"older block replaced in place, even after Host lines",
			"Host a\n  Port 1\n\n" + oldBlockLF + "\n# tail\n",
			"Host a\n  Port 1\n\n" + blockLF + "\n# tail\n", Replaced},
		{"replaced at the end, missing final newline stays missing",
			"Host a\n" + strings.TrimSuffix(oldBlockLF, "\n"),
			"Host a\n" + strings.TrimSuffix(blockLF, "\n"), Replaced},
		{"replaced in a CRLF file",
			"Host a\r\n" + strings.ReplaceAll(oldBlockLF, "\n", "\r\n") + "Host b\r\n",
			"Host a\r\n" + blockCRLF + "Host b\r\n", Replaced},
		{"LF block in a CRLF file is rewritten with CRLF",
			"Host a\r\n" + blockLF, "Host a\r\n" + blockCRLF, Replaced},
		{"trailing whitespace on the markers is tolerated (and tidied)",
			strings.Replace(strings.Replace(oldBlockLF, "bb.example.com\n", "bb.example.com \t\n", 1),
				"# END git-bbkey bb.example.com\n", "# END git-bbkey bb.example.com\r\n", 1) + "Host z\n",
			blockLF + "Host z\n", Replaced},
		{"other host's block untouched",
			otherBlock + oldBlockLF + otherBlock2, otherBlock + blockLF + otherBlock2, Replaced},
		{"hand edits inside the block are replaced",
			strings.Replace(blockLF, "    User git\n", "    User git\n    # mine\n", 1),
			blockLF, Replaced},
		{"BOM kept when the block is the first line", bom + oldBlockLF, bom + blockLF, Replaced},
		{"marker look-alikes are not markers",
			"#BEGIN git-bbkey bb.example.com\n  # END git-bbkey bb.example.com\n# BEGIN git-bbkey\n",
			"#BEGIN git-bbkey bb.example.com\n  # END git-bbkey bb.example.com\n# BEGIN git-bbkey\n\n" + blockLF, Inserted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.existing)
			keep := bytes.Clone(in)
			got, change, err := Apply(in, testBlock)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if change != tt.change {
				t.Errorf("change = %v, want %v", change, tt.change)
			}
			if string(got) != tt.want {
				t.Errorf("Apply =\n%q\nwant\n%q", got, tt.want)
			}
			if !bytes.Equal(in, keep) {
				t.Errorf("Apply modified its input")
			}
			again, change, err := Apply(got, testBlock)
			if err != nil || change != Unchanged || !bytes.Equal(again, got) {
				t.Errorf("second Apply = %v, %v (bytes equal: %v), want Unchanged and the same bytes",
					change, err, bytes.Equal(again, got))
			}
		})
	}
}

const otherBlock2 = "# BEGIN git-bbkey third.example.com\n" +
	"Host third.example.com\n" +
	"# END git-bbkey third.example.com\n"

func TestApplyDamagedMarkers(t *testing.T) {
	begin := "# BEGIN git-bbkey bb.example.com\n"
	end := "# END git-bbkey bb.example.com\n"
	tests := []struct {
		name, existing, message string
	}{
		{"BEGIN without END", "Host a\n" + begin + "Host bb.example.com\n",
			`line 2 begins a block for "bb.example.com" that no END line closes`},
		{"END without BEGIN", "Host a\n" + end,
			`line 2 ends a block for "bb.example.com" that no BEGIN line opened`},
		{"two blocks for the same host", blockLF + "Host a\n" + blockLF,
			`line 10 begins a second block for "bb.example.com" (the first is on lines 1-8)`},
		{"nested", "# BEGIN git-bbkey other.example.com\n" + blockLF + "# END git-bbkey other.example.com\n",
			`line 2 begins a block for "bb.example.com" inside the block for "other.example.com" begun on line 1`},
		{"interleaved", "# BEGIN git-bbkey other.example.com\n# END git-bbkey bb.example.com\n",
			`line 2 ends a block for "bb.example.com", but the block open since line 1 is for "other.example.com"`},
		{"another host's block damaged", "# BEGIN git-bbkey other.example.com\nHost other.example.com\n",
			`line 1 begins a block for "other.example.com" that no END line closes`},
		{"CRLF line numbers", "Host a\r\n\r\n" + "# END git-bbkey bb.example.com\r\n",
			`line 3 ends a block for "bb.example.com" that no BEGIN line opened`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, change, err := Apply([]byte(tt.existing), testBlock)
			if !errors.Is(err, ErrDamagedMarkers) {
				t.Fatalf("Apply = %q, %v, %v; want ErrDamagedMarkers", got, change, err)
			}
			if want := "damaged git-bbkey markers: " + tt.message; err.Error() != want {
				t.Errorf("error = %q\nwant    %q", err, want)
			}
			if got != nil {
				t.Errorf("Apply returned bytes with an error: %q", got)
			}
		})
	}
}

func TestApplyRefusesInvalidBlocks(t *testing.T) {
	for name, b := range map[string]Block{
		"no host":                    {HostName: "x"},
		"host with a space":          {Host: "a b"},
		"host with a newline":        {Host: "a\nHost *"},
		"host negated":               {Host: "!a"},
		"hostname with a comment":    {Host: "a", HostName: "x#y"},
		"hostname with a %-token":    {Host: "a", HostName: "%h.example.com"},
		"user with a space":          {Host: "a", User: "git x"},
		"port out of range":          {Host: "a", Port: 70000},
		"negative port":              {Host: "a", Port: -1},
		"identity file with newline": {Host: "a", IdentityFile: "/x\n    ProxyCommand evil"},
		"identity file with a quote": {Host: "a", IdentityFile: `/x"y`},
		"identity file with ${":      {Host: "a", IdentityFile: "/home/${USER}/id"},
		"UNC path":                   {Host: "a", IdentityFile: `\\server\share\id`},
		"trailing backslash":         {Host: "a", IdentityFile: `C:\keys\`},
	} {
		got, _, err := Apply([]byte("Host z\n"), b)
		if err == nil || errors.Is(err, ErrDamagedMarkers) {
			t.Errorf("%s: Apply(%+v) = %q, %v; want a validation error", name, b, got, err)
		}
		if err != nil && (strings.HasSuffix(err.Error(), ".") || err.Error() != strings.ToLower(err.Error()[:1])+err.Error()[1:]) {
			t.Errorf("%s: error %q should start lowercase and have no final period", name, err)
		}
	}
}

// removeInserted undoes an insertion exactly as Apply documents it: the
// block plus the blank line after it when it sits before a Host/Match line,
// or the block plus the one line ending before it when it was appended.
func removeInserted(t *testing.T, out []byte, host string) []byte {
	t.Helper()
	bom := 0
	if bytes.HasPrefix(out, utf8BOM) {
		bom = len(utf8BOM)
	}
	lines := splitLines(out[bom:])
	blocks, err := findBlocks(out[bom:], lines)
	if err != nil {
		t.Fatal(err)
	}
	for _, blk := range blocks {
		if blk.host != host {
			continue
		}
		first, last := lines[blk.begin], lines[blk.end]
		nl := string(out[bom+first.bodyEnd : bom+first.end])
		begin, end := bom+first.start, bom+last.end
		if string(out[bom+last.bodyEnd:end]) != nl {
			t.Fatalf("inserted block's END line does not end with %q in %q", nl, out)
		}
		if end < len(out) { // before a Host/Match line: a blank line follows
			if !bytes.HasPrefix(out[end:], []byte(nl)) {
				t.Fatalf("inserted block not followed by a blank line in %q", out)
			}
			return splice(out[:begin], "", out[end+len(nl):])
		}
		before := out[:begin]
		if begin == bom {
			return bytes.Clone(before)
		}
		if !bytes.HasSuffix(before, []byte(nl)) {
			t.Fatalf("appended block not preceded by a line ending in %q", out)
		}
		return bytes.Clone(before[:len(before)-len(nl)])
	}
	t.Fatalf("no block for %q in %q", host, out)
	return nil
}

// variedConfigs are realistic and awkward configs without our block.
var variedConfigs = []string{
	"",
	"\n",
	"\r\n",
	"\n\n\n",
	"User me",
	"User me\r",
	"User me\n",
	bom,
	bom + "Host a\r\n  User b\r\n",
	"# ~/.ssh/config\n\nInclude config.d/*\n\nHost *\n  AddKeysToAgent yes\n  UseKeychain yes\n",
	"Host github.com\n\tUser git\n\tIdentityFile ~/.ssh/gh\n\nHost *\n\tServerAliveInterval 30",
	"ServerAliveInterval 30\r\nServerAliveCountMax 3\r\n\r\n# work\r\nHost work\r\n    HostName w.example.com\r\n",
	"Compression yes\n\n\n# a\n\n# b\n# c\nMatch host *.corp exec \"true\"\n  ProxyJump jump\n",
	otherBlock + "\nHost *\n  User x\n",
	"Host=a\nHOST b\n",
	"# only a comment without newline",
	"  \t  ",
	"\tUser  me   \n  # indented comment\n\tmatch all\n",
	"mixed\nline\r\nendings\rhere\n",
	"#BEGIN git-bbkey bb.example.com\n",
}

func TestApplyRemovingTheBlockGivesTheInputBack(t *testing.T) {
	for _, in := range variedConfigs {
		out, change, err := Apply([]byte(in), testBlock)
		if err != nil || change != Inserted {
			t.Errorf("Apply(%q) = %v, %v; want Inserted", in, change, err)
			continue
		}
		if back := removeInserted(t, out, testBlock.Host); string(back) != in {
			t.Errorf("removing the block from\n%q\ngives\n%q\nwant\n%q", out, back, in)
		}
		// A newer block replaces only the bytes between the markers.
		newer := testBlock
		newer.Port = 22
		newer.IdentityFile = "/home/u/My Keys/id"
		out2, change, err := Apply(out, newer)
		if err != nil || change != Replaced {
			t.Errorf("Apply(newer) on %q = %v, %v; want Replaced", out, change, err)
			continue
		}
		if back := removeInserted(t, out2, testBlock.Host); string(back) != in {
			t.Errorf("after replacement, removing the block from\n%q\ngives\n%q\nwant\n%q", out2, back, in)
		}
	}
}
