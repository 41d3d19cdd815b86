package app

import "github.com/git-bbkey/git-bbkey/internal/gitremote"

// redactURL hides a password written into a URL (gitremote.Redact).
func redactURL(raw string) string { return gitremote.Redact(raw) }
