package sshverify

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// errRemote is a pkt-line "ERR <message>" from the server.
type errRemote struct{ msg string }

func (e *errRemote) Error() string { return "remote error: " + e.msg }

// readAdvertisement reads a protocol v0/v1 ref advertisement up to its
// flush-pkt and returns the number of refs (peeled "^{}" entries and an
// empty repository's "capabilities^{}" placeholder are not refs).
func readAdvertisement(r *bufio.Reader) (refs int, err error) {
	first := true
	for {
		pkt, flush, err := readPkt(r)
		if err != nil {
			return refs, err
		}
		if flush {
			return refs, nil
		}
		line := strings.TrimSuffix(string(pkt), "\n")
		if first {
			first = false
			if msg, ok := strings.CutPrefix(line, "ERR "); ok {
				return 0, &errRemote{msg: strings.TrimSpace(msg)}
			}
			if line == "version 1" {
				continue
			}
			if line == "version 2" {
				return 0, errors.New("the server answered with protocol v2, which was not asked for")
			}
		}
		if i := strings.IndexByte(line, 0); i >= 0 {
			line = line[:i]
		}
		oid, name, ok := strings.Cut(line, " ")
		if !ok || !isObjectID(oid) {
			return refs, fmt.Errorf("unexpected line in the ref advertisement: %q", truncate(line, 80))
		}
		if name == "capabilities^{}" || strings.HasSuffix(name, "^{}") {
			continue
		}
		refs++
	}
}

func isObjectID(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// readPkt reads one pkt-line: 4 hex digits of length (including
// themselves), then the payload; "0000" is a flush.
func readPkt(r *bufio.Reader) (payload []byte, flush bool, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		return nil, false, err
	}
	n, err := strconv.ParseUint(string(hdr[:]), 16, 16)
	if err != nil {
		return nil, false, fmt.Errorf("bad pkt-line length %q", hdr[:])
	}
	switch {
	case n == 0:
		return nil, true, nil
	case n < 4:
		return nil, false, fmt.Errorf("unexpected pkt-line length %q", hdr[:])
	}
	payload = make([]byte, n-4)
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, false, fmt.Errorf("truncated pkt-line: %w", err)
	}
	return payload, false, nil
}

// shellQuote quotes s as git's sq_quote_buf does for the remote command.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		if len(p) > room {
			b.buf.Write(p[:room])
		} else {
			b.buf.Write(p)
		}
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string { return b.buf.String() }

// ParseAdvertisement reads a ref advertisement that another client got
// (the stdout of git-upload-pack or git-receive-pack run through the
// user's ssh) as Verify reads its own: the number of refs, or the
// server's ERR message (remote), or what was wrong with it (err).
func ParseAdvertisement(b []byte) (refs int, remote string, err error) {
	refs, err = readAdvertisement(bufio.NewReader(bytes.NewReader(b)))
	var e *errRemote
	if errors.As(err, &e) {
		return 0, e.msg, err
	}
	return refs, "", err
}
