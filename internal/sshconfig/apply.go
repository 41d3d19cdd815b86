package sshconfig

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Change says what Apply did to the file.
type Change int

const (
	Unchanged Change = iota // the block was already there, byte for byte
	Inserted                // the block was added
	Replaced                // an older version of the block was replaced
)

func (c Change) String() string {
	switch c {
	case Unchanged:
		return "unchanged"
	case Inserted:
		return "inserted"
	case Replaced:
		return "replaced"
	}
	return fmt.Sprintf("Change(%d)", int(c))
}

// ErrDamagedMarkers is returned (wrapped, with the line numbers) when the
// git-bbkey marker lines do not pair up: a BEGIN without an END, an END
// without a BEGIN, two blocks for the same host, or a block inside another.
var ErrDamagedMarkers = errors.New("damaged git-bbkey markers")

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Apply returns existing with b's block in it. It is a pure function.
//
// An existing block for b.Host (its BEGIN line through its END line and
// that line's ending) is replaced in place, wherever it is; if it already
// reads exactly as b renders, Apply returns existing itself and Unchanged.
// An END line that ends the file without a line ending stays without one.
//
// A new block goes before the first Host or Match line, because ssh takes
// the first value it obtains for each option and everything after a Host
// line belongs to that Host. Comment lines directly above that line stay
// with it (the block goes above them), and the block is followed by one
// blank line. Global options, and top-level Include lines, stay above the
// block: moving an Include below our Host line would make it apply to our
// host only. So an included file that sets options for our host (or for
// "Host *") still wins over the block; `ssh -G <host>` shows the result.
// Without any Host or Match line the block is appended; a non-empty file
// gets one line ending first, which ends its last line if it had no line
// ending and leaves a blank line before the block otherwise.
//
// The block uses the file's line ending: CRLF if the first line ending is
// CRLF (or, in a file of one line, if it ends in a bare CR), LF otherwise.
// A UTF-8 BOM stays at the very start. Every other byte is kept.
//
// Marker lines must read exactly "# BEGIN git-bbkey <host>" and
// "# END git-bbkey <host>" from the first column; trailing spaces, tabs and
// CRs are tolerated. All markers in the file, for any host, must pair up,
// or Apply fails with ErrDamagedMarkers: the file is then left to the user.
func Apply(existing []byte, b Block) (updated []byte, change Change, err error) {
	if err := b.validate(); err != nil {
		return nil, Unchanged, err
	}
	bom := 0
	if bytes.HasPrefix(existing, utf8BOM) {
		bom = len(utf8BOM)
	}
	content := existing[bom:]
	lines := splitLines(content)
	blocks, err := findBlocks(content, lines)
	if err != nil {
		return nil, Unchanged, err
	}
	nl := detectNewline(content)
	rendered := b.Render(nl)

	for _, blk := range blocks {
		if blk.host != b.Host {
			continue
		}
		start := bom + lines[blk.begin].start
		end := bom + lines[blk.end].end
		want := rendered
		if last := lines[blk.end]; last.end == last.bodyEnd {
			// The END line is the last line and has no line ending: keep it so.
			want = strings.TrimSuffix(rendered, nl)
		}
		if string(existing[start:end]) == want {
			return existing, Unchanged, nil
		}
		return splice(existing[:start], want, existing[end:]), Replaced, nil
	}

	if at, ok := insertionPoint(content, lines, blocks); ok {
		at += bom
		return splice(existing[:at], rendered+nl, existing[at:]), Inserted, nil
	}
	if len(content) == 0 {
		return splice(existing, rendered, nil), Inserted, nil
	}
	return splice(existing, nl+rendered, nil), Inserted, nil
}

func splice(before []byte, middle string, after []byte) []byte {
	out := make([]byte, 0, len(before)+len(middle)+len(after))
	out = append(out, before...)
	out = append(out, middle...)
	return append(out, after...)
}

// line is one line of the file as offsets: content[start:bodyEnd] is its
// text without the line ending, content[bodyEnd:end] its "\n" or "\r\n"
// (empty for a last line without one).
type line struct{ start, bodyEnd, end int }

