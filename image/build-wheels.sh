#!/usr/bin/env bash
# Build the appliance wheel from the working tree and fetch its pinned dependencies as wheels.
# Usage: image/build-wheels.sh REPO_DIR OUT_DIR
# Runs on the build host (Debian 12, Python 3.11, amd64: the same ABI as the image), so the
# image needs no compiler and pip inside it never touches the network.
set -euo pipefail
repo=$1 out=$2
venv="$out/.build-venv" src="$out/.src"
mkdir -p "$out"
# Build from a copy of the working tree (tracked and untracked, not ignored files) so that
# setuptools' build/ and egg-info never land in the repository.
rm -rf "$src" && mkdir -p "$src"
git -C "$repo" ls-files -z -co --exclude-standard | (
    cd "$repo"
    while IFS= read -r -d '' f; do
        [ -e "$f" ] && cp --parents -- "$f" "$src"  # skip files deleted in the work tree
    done
    true
)
/usr/bin/python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip
# The web UI's catalogues: compiled here so the wheel (package-data *.mo) ships them.
"$venv/bin/python" -m pip install -q --disable-pip-version-check -c "$repo/constraints.txt" Babel
"$venv/bin/pybabel" compile -d "$src/appliance/web/translations"
# PIP_CACHE_DIR (if set by the caller) keeps downloads between builds; never inside the repo.
"$venv/bin/python" -m pip wheel -q --disable-pip-version-check -c "$repo/constraints.txt" \
    -w "$out" "$src"
rm -rf "$venv" "$src"
ls "$out"/ixp_appliance-*.whl >/dev/null
