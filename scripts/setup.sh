#!/usr/bin/env bash
# Installs every Debian package mgraph builds, tests or benchmarks with.
# Idempotent and non-interactive: packages already present are not touched.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libcaf-dev
  libcapnp-dev capnproto
  liblmdb-dev lmdb-utils
  prometheus-cpp-dev
  prometheus
  libgtest-dev googletest libgmock-dev
  libbenchmark-dev
  libeigen3-dev
  libgoogle-perftools-dev
  libtomlplusplus-dev libcli11-dev libedit-dev
  libspdlog-dev libfmt-dev
  nlohmann-json3-dev
  libssl-dev openssl
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "setup: done"
