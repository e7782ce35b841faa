#!/usr/bin/env bash
# Installs what the project needs beyond the .NET 10 SDK, only where it is missing (idempotent).
set -euo pipefail

if ! command -v dotnet >/dev/null 2>&1; then
  echo "deps: the .NET 10 SDK is required (dotnet not found on PATH): https://dot.net/download" >&2
  exit 1
fi

# dataset-fashion-mnist: the real Fashion-MNIST (60k + 10k idx files) in /usr/share/datasets.
# python3-torch, python3-torchvision: PyTorch for the test that loads exported backbones into torchvision.
# redis-server: the multi-silo cluster test (deploy/local/cluster.sh) and the connection tests.
# chromium: the run page's test loads the page in headless Chromium (DevTools protocol) and fails on any console error.
# nodejs, npm: Azurite (the Azure Storage emulator) for the Azure Table clustering test and the blob storage tests, installed below into .tools/.
apt_packages=(dataset-fashion-mnist)
[ "${1:-}" = "--test" ] && apt_packages+=(python3-torch python3-torchvision redis-server chromium)
if [ "${1:-}" = "--test" ] && ! command -v npm >/dev/null 2>&1; then apt_packages+=(nodejs npm); fi
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "deps: missing ${missing[*]} and no apt-get here; download Fashion-MNIST from https://github.com/zalandoresearch/fashion-mnist and pass --data DIR" >&2
    exit 1
  fi
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "deps: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Azurite 3.37 in a project-local folder (.tools/azurite, ignored by git); the tests start its table and blob services on free ports.
if [ "${1:-}" = "--test" ]; then
  root="$(cd "$(dirname "$0")/.." && pwd)"
  if [ ! -x "$root/.tools/azurite/node_modules/.bin/azurite-table" ]; then
    echo "deps: installing azurite 3.37.0 into .tools/azurite"
    npm install --prefix "$root/.tools/azurite" --no-fund --no-audit --loglevel=error azurite@3.37.0 >/dev/null
  fi
fi
