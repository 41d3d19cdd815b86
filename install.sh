#!/bin/sh
# Build and install git-bbkey for the current user, then run it once.
#
#   ./install.sh                 # into ~/.local
#   PREFIX=/usr/local ./install.sh
#
# Installs the binary to $PREFIX/bin (git then runs it as `git bbkey`), the
# man page to $PREFIX/share/man/man1 (git turns `git bbkey --help` into
# `man git-bbkey`) and bash, zsh and fish completions to their usual user
# locations. It edits no shell start-up files.
set -eu

cd "$(dirname "$0")"
PREFIX=${PREFIX:-$HOME/.local}
DATA_HOME=${XDG_DATA_HOME:-$HOME/.local/share}
CONFIG_HOME=${XDG_CONFIG_HOME:-$HOME/.config}

if ! command -v go >/dev/null 2>&1; then
	echo "error: go is not on PATH" >&2
	echo "hint: install Go 1.26 or newer from your package manager, then run ./install.sh again" >&2
	exit 1
fi

version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
bindir=$PREFIX/bin
mandir=$PREFIX/share/man/man1
mkdir -p "$bindir" "$mandir"

echo "Building git-bbkey $version"
go build -trimpath -ldflags "-X main.version=$version" -o "$bindir/git-bbkey.tmp" ./git-bbkey
mv -f "$bindir/git-bbkey.tmp" "$bindir/git-bbkey"
echo "Installed $bindir/git-bbkey"

install -m 0644 contrib/man/git-bbkey.1 "$mandir/git-bbkey.1"
echo "Installed $mandir/git-bbkey.1"

bashdir=$DATA_HOME/bash-completion/completions
zshdir=$PREFIX/share/zsh/site-functions
# fish loads completions/ only for a command of that name (git-bbkey);
# for `git bbkey` the file must be sourced at start-up: conf.d.
fishdir=$CONFIG_HOME/fish/conf.d
mkdir -p "$bashdir" "$zshdir" "$fishdir"
install -m 0644 contrib/completion/git-bbkey.bash "$bashdir/git-bbkey"
install -m 0644 contrib/completion/_git-bbkey "$zshdir/_git-bbkey"
install -m 0644 contrib/completion/git-bbkey.fish "$fishdir/git-bbkey.fish"
echo "Installed completions: $bashdir/git-bbkey, $zshdir/_git-bbkey, $fishdir/git-bbkey.fish"
echo "  bash: for 'git bbkey <TAB>' add to ~/.bashrc:  . $bashdir/git-bbkey"
echo "  zsh:  add $zshdir to fpath, and: zstyle ':completion:*:*:git:*' user-commands bbkey:'SSH keys for Bitbucket'"

case ":$PATH:" in
*":$bindir:"*) ;;
*)
	echo "warning: $bindir is not on your PATH, so git cannot find 'git bbkey' yet" >&2
	echo "hint: add it to PATH in your shell start-up file: export PATH=\"$bindir:\$PATH\"" >&2
	;;
esac

# Smoke run, through git as a user would call it.
PATH="$bindir:$PATH" git bbkey --version
