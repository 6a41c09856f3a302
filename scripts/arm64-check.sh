#!/usr/bin/env bash
# arm64-check.sh — install and run LeanCam in an emulated Debian arm64 (Raspberry Pi) userland.
#
# Builds a Debian arm64 chroot from Debian's own packages (debootstrap + qemu-user-static), clones
# this repository into it, runs ./setup.sh there, runs `leancam pose` on a few demo frames and the
# model-numerics tests (goldens and variants) with ARM's XNNPACK kernels, and prints a pass/fail
# table. Too slow for CI (emulation: ~1.4 s a frame); run it before a release and write its table
# into docs/performance.md with the date.
#
#   sudo scripts/arm64-check.sh                       # Bookworm (Python 3.11), Pi 5 CPU, full check
#   sudo scripts/arm64-check.sh --suite trixie        # Trixie (Python 3.13)
#   sudo scripts/arm64-check.sh --cpu pi4             # Cortex-A72 (Pi 4: NEON without dot product)
#   sudo scripts/arm64-check.sh --no-tests            # setup.sh + leancam pose only
#   options: --root DIR (chroot, kept and reused; default /var/tmp/leancam-arm64-SUITE)
#            --ref REF  (commit or branch to clone; default: this checkout's HEAD)
#            --tests "FILE ..." (test files to run; default: variants, goldens, model build)
#            --gate     (also measure the shipped variants' deviation here: models/build/gate.py
#                        --kernel-family arm64-neondot|arm64-neon; needs the hold-out arrays in
#                        build/model-build/ made on the host by models.build.crops)
#
# Why the CPU set-up: qemu-user passes the host's x86 /proc/cpuinfo through, and the CPU detection
# inside ai-edge-litert (cpuinfo, used by XNNPACK) crashes on it: every model load dies with
# "qemu: uncaught target signal 11". So the script sets QEMU_CPU to the Pi's core and bind-mounts a
# Pi-like /proc/cpuinfo into the chroot: pi5 = cortex-a76 (asimddp: XNNPACK's NEON dot-product int8
# kernels), pi4 = cortex-a72 (plain NEON int8 kernels). Both are real kernel families the product
# runs on.
#
# Where the host reaches the package registries through a proxy or an intercepting CA, pip inside
# the chroot needs the same: the host's CA bundle is copied in and the proxy variables are passed.
# Needs root (chroot, mounts, binfmt_misc). Exit status 0 only if every step passed.
set -uo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
SUITE=bookworm
CPU=pi5
ROOT=""
REF=""
TESTS=1
TEST_FILES="tests/test_pose_variants.py tests/test_pose_golden.py tests/test_model_build.py"
GATE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --suite) SUITE=$2; shift ;;
    --cpu) CPU=$2; shift ;;
    --root) ROOT=$2; shift ;;
    --ref) REF=$2; shift ;;
    --no-tests) TESTS=0 ;;
    --tests) TEST_FILES=$2; shift ;;
    --gate) GATE=1 ;;
    -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "arm64-check: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
ROOT=${ROOT:-/var/tmp/leancam-arm64-$SUITE}
REF=${REF:-$(git -C "$HERE" rev-parse HEAD)}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
case "$CPU" in
  pi5) QEMU_CPU=cortex-a76; FAMILY=arm64-neondot ;;
  pi4) QEMU_CPU=cortex-a72; FAMILY=arm64-neon ;;
  *) echo "arm64-check: --cpu is pi5 or pi4" >&2; exit 2 ;;
esac
export QEMU_CPU

say() { printf '[arm64-check %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { say "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mounts)"

declare -a STEP_NAMES=() STEP_RESULTS=() STEP_TIMES=()
record() { STEP_NAMES+=("$1"); STEP_RESULTS+=("$2"); STEP_TIMES+=("$3"); }
table() {
  echo
  echo "arm64 check: Debian $SUITE arm64 under qemu-user ($QEMU_CPU, $CPU-like /proc/cpuinfo), $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "repo $(git -C "$HERE" rev-parse --short "$REF") ; chroot $ROOT"
  printf '| %-52s | %-6s | %8s |\n' "step" "result" "min"
  printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..54})" "--------" "----------"
  local i
  for i in "${!STEP_NAMES[@]}"; do
    printf '| %-52s | %-6s | %8s |\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}" "${STEP_TIMES[$i]}"
  done
}
# run NAME CMD...: time a step and record PASS/FAIL.
run() {
  local name=$1; shift
  local t0=$SECONDS
  say "step: $name"
  if "$@"; then record "$name" PASS "$(awk "BEGIN{printf \"%.1f\", ($SECONDS-$t0)/60}")"; return 0; fi
  record "$name" FAIL "$(awk "BEGIN{printf \"%.1f\", ($SECONDS-$t0)/60}")"
  return 1
}

