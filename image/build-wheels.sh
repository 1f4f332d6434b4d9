#!/usr/bin/env bash
# Build the appliance wheel from the working tree and fetch its pinned dependencies as wheels.
# Usage: image/build-wheels.sh REPO_DIR OUT_DIR [IMAGE_PYTHON]
# Runs on the build host (amd64, Debian 12 or 13), so the image needs no compiler and pip
# inside it never touches the network. The appliance's own wheel is pure Python, built with
# the host's Python; its dependencies are fetched as binary wheels for the image's Python
# (IMAGE_PYTHON, e.g. 3.13; default: the host's), whatever the host runs.
set -euo pipefail
repo=$1 out=$2
image_python=${3:-$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')}
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
"$venv/bin/python" -m pip wheel -q --disable-pip-version-check --no-deps -w "$out" "$src"
wheel=$(ls "$out"/ixp_appliance-*.whl)
# Every dependency as a wheel for the image's CPython on glibc amd64 (the manylinux tags
# Debian's glibc satisfies), never built here: a missing wheel fails the build loudly.
platforms=()
for tag in manylinux2014_x86_64 manylinux_2_17_x86_64 manylinux_2_28_x86_64 \
           manylinux_2_34_x86_64 linux_x86_64; do
    platforms+=(--platform "$tag")
done
"$venv/bin/python" -m pip download -q --disable-pip-version-check --only-binary=:all: \
    --python-version "$image_python" --implementation cp "${platforms[@]}" \
    -c "$repo/constraints.txt" -d "$out" "$wheel"
rm -rf "$venv" "$src"
ls "$out"/ixp_appliance-*.whl >/dev/null