func splitLines(content []byte) []line {
	var lines []line
	for start := 0; start < len(content); {
		i := bytes.IndexByte(content[start:], '\n')
		if i < 0 {
			lines = append(lines, line{start, len(content), len(content)})
			break
		}
		end := start + i + 1
		bodyEnd := start + i
		if bodyEnd > start && content[bodyEnd-1] == '\r' {
			bodyEnd--
		}
		lines = append(lines, line{start, bodyEnd, end})
		start = end
	}
	return lines
}

func detectNewline(content []byte) string {
	i := bytes.IndexByte(content, '\n')
	if i > 0 && content[i-1] == '\r' {
		return "\r\n"
	}
	// One line ending in a bare CR: the line ending Apply adds after it
	// turns that CR into a CRLF, so the file is a CRLF file from then on.
	if i < 0 && bytes.HasSuffix(content, []byte{'\r'}) {
		return "\r\n"
	}
	return "\n"
}

// block is a marked block as line indexes of its BEGIN and END lines.
type block struct {
	host       string
	begin, end int
}

// marker reports whether text is a BEGIN or END line and for which host.
func marker(text []byte) (kind, host string) {
	s := strings.TrimRight(string(text), " \t\r")
	if h, ok := strings.CutPrefix(s, beginPrefix); ok && h != "" {
		return "BEGIN", h
	}
	if h, ok := strings.CutPrefix(s, endPrefix); ok && h != "" {
		return "END", h
	}
	return "", ""
}

func findBlocks(content []byte, lines []line) ([]block, error) {
	var blocks []block
	open := -1 // index in blocks of the block still waiting for its END
	damaged := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrDamagedMarkers}, args...)...)
	}
	for i, l := range lines {
		kind, host := marker(content[l.start:l.bodyEnd])
		switch kind {
		case "BEGIN":
			if open >= 0 {
				return nil, damaged("line %d begins a block for %q inside the block for %q begun on line %d",
					i+1, host, blocks[open].host, blocks[open].begin+1)
			}
			for _, prev := range blocks {
				if prev.host == host {
					return nil, damaged("line %d begins a second block for %q (the first is on lines %d-%d)",
						i+1, host, prev.begin+1, prev.end+1)
				}
			}
			blocks = append(blocks, block{host: host, begin: i, end: -1})
			open = len(blocks) - 1
		case "END":
			if open < 0 {
				return nil, damaged("line %d ends a block for %q that no BEGIN line opened", i+1, host)
			}
			if blocks[open].host != host {
				return nil, damaged("line %d ends a block for %q, but the block open since line %d is for %q",
					i+1, host, blocks[open].begin+1, blocks[open].host)
			}
			blocks[open].end = i
			open = -1
		}
	}
	if open >= 0 {
		return nil, damaged("line %d begins a block for %q that no END line closes",
			blocks[open].begin+1, blocks[open].host)
	}
	return blocks, nil
}

// insertionPoint returns the offset of the line a new block goes before:
// the first Host or Match line (or the BEGIN line of the marked block that
// holds it), moved up over the comment lines directly above it. ok is
// false when the file has no Host or Match line.
func insertionPoint(content []byte, lines []line, blocks []block) (at int, ok bool) {
	first := -1
	for i, l := range lines {
		if startsSection(content[l.start:l.bodyEnd]) {
			first = i
			break
		}
	}
	if first < 0 {
		return 0, false
	}
	for _, blk := range blocks {
		if blk.begin < first && first < blk.end {
			first = blk.begin
		}
	}
	for first > 0 {
		text := content[lines[first-1].start:lines[first-1].bodyEnd]
		if kind, _ := marker(text); kind != "" || !isComment(text) {
			break
		}
		first--
	}
	return lines[first].start, true
}

// startsSection reports whether a line is a Host or Match line. ssh reads
// the keyword up to whitespace or '=', case-insensitively.
func startsSection(text []byte) bool {
	s := strings.TrimLeft(string(text), " \t\f\r")
	if i := strings.IndexAny(s, " \t\f\r="); i >= 0 {
		s = s[:i]
	}
	return strings.EqualFold(s, "host") || strings.EqualFold(s, "match")
}

func isComment(text []byte) bool {
	return strings.HasPrefix(strings.TrimLeft(string(text), " \t\f\r"), "#")
}
