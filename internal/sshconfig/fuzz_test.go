package sshconfig

import (
	"bytes"
	"errors"
	"testing"
)

var fuzzBlocks = []Block{
	testBlock,
	{Host: "bb.example.com", HostName: "bb.internal", Port: 22, User: "git", IdentityFile: "/home/u/My Keys/100%/id", IdentitiesOnly: true},
	{Host: "other.example.com", User: "git"},
	{Host: "h"},
}

// FuzzApply: Apply never panics, and when it succeeds the result is stable
// (a second Apply changes nothing) and holds the input's bytes: an
// insertion removes cleanly, a replacement keeps everything outside the
// markers, no change means the very same bytes.
func FuzzApply(f *testing.F) {
	for _, c := range variedConfigs {
		f.Add([]byte(c), uint8(0))
	}
	for _, c := range []string{
		blockLF, blockCRLF, oldBlockLF, otherBlock + oldBlockLF + otherBlock2,
		"Host a\n" + blockLF[:len(blockLF)-1],
		"# BEGIN git-bbkey bb.example.com\n# BEGIN git-bbkey bb.example.com\n",
		"# END git-bbkey h\n# BEGIN git-bbkey h\n",
		"# BEGIN git-bbkey h \r\r\n# END git-bbkey h\r",
		bom + "# BEGIN git-bbkey h\nHost h\n# END git-bbkey h",
	} {
		for v := range fuzzBlocks {
			f.Add([]byte(c), uint8(v))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, variant uint8) {
		b := fuzzBlocks[int(variant)%len(fuzzBlocks)]
		keep := bytes.Clone(in)
		out, change, err := Apply(in, b)
		if !bytes.Equal(in, keep) {
			t.Fatalf("Apply modified its input")
		}
		if err != nil {
			if !errors.Is(err, ErrDamagedMarkers) || out != nil {
				t.Fatalf("Apply(%q) = %q, %v: only damaged markers may fail, with no output", in, out, err)
			}
			return
		}
		switch change {
		case Unchanged:
			if !bytes.Equal(out, in) {
				t.Fatalf("Unchanged but the bytes differ:\n%q\n%q", in, out)
			}
		case Inserted:
			if back := removeInserted(t, out, b.Host); !bytes.Equal(back, in) {
				t.Fatalf("removing the inserted block from\n%q\ngives\n%q\nwant\n%q", out, back, in)
			}
		case Replaced:
			// Outside the markers the bytes are the input's: compare what
			// comes before the BEGIN line and after the END line.
			if a, b := outsideBlock(t, in, b.Host), outsideBlock(t, out, b.Host); a[0] != b[0] || a[1] != b[1] {
				t.Fatalf("replacement changed bytes outside the block:\n%q\n%q", in, out)
			}
		default:
			t.Fatalf("unknown change %v", change)
		}
		again, change2, err := Apply(out, b)
		if err != nil || change2 != Unchanged || !bytes.Equal(again, out) {
			t.Fatalf("second Apply on\n%q\n= %v, %v; want Unchanged", out, change2, err)
		}
	})
}

// outsideBlock returns the text before host's BEGIN line and after its END
// line (after the END line's line ending, if any).
func outsideBlock(t *testing.T, data []byte, host string) [2]string {
	t.Helper()
	bom := 0
	if bytes.HasPrefix(data, utf8BOM) {
		bom = len(utf8BOM)
	}
	content := data[bom:]
	lines := splitLines(content)
	blocks, err := findBlocks(content, lines)
	if err != nil {
		t.Fatal(err)
	}
	for _, blk := range blocks {
		if blk.host == host {
			return [2]string{string(data[:bom+lines[blk.begin].start]), string(content[lines[blk.end].end:])}
		}
	}
	t.Fatalf("no block for %q in %q", host, data)
	return [2]string{}
}
