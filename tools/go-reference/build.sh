#!/bin/sh
# Build go-reference offline from Debian's Go packages (see README.md).
# Usage: tools/go-reference/build.sh [OUTDIR]   (default /tmp/go-reference)
set -eu
out=${1:-/tmp/go-reference}
src=$(cd "$(dirname "$0")" && pwd)
gocode=/usr/share/gocode/src
mkdir -p "$out"
out=$(cd "$out" && pwd)

# Debian installs sprig and semver without their /v3 module suffix, and GOPATH
# mode only resolves the suffix for code inside GOPATH; a tiny overlay GOPATH
# of symlinks provides github.com/Masterminds/{sprig,semver}/v3.
overlay="$out/gopath/src/github.com/Masterminds"
for pkg in sprig semver; do
    mkdir -p "$overlay/$pkg"
    ln -sfn "$gocode/github.com/Masterminds/$pkg" "$overlay/$pkg/v3"
done

cd "$src"
env GO111MODULE=off GOPROXY=off GOFLAGS= GOTOOLCHAIN=local \
    GOPATH="$out/gopath:/usr/share/gocode" GOCACHE="$out/cache" \
    go build -o "$out/go-reference" .
echo "built $out/go-reference"
