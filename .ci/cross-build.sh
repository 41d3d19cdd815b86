#!/usr/bin/env bash
# Cross-builds git-bbkey for every platform a release ships (linux, darwin
# and windows on amd64 and arm64), and vets every package, tests included,
# for each OS: a file with the wrong build tag fails here, not on a user's
# machine. Nothing is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
export CGO_ENABLED=0
for os in linux darwin windows; do
	for arch in amd64 arm64; do
		echo "cross-build: $os/$arch"
		GOOS=$os GOARCH=$arch go build -trimpath -o /dev/null ./git-bbkey
	done
	# Linux is vetted by .ci/run; the others here (amd64 stands for both
	# architectures: no file here depends on the architecture).
	if [ "$os" != linux ]; then
		echo "cross-build: go vet for $os"
		GOOS=$os GOARCH=amd64 go vet ./...
	fi
done
echo "cross-build: done in $((SECONDS - started))s"
