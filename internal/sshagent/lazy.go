package sshagent

import (
	"errors"
	"io"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// Dialer connects to an ssh-agent (Dial, or a test's own). Close the
// Closer when done with the agent.
type Dialer func() (agent.ExtendedAgent, io.Closer, error)

// System dials the agent that getenv's environment names (Dial).
func System(getenv func(string) string) Dialer {
	return func() (agent.ExtendedAgent, io.Closer, error) { return Dial(getenv) }
}

// Lazy is a run's ssh-agent, connected on first use and kept until Close:
// a key the agent unlocked signs through that one connection. Its methods
// are safe for concurrent use, Close included: it waits for a connection
// being made and closes it.
type Lazy struct {
	dial Dialer

	once   sync.Once // connects (or, Close first, never will)
	ag     agent.ExtendedAgent
	closer io.Closer
	err    error

	mu     sync.Mutex
	closed bool
}

// NewLazy returns the agent reached through dial (nil: there is none).
func NewLazy(dial Dialer) *Lazy { return &Lazy{dial: dial} }

// Get connects on the first call and returns the agent, or the error that
// connecting gave (ErrNoAgent when there is no agent), every time; after
// Close, ErrClosed.
func (l *Lazy) Get() (agent.ExtendedAgent, error) {
	l.once.Do(func() {
		if l.dial == nil {
			l.err = &DialError{NoAgent: true}
			return
		}
		l.ag, l.closer, l.err = l.dial()
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	return l.ag, l.err
}

// Signers are the agent's keys; none when there is no agent or it cannot
// be reached (an agent is only ever a way to unlock a key, never a reason
// to fail).
func (l *Lazy) Signers() ([]ssh.Signer, error) {
	ag, err := l.Get()
	if err != nil {
		return nil, nil
	}
	return ag.Signers()
}

// Close ends the connection, if one was made; one being made (a Get in
// progress) is waited for and closed. Nothing connects after Close.
func (l *Lazy) Close() {
	l.once.Do(func() { l.err = ErrClosed })
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	if l.closer != nil {
		l.closer.Close()
	}
}

// ErrClosed: the agent was asked for after Close.
var ErrClosed = errors.New("the ssh-agent connection is closed")
