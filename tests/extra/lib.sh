# SPDX-License-Identifier: Apache-2.0
# tests/extra/lib.sh: shared by the extra suites (install, man, python,
# packages, tsan). Sourced, not run. Gives:
#   check NAME CMD...    run CMD, print "ok NAME" or "FAIL NAME" (+ its output)
#   summary              print "N passed, N failed"; exit status 1 on a failure
#   dev_cluster_up       start the dev cluster unless it runs (stopped at exit
#                        only if started here), source its env file
#   build_plain DIR      configure and build a build without sanitizers (an
#                        ASan library does not load into python3)
#   install_plain DIR PREFIX   cmake --install DIR into PREFIX
# shellcheck shell=bash
root=${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
x_passed=0; x_failed=0
x_exit_hooks=()
x_on_exit() { local h; for h in "${x_exit_hooks[@]}"; do eval "$h"; done; }
trap x_on_exit EXIT
at_exit() { x_exit_hooks=("$1" "${x_exit_hooks[@]}"); }

check() {
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then
    x_passed=$((x_passed + 1)); echo "ok   $name"
  else
    x_failed=$((x_failed + 1)); echo "FAIL $name"; printf '%s\n' "$out" | tail -40 | sed 's/^/     /'
  fi
}

summary() {
  echo "$x_passed passed, $x_failed failed"
  [[ $x_failed == 0 ]]
}

dev_cluster_up() {
  if ! "$root/ceph-dev/status" >/dev/null 2>&1; then
    "$root/ceph-dev/up" --quiet >/dev/null || { echo "ceph-dev/up failed" >&2; return 1; }
    at_exit '"$root/ceph-dev/down" >/dev/null 2>&1'
  fi
  # shellcheck disable=SC1091
  . "${FASTSNAP_DEV_DIR:-$root/ceph-dev/.state}/env"
}

build_plain() { # $1 = build dir
  cmake -S "$root" -B "$1" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFASTSNAP_SANITIZE=OFF \
    -DFASTSNAP_TESTS=OFF -DFASTSNAP_MAN=ON >/dev/null &&
  cmake --build "$1" -j"${FASTSNAP_BUILD_JOBS:-2}" 2>&1 | grep -Ev '^\[ *[0-9]+%\]|^-- |Built target'
  [[ ${PIPESTATUS[0]} == 0 ]]
}

install_plain() { # $1 = build dir, $2 = prefix
  cmake --install "$1" --prefix "$2" >/dev/null
}

# Glance calls with the dev cluster's admin headers.
glance() {
  local hdrs=() h hs
  IFS='|' read -ra hs <<<"$FASTSNAP_GLANCE_HEADERS"
  for h in "${hs[@]}"; do hdrs+=(-H "$h"); done
  curl -sf "${hdrs[@]}" "$@"
}
rbd_admin() { rbd -c "$CEPH_CONF" --id admin --keyring "$FASTSNAP_DEV_ADMIN_KEYRING" "$@"; }
