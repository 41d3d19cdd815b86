// Command gendocs rewrites the man page and shell completions under
// contrib/ from the command tree (and the man page's EXAMPLES from
// README.md's "Use" section). Run it from the repository root:
//
//	go run ./contrib/gendocs
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/git-bbkey/git-bbkey/internal/app"
)

func main() {
	readme, err := os.ReadFile("README.md")
	if err == nil {
		err = app.WriteGenerated(string(readme), func(path, content string) error {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			return os.WriteFile(path, []byte(content), 0o644)
		})
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\nhint: run it from the repository root: go run ./contrib/gendocs\n", err)
		os.Exit(1)
	}
}