# --- host tools -------------------------------------------------------------------------------
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
[ -x /usr/bin/qemu-aarch64-static ] || need+=(qemu-user-static)
command -v update-binfmts >/dev/null || need+=(binfmt-support)
if [ ${#need[@]} -gt 0 ]; then
  say "installing host packages: ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
    || die "apt-get install ${need[*]} failed"
fi
# binfmt_misc with the F (fix binary) flag: the kernel opens qemu-aarch64-static when the handler is
# registered, so arm64 binaries run inside the chroot without a copy of qemu in it.
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
  || die "cannot mount binfmt_misc"
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || update-binfmts --import qemu-aarch64 >/dev/null 2>&1 || true
fi
grep -q '^flags:.*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null \
  || die "qemu-aarch64 binfmt handler missing or without the F flag (see /proc/sys/fs/binfmt_misc)"

# --- Pi-like /proc/cpuinfo ----------------------------------------------------------------------
CPUINFO="$ROOT.cpuinfo-$CPU"
write_cpuinfo() {
  local features part variant rev model
  if [ "$CPU" = pi5 ]; then
    features="fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp"
    part=0xd0b; variant=0x4; rev=1; model="Raspberry Pi 5 Model B Rev 1.0"
  else
    features="fp asimd evtstrm crc32 cpuid"
    part=0xd08; variant=0x0; rev=3; model="Raspberry Pi 4 Model B Rev 1.4"
  fi
  local n
  for n in 0 1 2 3; do
    printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: %s\nCPU part\t: %s\nCPU revision\t: %d\n\n' \
      "$n" "$features" "$variant" "$part" "$rev"
  done
  printf 'Revision\t: d04170\nSerial\t\t: 0000000000000000\nModel\t\t: %s\n' "$model"
}

# --- the chroot -------------------------------------------------------------------------------
MOUNTS=()
cleanup() {
  local m
  for ((i=${#MOUNTS[@]}-1; i>=0; i--)); do umount -l "${MOUNTS[$i]}" 2>/dev/null; done
}
trap cleanup EXIT
mnt() { mount "$@" && MOUNTS+=("${!#}"); }

build_chroot() {
  if [ -f "$ROOT/.leancam-chroot-ok" ]; then say "reusing chroot $ROOT"; return 0; fi
  rm -rf "$ROOT"
  say "debootstrap $SUITE arm64 into $ROOT (first stage on the host, second under emulation)"
  debootstrap --arch=arm64 --foreign --variant=minbase \
    --include=python3,python3-venv,python3-dev,git,ca-certificates,build-essential \
    "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1 || { tail -20 "$ROOT.debootstrap.log"; return 1; }
  chroot "$ROOT" /debootstrap/debootstrap --second-stage >>"$ROOT.debootstrap.log" 2>&1 \
    || { tail -20 "$ROOT.debootstrap.log"; return 1; }
  touch "$ROOT/.leancam-chroot-ok"
}
run "debootstrap $SUITE arm64 (+ second stage emulated)" build_chroot || { table; exit 1; }

write_cpuinfo > "$CPUINFO"
mnt -t proc proc "$ROOT/proc"
mnt --bind "$CPUINFO" "$ROOT/proc/cpuinfo"
mnt -t sysfs sysfs "$ROOT/sys"
mnt --bind /dev "$ROOT/dev"
mnt --bind /dev/pts "$ROOT/dev/pts"
mkdir -p "$ROOT/dev/shm" && mnt -t tmpfs tmpfs "$ROOT/dev/shm"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
# The host's CA bundle (it trusts whatever the host's route to the registries presents).
HOST_CA=${SSL_CERT_FILE:-${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}}
cp "$HOST_CA" "$ROOT/etc/ssl/certs/leancam-host-ca.crt" || die "cannot copy the host CA bundle $HOST_CA"

# Environment inside the chroot: a clean one, plus QEMU_CPU (read by the emulator), the CA bundle
# and the host's proxy variables if any.
CENV=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
      QEMU_CPU="$QEMU_CPU" PIP_CERT=/etc/ssl/certs/leancam-host-ca.crt
      SSL_CERT_FILE=/etc/ssl/certs/leancam-host-ca.crt REQUESTS_CA_BUNDLE=/etc/ssl/certs/leancam-host-ca.crt
      PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180 DEBIAN_FRONTEND=noninteractive)
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY PIP_INDEX_URL PIP_EXTRA_INDEX_URL; do
  [ -n "${!v:-}" ] && CENV+=("$v=${!v}")
done
in_chroot() { chroot "$ROOT" /usr/bin/env -i "${CENV[@]}" /bin/bash -c "$1"; }

check_cpu() {
  in_chroot 'uname -m; python3 --version; grep -m1 Features /proc/cpuinfo' | sed 's/^/    /'
}
run "arm64 userland, $CPU cpuinfo ($QEMU_CPU)" check_cpu || { table; exit 1; }

# --- the repository ---------------------------------------------------------------------------
APP=/home/leancam/leancam
clone_repo() {
  rm -rf "$ROOT$APP"
  mkdir -p "$ROOT/home/leancam"
  git clone -q "$HERE" "$ROOT$APP" && git -C "$ROOT$APP" checkout -q "$REF" || return 1
  # The real running clips (../shared/data) are beside the repo in a developer's tree; the goldens
  # for treadmill_slowmo need them. Read-only bind mount, only if present.
  if [ -f "$HERE/../shared/data/README.md" ]; then
    mkdir -p "$ROOT/home/leancam/shared"
    mnt --bind -o ro "$HERE/../shared" "$ROOT/home/leancam/shared"
  fi
  git -C "$ROOT$APP" log --oneline -1 | sed 's/^/    /'
}
run "clone $(git -C "$HERE" rev-parse --short "$REF")" clone_repo || { table; exit 1; }

run "./setup.sh (Python $(in_chroot 'python3 -c "import sys; print(*sys.version_info[:2], sep=\".\")"'))" \
  in_chroot "cd $APP && ./setup.sh" || { table; exit 1; }
in_chroot "cd $APP && .venv/bin/pip freeze" | grep -i -E '^(numpy|opencv|ai-edge-litert|av|scipy)=' | sed 's/^/    installed: /'

pose_on_demo_frames() {
  # The first 30 packets of the demo clip, remuxed (no re-encode), then the real CLI on them.
  in_chroot "cd $APP && .venv/bin/python - <<'EOF'
import av
with av.open('models/demo/demo.mp4') as src, av.open('/tmp/demo30.mp4', 'w') as dst:
    s = src.streams.video[0]
    o = dst.add_stream_from_template(s)
    n = 0
    for pkt in src.demux(s):
        if pkt.dts is None:
            continue
        pkt.stream = o
        dst.mux(pkt)
        n += 1
        if n >= 30:
            break
EOF
.venv/bin/leancam pose /tmp/demo30.mp4 --out /tmp/demo30.jsonl --no-progress && .venv/bin/python - <<'EOF'
import json
lines = [json.loads(x) for x in open('/tmp/demo30.jsonl')]
frames = lines[1:]
posed = sum(1 for f in frames if f.get('landmarks'))
print(f'    leancam pose: {len(frames)} frames, {posed} with a pose')
raise SystemExit(0 if len(frames) == 30 and posed >= 20 else 1)  # x86: 24 of 30 (nobody in view at first)
EOF"
}
run "leancam pose on 30 demo frames" pose_on_demo_frames
STATUS=$?

if [ $TESTS = 1 ]; then
  run "pip install pytest (test runner only)" in_chroot "cd $APP && .venv/bin/pip install -q 'pytest>=8'" || STATUS=1
  for t in $TEST_FILES; do
    run_tests() {
      in_chroot "cd $APP && .venv/bin/python -m pytest -q -rfEs -p no:cacheprovider $1" 2>&1 \
        | tee -a "$ROOT.pytest.log" | grep -E 'passed|failed|FAILED|ERROR|SKIPPED|Error' | sed 's/^/    /'
      return "${PIPESTATUS[0]}"
    }
    run "pytest $t" run_tests "$t" || STATUS=1
  done
fi

if [ $GATE = 1 ]; then
  gate_here() {
    [ -d "$HERE/build/model-build" ] || { say "no build/model-build (run models.build.crops on the host)"; return 1; }
    mkdir -p "$ROOT$APP/build" && cp -a "$HERE/build/model-build" "$ROOT$APP/build/"
    # fp32 reference first (not shipped; fold_fp16 rebuilds it deterministically), then the shipped
    # variants on the same x86-made input arrays as every other family.
    in_chroot "cd $APP && .venv/bin/python -m models.build.fold_fp16 >/dev/null && .venv/bin/python -m models.build.gate \
      --kernel-family $FAMILY --how 'qemu-user QEMU_CPU=$QEMU_CPU, $CPU-like /proc/cpuinfo, Debian $SUITE' \
      --shipped-only --out build/kernel-$FAMILY.json" && cp "$ROOT$APP/build/kernel-$FAMILY.json" "$HERE/build/" \
      && say "wrote $HERE/build/kernel-$FAMILY.json (merge: python -m models.build.gate --merge build/kernel-*.json)"
  }
  run "gate.py per-kernel deviation (arm64-$CPU)" gate_here || STATUS=1
fi

table
exit $STATUS
