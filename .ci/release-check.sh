#!/usr/bin/env bash
# Release check: builds a snapshot release with GoReleaser from
# .goreleaser.yaml, exactly as a tagged release would be built but without
# publishing anything, into a temporary directory (never ./dist), then
# checks it with .ci/release/check.go: every archive's file list, the
# checksums, the Homebrew formula and Scoop manifest against them, and
# `git-bbkey --version` from the unpacked linux/amd64 archive.
#
# GoReleaser is installed at a pinned version through the Go module proxy
# (go install), once per machine: v2.17.0, else v2.15.1.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
pins=(v2.17.0 v2.15.1)
bindir=$(go env GOPATH)/bin

goreleaser=""
for pin in "${pins[@]}"; do
	if "$bindir/goreleaser" --version 2>/dev/null | grep -q "^GitVersion: *$pin\$"; then
		goreleaser=$bindir/goreleaser
		break
	fi
	echo "release-check: installing GoReleaser $pin through the Go module proxy"
	if GOBIN=$bindir go install "github.com/goreleaser/goreleaser/v2@$pin"; then
		goreleaser=$bindir/goreleaser
		break
	fi
	echo "release-check: GoReleaser $pin did not install; trying the next pinned version" >&2
done
if [ -z "$goreleaser" ]; then
	echo "release-check: no pinned GoReleaser version (${pins[*]}) could be installed" >&2
	exit 1
fi
echo "release-check: $("$goreleaser" --version 2>/dev/null | grep '^GitVersion') ($((SECONDS - started))s)"

work=$(mktemp -d "${TMPDIR:-/tmp}/bbkey-release.XXXXXX")
trap 'rm -rf "$work"' EXIT
# The same configuration, with dist/ moved out of the work tree.
{ cat .goreleaser.yaml; printf '\ndist: %s\n' "$work/dist"; } >"$work/goreleaser.yaml"

had_dist=$([ -e dist ] && echo yes || echo no)
echo "release-check: goreleaser release --snapshot --clean"
if ! "$goreleaser" release --snapshot --clean -f "$work/goreleaser.yaml" >"$work/goreleaser.log" 2>&1; then
	cat "$work/goreleaser.log"
	echo "release-check: goreleaser failed" >&2
	exit 1
fi
grep -E 'DEPRECATED|release succeeded' "$work/goreleaser.log" || true
if [ "$had_dist" = no ] && [ -e dist ]; then
	echo "release-check: goreleaser wrote ./dist in the work tree" >&2
	exit 1
fi

go run .ci/release/check.go -dist "$work/dist"
echo "release-check: done in $((SECONDS - started))s"
