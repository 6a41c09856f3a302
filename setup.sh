#!/usr/bin/env bash
# LeanCam setup: installs what the appliance needs, fetches the pinned models and the walking demo clip,
# checks the bundled running demo (sha256), and optionally runs the appliance or the tests.
# Idempotent: a second run changes nothing and says so.
#
#   ./setup.sh            install (or check) the appliance
#   ./setup.sh run        install if needed, then run the appliance on its default source
#   ./setup.sh test       install with test dependencies if needed, then run all tests
#   ./setup.sh service    install as a systemd service in /opt/leancam (own user, starts at boot)
#   ./setup.sh bench      also create .venv-bench (mediapipe 0.10.14) for `leancam bench pose`
#   ./setup.sh --dev      install test dependencies too (pytest, ruff, Playwright + Debian's chromium)
#
# On Raspberry Pi OS, picamera2 comes from apt (python3-picamera2) and the venv sees system packages;
# elsewhere a plain .venv is used and the Pi camera is simply absent.
set -euo pipefail

cd "$(dirname "$0")"
ROOT=$(pwd)
VENV="${LEANCAM_VENV:-$ROOT/.venv}"
ACTION=install
DEV=0
for arg in "$@"; do
  case "$arg" in
    install|run|test|service|bench) ACTION=$arg ;;
    --dev) DEV=1 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done
[ "$ACTION" = test ] && DEV=1

CHANGED=0
say() { printf '[setup] %s\n' "$*"; }
fail() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || fail "not root and sudo is missing: run as root or install sudo"
  SUDO=sudo
fi

# --- platform -------------------------------------------------------------------------------
IS_PI=0
if grep -qs "Raspberry Pi" /proc/device-tree/model || [ -f /etc/rpi-issue ]; then
  IS_PI=1
fi
say "platform: $(uname -m), $( . /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown OS}"), Raspberry Pi: $([ $IS_PI = 1 ] && echo yes || echo no)"

PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || fail "python3 not found: install it with 'apt-get install python3 python3-venv'"
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
  || fail "Python 3.11 or newer is needed (found $("$PY" --version 2>&1))"

# --- system packages ------------------------------------------------------------------------
APT_PKGS=()
[ $IS_PI = 1 ] && APT_PKGS+=(python3-picamera2 python3-venv)
if [ $DEV = 1 ]; then
  # Debian's chromium for the browser tests (Playwright's own browser download cannot work offline).
  APT_PKGS+=(chromium)
  # Debian's mosquitto: the MQTT tests start their own broker on a random loopback port.
  APT_PKGS+=(mosquitto)
