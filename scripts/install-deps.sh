#!/usr/bin/env bash
# Installs the Debian packages in scripts/deps.txt that are missing. Idempotent;
# does nothing (and needs no network) when everything is present.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mapfile -t wanted < <(grep -v '^\s*#' "$here/deps.txt" | tr ' ' '\n' | sed '/^$/d')
missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#wanted[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# nginx and prometheus from Debian start system services on install; the cluster runs its own copies.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now nginx prometheus >/dev/null 2>&1 || true; fi
