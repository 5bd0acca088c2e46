#!/usr/bin/env bash
# The Debian 12 packages that `bench/gpu_check.sh --debs DIR` unpacks on a
# GPU host that lacks libvips, jansson and libyaml (a CUDA image with pip's
# PyTorch, say) and has no package manager to install them with.
#
#   bench/gpu_debs.sh DIR
#
# Run on a Debian 12 machine where rsicam builds (README's install step).
# Downloads into DIR the -dev packages, for the headers, and every package
# that holds a library that libvips, jansson or libyaml loads (ldd's
# closure), except glibc's and the compiler's run-time libraries, which
# the host has in newer versions. About 40 MB. The host needs pkg-config
# (the H200 machines' image has it).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: bench/gpu_debs.sh DIR" >&2; exit 2; }
dir=$1
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
libs=()
for soname in libvips.so.42 libjansson.so.4 libyaml-0.so.2; do
    # the first match; awk reads on, so that ldconfig never meets a closed pipe
    path=$(ldconfig -p | awk -v l="$soname" '$1 == l && !p { p = $NF } END { print p }')
    [ -n "$path" ] || { echo "gpu_debs.sh: $soname is not installed" >&2; exit 1; }
    libs+=("$path")
    while read -r dep; do libs+=("$dep"); done < <(ldd "$path" | awk '/=>/ { print $3 }')
done
# glibc and the compiler's run-time: the host's own, newer ones must serve
mapfile -t pkgs < <(for l in "${libs[@]}"; do
    dpkg -S "$(readlink -f "$l")" 2>/dev/null || dpkg -S "$l"
done | cut -d: -f1 | sort -u | grep -v -x -e libc6 -e libgcc-s1 -e 'libstdc++6')
# apt-get download writes into the current folder
(cd "$dir" && apt-get download "${pkgs[@]}" libvips-dev libglib2.0-dev libjansson-dev libyaml-dev)
echo "gpu_debs.sh: $(ls "$dir"/*.deb | wc -l) packages in $dir"
