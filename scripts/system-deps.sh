#!/usr/bin/env bash
# Debian packages Credo and its tests need: xmlsec1 (SAML signatures, pysaml2), fonts for every script a
# recipient's name may use, poppler (PDF to PNG), tesseract (reads names back off the PNG),
# zbar (decodes QR codes independently), Chromium, and pgbouncer and iproute2 for the test
# that runs API and worker hosts in network namespaces. Installs what is missing when it
# can (root, apt-get); otherwise says what to install and carries on, since only some
# tests need them.
set -euo pipefail

packages=(xmlsec1 chromium poppler-utils tesseract-ocr zbar-tools fonts-noto-core fonts-noto-cjk fonts-dejavu-core pgbouncer iproute2)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
elif command -v apt-get >/dev/null && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  echo "installing ${missing[*]}"
  sudo apt-get update -qq
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "warning: missing Debian packages: ${missing[*]} (tests that need them will say so)" >&2
fi
