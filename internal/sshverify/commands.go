package sshverify

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

// advertisement runs git-upload-pack or git-receive-pack, reads the ref
// advertisement, then sends a flush-pkt and closes stdin so the server
// ends without a transfer. On failure msg is the server's explanation.
func (l *lease) advertisement(ctx context.Context, cmd string) (refs int, msg string, err error) {
	stderr := &limitedBuffer{max: maxOutput}
	err = l.withSession(ctx, func(s *ssh.Session) error {
		stdin, err := s.StdinPipe()
		if err != nil {
			return err
		}
		stdout, err := s.StdoutPipe()
		if err != nil {
			return err
		}
		s.Stderr = stderr
		if err := s.Start(cmd); err != nil {
			return err
		}
		refs, err = readAdvertisement(bufio.NewReader(stdout))
		if err == nil {
			_, _ = io.WriteString(stdin, "0000")
		}
		stdin.Close()
		waitErr := s.Wait()
		if err == nil {
			return nil
		}
		var remote *errRemote
		if errors.As(err, &remote) {
			msg = remote.msg
			return err
		}
		msg = strings.TrimSpace(stderr.String())
		if msg == "" && waitErr != nil {
			msg = waitErr.Error()
		}
		if msg == "" {
			msg = err.Error()
		}
		if errors.Is(err, io.EOF) && msg == err.Error() {
			msg = "the server closed the command without a ref advertisement"
		}
		return err
	})
	if err != nil && msg == "" {
		msg = err.Error()
	}
	return refs, msg, err
}

// run executes a command and returns its (bounded) stdout.
func (l *lease) run(ctx context.Context, cmd string, stdin io.Reader) (stdout, stderr string, err error) {
	out := &limitedBuffer{max: maxOutput}
	errOut := &limitedBuffer{max: maxOutput}
	err = l.withSession(ctx, func(s *ssh.Session) error {
		s.Stdin, s.Stdout, s.Stderr = stdin, out, errOut
		return s.Run(cmd)
	})
	if err != nil {
		return "", "", err
	}
	return out.String(), errOut.String(), nil
}
