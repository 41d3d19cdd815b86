package app

import "github.com/urfave/cli/v2"

// Flags that several commands share, defined once.

func serverFlag() cli.Flag {
	return &cli.StringFlag{Name: "server", Usage: "Bitbucket base `URL` (default: git config bbkey.url, else derived from an https remote)"}
}

func yesFlag(usage string) cli.Flag {
	return &cli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: usage}
}
