#!/bin/sh
# Benchmark `git bbkey verify` against a local OpenSSH sshd and compare it
# with `git ls-remote` (issue 4). Flags go to contrib/benchverify, e.g.
#   contrib/bench-verify.sh -n 20 -v
#   contrib/bench-verify.sh -server sandbox   # internal/bbsandbox instead of sshd
# Needs go, git, ssh, ssh-keygen and (for -server sshd) sshd.
set -eu
cd "$(dirname "$0")/.."
exec go run ./contrib/benchverify "$@"