fi
MISSING=()
for pkg in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || MISSING+=("$pkg")
done
if [ ${#MISSING[@]} -gt 0 ]; then
  say "installing system packages: ${MISSING[*]}"
  $SUDO apt-get update -qq || fail "apt-get update failed (network or apt sources?)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${MISSING[@]}" >/dev/null \
    || fail "apt-get install ${MISSING[*]} failed"
  CHANGED=1
fi

# --- virtual environment --------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  say "creating virtual environment $VENV"
  if [ $IS_PI = 1 ]; then
    # picamera2 and libcamera are only available as Debian packages on the Pi.
    "$PY" -m venv --system-site-packages "$VENV" || fail "could not create $VENV (apt-get install python3-venv)"
  else
    "$PY" -m venv "$VENV" || fail "could not create $VENV (apt-get install python3-venv)"
  fi
  CHANGED=1
fi

# Reinstall only when pyproject.toml changed or test extras are newly asked for.
STAMP="$VENV/.leancam-install"
HASH=$(sha256sum pyproject.toml | cut -c1-64)
HAVE_HASH=""; HAVE_DEV=0
[ -f "$STAMP" ] && read -r HAVE_HASH HAVE_DEV < "$STAMP"
if [ "$HASH" != "$HAVE_HASH" ] || { [ $DEV = 1 ] && [ "$HAVE_DEV" != 1 ]; }; then
  [ "$HAVE_DEV" = 1 ] && DEV=1   # never drop test extras a previous run installed
  EXTRAS=""
  [ $DEV = 1 ] && EXTRAS="[dev]"
  say "installing LeanCam$EXTRAS into $VENV"
  # (this machine's pip config lists optional local indexes; their "ignored" notes are noise)
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".$EXTRAS" \
    2> >(grep -v "^WARNING: Location '.*' is ignored" >&2) \
    || fail "pip install failed (see the messages above)"
  echo "$HASH $DEV" > "$STAMP"
  CHANGED=1
fi

# --- models and demo clip -------------------------------------------------------------------
FETCH_OUT=$("$VENV/bin/leancam" fetch) || fail "fetching or checking models and demo clips failed (see the message above)"
if grep -q '^fetched' <<<"$FETCH_OUT"; then
  echo "$FETCH_OUT" | sed 's/^/[setup] /'
  CHANGED=1
fi

if [ $CHANGED = 0 ]; then
  say "everything already installed; nothing changed"
else
  say "done"
fi

install_service() {
  # Deploy the committed tree to a root-owned prefix the service user can read (home folders are
  # private on Raspberry Pi OS), give it its own venv and models, then install and start the units.
  local prefix="${LEANCAM_PREFIX:-/opt/leancam}"
  command -v systemctl >/dev/null || fail "systemd is not available on this machine"
  [ -d "$prefix" ] || $SUDO mkdir -p "$prefix"
  say "deploying $(git rev-parse --short HEAD 2>/dev/null || echo tree) to $prefix"
  if git rev-parse --git-dir >/dev/null 2>&1; then
    git archive HEAD | $SUDO tar -x -C "$prefix"
  else
    $SUDO cp -a "$ROOT/." "$prefix/"
  fi
  $SUDO env LEANCAM_VENV="$prefix/.venv" "$prefix/setup.sh" install
  $SUDO install -m 0644 systemd/leancam.sysusers /etc/sysusers.d/leancam.conf
  $SUDO install -m 0644 systemd/leancam.tmpfiles /etc/tmpfiles.d/leancam.conf
  $SUDO systemd-sysusers /etc/sysusers.d/leancam.conf
  $SUDO systemd-tmpfiles --create /etc/tmpfiles.d/leancam.conf
  sed "s|@PREFIX@|$prefix|g" systemd/leancam.service | $SUDO tee /etc/systemd/system/leancam.service >/dev/null
  $SUDO systemd-analyze verify /etc/systemd/system/leancam.service || fail "the rendered unit does not verify"
  $SUDO systemctl daemon-reload
  $SUDO systemctl enable --now leancam.service || fail "could not start leancam.service (journalctl -u leancam)"
  say "leancam.service enabled and started; logs: journalctl -u leancam -f"
}

case "$ACTION" in
  service)
    install_service ;;
  run)
    say "starting the appliance: web display on http://localhost:${LEANCAM_WEB_PORT:-8080} (Ctrl-C stops it)"
    exec "$VENV/bin/leancam" run ;;
  test)
    exec "$VENV/bin/python" -m pytest ;;
  bench)
    # --- bench venv (issue 8): MediaPipe, the reference `leancam bench pose` compares with --------
    # A separate venv because mediapipe 0.10.14 needs numpy < 2 and the appliance's venv has numpy 2;
    # the bench runs it as a subprocess on the same decoded frames. Not needed on the appliance.
    BENCH_VENV="$ROOT/.venv-bench"
    if "$BENCH_VENV/bin/python" -c 'import mediapipe, numpy' >/dev/null 2>&1; then
      say "bench venv $BENCH_VENV already has mediapipe; nothing changed"
    else
      say "creating bench venv $BENCH_VENV with mediapipe==0.10.14 (needs Python 3.9-3.12)"
      "$PY" -m venv "$BENCH_VENV" || fail "could not create $BENCH_VENV (apt-get install python3-venv)"
      "$BENCH_VENV/bin/python" -m pip install -q --disable-pip-version-check "mediapipe==0.10.14" "numpy<2" \
        || fail "pip install mediapipe==0.10.14 failed (no wheel for $("$PY" --version 2>&1)? use PYTHON=python3.11)"
    fi
    say "run: $VENV/bin/leancam bench pose" ;;
esac
