# SPDX-License-Identifier: Apache-2.0
# ceph-dev/lib.sh: helpers shared by ceph-dev/up (both stacks), down, status
# and the scripts that call Glance with the dev identity. Source it.
# shellcheck shell=bash

FSDEV_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# bash 5.2 treats '&' in ${var//pat/repl} replacements specially; we want literal text.
shopt -u patsub_replacement 2>/dev/null || true
# Debian's interpreter, whatever python3 comes first in PATH (pyenv, venvs...):
# Ceph's CLIs and glance-api use it too.
FSDEV_PY=/usr/bin/python3

fsdev_log()  { printf '%s: %s\n' "${FSDEV_PROG:-ceph-dev}" "$*" >&2; }
fsdev_die()  { fsdev_log "error: $*"; exit 1; }

# The state directory: $FASTSNAP_DEV_DIR, else ceph-dev/.state. Always absolute.
fsdev_state_dir() {
  local d=${FASTSNAP_DEV_DIR:-$FSDEV_HOME/.state}
  d=$(realpath -m -- "$d") || return 1
  case $d in
    *[[:space:]]*|*%*|*'$'*) fsdev_die "state dir must not contain whitespace, % or \$: '$d'" ;;
    /) fsdev_die "refusing to use / as the state dir" ;;
  esac
  printf '%s\n' "$d"
}

# Components in stop order (Glance first, then the OSD, then the mon).
# pid file (relative to the state dir) and the executable expected in its cmdline.
FSDEV_COMPONENTS=(glance osd mon)
fsdev_pidfile() {
  case $1 in
    glance) echo run/glance-api.pid ;;
    keystone) echo run/keystone.pid ;;
    mariadb) echo run/mariadb.pid ;;
    osd)    echo run/ceph-osd.0.pid ;;
    mon)    echo run/ceph-mon.a.pid ;;
    edge-osd) echo edge/run/ceph-osd.0.pid ;;
    edge-mon) echo edge/run/ceph-mon.a.pid ;;
    mgr)    echo run/ceph-mgr.x.pid ;;
    *)      echo "run/$1.pid" ;;   # the Nova cloud's (nova-*, placement, libvirtd, rabbitmq, epmd)
  esac
}
fsdev_exe() {
  case $1 in
    glance) echo glance-api ;;
    keystone|placement|nova-api) echo uwsgi ;;
    mariadb) echo mariadbd ;;
    osd|edge-osd) echo ceph-osd ;;
    mon|edge-mon) echo ceph-mon ;;
    mgr)    echo ceph-mgr ;;
    rabbitmq) echo beam.smp ;;
    *)      echo "$1" ;;           # nova-api, nova-conductor, ..., libvirtd, epmd
  esac
}
# The edge cluster's daemons (ceph-dev/up --edge: a second Ceph cluster in
# STATE/edge), stopped after the main ones. Every stop and stray check
# includes them: without --edge their pid files do not exist.
FSDEV_EDGE_COMPONENTS=(edge-osd edge-mon)

# fsdev_pid_is_ours STATE COMPONENT PID: the pid is alive (not a zombie) and its
# command line names the component's executable and this state dir. This makes
# a pid reused by an unrelated process (or by another cluster) never "ours".
fsdev_pid_is_ours() {
  local state=$1 comp=$2 pid=$3 cmd st
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $st == Z || $st == X || -z $st ]] && return 1
  cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmd == *"$(fsdev_exe "$comp")"* ]] || return 1
  if [[ $comp == epmd ]]; then
    # RabbitMQ's epmd names no path: it inherits the node's environment,
    # whose RABBITMQ_* directories are this state dir's
    grep -qzF "RABBITMQ_MNESIA_BASE=$state/" "/proc/$pid/environ" 2>/dev/null
    return
  fi
  [[ $cmd == *"$state/"* ]]
}

# fsdev_live_pid STATE COMPONENT: prints the pid if the pid file names a live
# process of ours; returns 1 otherwise.
fsdev_live_pid() {
  local state=$1 comp=$2 f pid
  f=$state/$(fsdev_pidfile "$comp")
  [[ -s $f ]] || return 1
  pid=$(tr -dc '0-9' < "$f")
  fsdev_pid_is_ours "$state" "$comp" "$pid" || return 1
  echo "$pid"
}

# fsdev_starting_pid STATE COMPONENT: fsdev_live_pid for a daemon that the
# calling shell has just started with `( ... exec DAEMON ) &` and whose pid
# file holds that $!: until the subshell has exec'd, the pid is not yet the
# daemon's, yet alive. It counts as the daemon's while it descends from
# this script ($$, through at most 4 parents: the subshells of a background
# job or of a command substitution), which a reused pid of another's does
# not. A start-up wait that took it for a dead daemon failed a run once
# (MariaDB, asked before its subshell had exec'd, under load).
fsdev_starting_pid() {
  local state=$1 comp=$2 pid
  fsdev_live_pid "$state" "$comp" && return 0
  pid=$(tr -dc '0-9' < "$state/$(fsdev_pidfile "$comp")" 2>/dev/null)
  fsdev_descends "$pid" "$$" 5 || return 1
  echo "$pid"
}

# fsdev_descends PID ANCESTOR DEPTH: PID is alive and ANCESTOR is among its
# first DEPTH parents (1: PID is ANCESTOR's child).
fsdev_descends() {
  local p=$1 i
  [[ $p =~ ^[0-9]+$ ]] || return 1
  for ((i = 0; i < $3; i++)); do
    p=$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')
    [[ -n $p && $p != 0 ]] || return 1
    [[ $p == "$2" ]] && return 0
  done
  return 1
}

# fsdev_stray_pids STATE: processes of ours (ceph-mon, ceph-osd, glance-api whose
# command line names this state dir) that no pid file accounts for. Used only
# to report, never to kill.
fsdev_stray_pids() {
  local state=$1 p comp known=" " pid
  for comp in "${FSDEV_COMPONENTS[@]}" "${FSDEV_EDGE_COMPONENTS[@]}"; do
    pid=$(fsdev_live_pid "$state" "$comp") && known+="$pid "
  done
  # cheap first pass: command lines that mention the state dir at all
  for p in $(grep -lsF -- "$state/" /proc/[0-9]*/cmdline 2>/dev/null); do
    pid=${p#/proc/}; pid=${pid%/cmdline}
    [[ $pid == "$$" || $known == *" $pid "* ]] && continue
    for comp in "${FSDEV_COMPONENTS[@]}"; do
      if fsdev_pid_is_ours "$state" "$comp" "$pid"; then echo "$pid"; break; fi
    done
  done
}

# fsdev_warn_strays STATE: list fsdev_stray_pids on stderr, if any.
fsdev_warn_strays() {
  local strays p
  strays=$(fsdev_stray_pids "$1")
  [[ -n $strays ]] || return 0
  fsdev_log "warning: processes that use $1 but were not started by ceph-dev/up (no pid file) are running; left alone:"
  for p in $strays; do ps -o pid=,cmd= -p "$p" >&2 || true; done
}

# fsdev_stop STATE COMPONENT [GRACE]: TERM the process of the pid file, wait up to
# GRACE seconds (default 15), then KILL. Removes the pid file. Returns 1 if the
# process is still there afterwards.
fsdev_stop() {
  local state=$1 comp=$2 grace=${3:-15} pid i f
  f=$state/$(fsdev_pidfile "$comp")
  if [[ $comp == epmd && ! -s $f && -s $state/run/epmd.port ]]; then
    # RabbitMQ's epmd detaches; before up recorded its pid, find it by its port
    pid=$(ss -Htlnp "sport = :$(cat "$state/run/epmd.port")" | grep -o 'pid=[0-9]*' | head -n 1)
    [[ -n $pid ]] && echo "${pid#pid=}" > "$f"
  fi
  if ! pid=$(fsdev_live_pid "$state" "$comp"); then
    rm -f "$f"
    return 0
  fi
  fsdev_log "stopping $comp (pid $pid)"
  FSDEV_STOPPED_PIDS="${FSDEV_STOPPED_PIDS:-} $pid"
  # worker processes (Glance's, uWSGI's): their parent stops them; we wait
  # for them below and TERM any that outlive it
  local kids
  kids=$(ps -o pid= --ppid "$pid" 2>/dev/null | tr -d ' ' | tr '\n' ' ')
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    fsdev_pid_is_ours "$state" "$comp" "$pid" || break
    sleep 0.1
  done
  if fsdev_pid_is_ours "$state" "$comp" "$pid"; then
    fsdev_log "$comp (pid $pid) ignored TERM for ${grace}s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      fsdev_pid_is_ours "$state" "$comp" "$pid" || break
      sleep 0.1
    done
  fi
  if fsdev_pid_is_ours "$state" "$comp" "$pid"; then
    fsdev_log "error: $comp (pid $pid) is still running"
    return 1
  fi
  local k left
  for ((i = 0; i < 50; i++)); do
    left=""
    for k in $kids; do fsdev_pid_is_ours "$state" "$comp" "$k" && left+="$k "; done
    [[ -z $left ]] && break
    ((i == 30)) && kill -TERM $left 2>/dev/null
    sleep 0.1
  done
  [[ -n $left ]] && kill -KILL $left 2>/dev/null
  rm -f "$f"
}

# fsdev_wait_reaped [SECONDS]: the daemons are children of pid 1 once they
# daemonise, so after they exit they stay zombies (ps: <defunct>) until pid 1
# reaps them, which here takes about a second. Wait for that (default 5 s), so
# that `ps` right after `down` is clean. A zombie is dead already: no failure.
fsdev_wait_reaped() {
  local secs=${1:-5} i pid st left
  for ((i = 0; i < secs * 10; i++)); do
    left=0
    for pid in ${FSDEV_STOPPED_PIDS:-}; do
      st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || continue
      [[ $st == Z ]] && left=1
    done
    ((left)) || return 0
    sleep 0.1
  done
  return 0
}

# fsdev_stop_all STATE: stop every component by pid file, Glance, OSD, mon,
# then the edge cluster's OSD and mon (if any).
fsdev_stop_all() {
  local state=$1 comp rc=0
  for comp in "${FSDEV_COMPONENTS[@]}" "${FSDEV_EDGE_COMPONENTS[@]}"; do
    [[ $comp == libvirtd ]] && fsdev_destroy_guests "$state"
    fsdev_stop "$state" "$comp" || rc=1
  done
  return $rc
}

# fsdev_destroy_guests STATE: the Nova cloud's libvirt guests destroyed
# (QEMU stopped) while their libvirtd still runs, before it is stopped.
fsdev_destroy_guests() {
  local state=$1 root uri dom
  fsdev_live_pid "$state" libvirtd >/dev/null || return 0
  root=$(fsdev_stack_root "$state")
  uri="qemu:///system?socket=$state/libvirt/sock/libvirt-sock"
  for dom in $(fsdev_inroot "$root" timeout 30 virsh -q -c "$uri" list --name 2>/dev/null); do
    fsdev_log "destroying guest $dom"
    fsdev_inroot "$root" timeout 60 virsh -q -c "$uri" destroy "$dom" >/dev/null 2>&1 ||
      fsdev_log "warning: could not destroy guest $dom"
  done
}

# A free TCP port on 127.0.0.1: let the kernel pick one, then check that it can
# be bound again and that nothing listens on it (ss), because the mon retries a
# busy port for 15 s and gives up.
fsdev_free_port() {
  local port i
  for ((i = 0; i < 20; i++)); do
    port=$("$FSDEV_PY" -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()') || continue
    # avoid Ceph's daemon range (ms_bind_port_min..max = 6800..7300)
    (( port >= 6800 && port <= 7300 )) && continue
    [[ " ${FSDEV_USED_PORTS:-} " == *" $port "* ]] && continue
    if "$FSDEV_PY" -c 'import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.close()' "$port" 2>/dev/null \
       && ! ss -Htln "sport = :$port" | grep -q .; then
      FSDEV_USED_PORTS="${FSDEV_USED_PORTS:-} $port"
      echo "$port"
      return 0
    fi
  done
  return 1
}

# fsdev_free_low_port: a free TCP port on 127.0.0.1 below the kernel's
# ephemeral range (32768-60999), for daemons that take seconds to bind
# (MariaDB, RabbitMQ, Nova's services): a port picked by fsdev_free_port can
# be taken meanwhile by an outgoing connection's local port (RabbitMQ then
# fails with eaddrinuse). Random in 20000-32767, checked like fsdev_free_port.
fsdev_free_low_port() {
  local port i
  for ((i = 0; i < 50; i++)); do
    port=$((20000 + RANDOM % 12768))
    [[ " ${FSDEV_USED_PORTS:-} " == *" $port "* ]] && continue
    if "$FSDEV_PY" -c 'import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.close()' "$port" 2>/dev/null \
       && ! ss -Htan "sport = :$port" | grep -q .; then
      FSDEV_USED_PORTS="${FSDEV_USED_PORTS:-} $port"
      echo "$port"
      return 0
    fi
  done
  return 1
}

# fsdev_render TEMPLATE OUT KEY=VALUE...: replace @KEY@ by VALUE.
fsdev_render() {
  local tpl=$1 out=$2 kv text
  shift 2
  text=$(<"$tpl")
  for kv in "$@"; do
    text=${text//@${kv%%=*}@/${kv#*=}}
  done
  if [[ $text =~ @[A-Z_]+@ ]]; then
    fsdev_die "unreplaced placeholder ${BASH_REMATCH[0]} in $tpl"
  fi
  printf '%s\n' "$text" > "$out"
}

# fsdev_http_status URL [HEADERS ('|'-separated)]: HTTP status code, or 000.
# Each request may take FSDEV_HTTP_TIMEOUT seconds (default 5).
fsdev_http_status() {
  local url=$1 args
  fsdev_header_args args "${2:-}"
  curl -s -o /dev/null -m "${FSDEV_HTTP_TIMEOUT:-5}" -w '%{http_code}' ${args[@]+"${args[@]}"} "$url" 2>/dev/null || true
}

# fsdev_ceph STATE ARGS...: the ceph CLI as client.admin of this cluster.
fsdev_ceph() {
  local state=$1
  shift
  timeout 30 ceph --conf "$state/ceph.conf" --id admin --connect-timeout 10 "$@"
}

# The Debian 13 root of the trixie stack (ceph-dev/trixie-root builds it):
# $FASTSNAP_DEV_TRIXIE_ROOT, default /var/cache/fastsnap-dev/trixie-root.
fsdev_trixie_root() {
  local d=${FASTSNAP_DEV_TRIXIE_ROOT:-/var/cache/fastsnap-dev/trixie-root}
  d=$(realpath -m -- "$d") || return 1
  [[ $d != / && $d != *[[:space:]]* ]] || fsdev_die "bad FASTSNAP_DEV_TRIXIE_ROOT: '$d'"
  printf '%s\n' "$d"
}

# ---------------------------------------------------------------------------
# The trixie stack (ceph-dev/up --stack trixie). Its state dir holds a file
# .stack naming the stack and the root; its daemons (mon, OSD, Glance,
# Keystone) run chrooted into that root. A bookworm state dir has no .stack.

# fsdev_stack STATE: "trixie" or "bookworm".
fsdev_stack() {
  if [[ -f $1/.stack ]] && grep -qx 'stack=trixie' "$1/.stack"; then echo trixie; else echo bookworm; fi
}
# fsdev_stack_root STATE: the root a trixie state dir was built with.
fsdev_stack_root() { [[ -f $1/.stack ]] && sed -n "s/^root=//p" "$1/.stack"; return 0; }

# fsdev_load_stack STATE: set FSDEV_COMPONENTS for the stack of STATE.
fsdev_load_stack() {
  if [[ $(fsdev_stack "$1") == trixie ]]; then
    if fsdev_stack_nova "$1"; then FSDEV_COMPONENTS=("${FSDEV_NOVA_COMPONENTS[@]}" "${FSDEV_TRIXIE_COMPONENTS[@]}")
    else FSDEV_COMPONENTS=("${FSDEV_TRIXIE_COMPONENTS[@]}"); fi
  fi
}
# The trixie stack's components in stop order; with --nova the cloud's come
# first: Nova's services and Placement, then libvirtd (fsdev_stop_all
# destroys its guests first), RabbitMQ and its epmd, the Ceph mgr; MariaDB
# after Glance and Keystone.
FSDEV_TRIXIE_COMPONENTS=(glance keystone mariadb osd mon)
FSDEV_NOVA_COMPONENTS=(nova-compute nova-scheduler nova-conductor nova-api placement no-network libvirtd rabbitmq epmd mgr)
# fsdev_stack_nova STATE: the trixie state dir was built with --nova.
fsdev_stack_nova() { [[ -f $1/.stack ]] && grep -qx 'nova=1' "$1/.stack"; }

# fsdev_inroot ROOT CMD...: run CMD inside ROOT with a clean environment
# (host variables do not leak in). VAR=value words may precede CMD.
fsdev_inroot() {
  local root=$1; shift
  chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 "$@"
}

# The mounts a root needs: proc, /dev, /dev/shm, /dev/pts, a tmpfs on run.
# They are shared by every user of the root (trixie stacks, tests/run's build);
# each user also binds its own directory at the same absolute path inside it.
# Both functions take ROOT.lock; the last user to release unmounts the shared ones.
fsdev_mounted() { awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }
FSDEV_ROOT_SHARED=(proc dev dev/shm dev/pts run)

# fsdev_root_acquire ROOT DIR: mount the shared mounts (if not yet) and bind
# DIR at ROOT/DIR.
fsdev_root_acquire() {
  local root=$1 dir=$2 m
  (
    exec 7>"$root.lock"
    flock -w 300 7 || fsdev_die "$root.lock is held (a root build?)"
    [[ -f $root/.fastsnap-trixie-root ]] || fsdev_die "$root is not a built root"
    fsdev_mounted "$root/proc" || mount -t proc proc "$root/proc"
    for m in dev dev/shm dev/pts; do
      mkdir -p "$root/$m"
      fsdev_mounted "$root/$m" || mount --bind "/$m" "$root/$m"
    done
    fsdev_mounted "$root/run" || mount -t tmpfs -o mode=755,size=64m tmpfs "$root/run"
    mkdir -p "$root$dir"
    fsdev_mounted "$root$dir" || mount --bind "$dir" "$root$dir"
  ) || return 1
}

# fsdev_root_release ROOT DIR: unmount ROOT/DIR; then, if no other directory
# is bound into the root and no process runs in it, the shared mounts.
fsdev_root_release() {
  local root=$1 dir=$2 m i p users rc=0
  (
    exec 7>"$root.lock"
    flock -w 300 7 || exit 1
    if fsdev_mounted "$root$dir"; then umount "$root$dir" || exit 1; fi
    rmdir "$root$dir" 2>/dev/null || true
    # other users: binds under the root other than the shared ones
    users=$(awk -v r="$root/" '{ if (index($5, r) == 1) print $5 }' /proc/self/mountinfo |
      while read -r p; do
        case ${p#"$root"/} in proc|dev|dev/shm|dev/pts|run) ;; *) echo "$p" ;; esac
      done)
    [[ -z $users ]] || exit 0
    for p in /proc/[0-9]*; do
      [[ $(readlink "$p/root" 2>/dev/null) == "$root" ]] && exit 0
    done
    for ((i = ${#FSDEV_ROOT_SHARED[@]} - 1; i >= 0; i--)); do
      m=$root/${FSDEV_ROOT_SHARED[i]}
      if fsdev_mounted "$m"; then umount "$m" || rc=1; fi
    done
    exit $rc
  )
}

# ---------------------------------------------------------------------------
# FASTSNAP_GLANCE_HEADERS and its kin ("Name: value|Name: value") as curl
# arguments. fsdev_header_args ARRAY HEADERS: ARRAY=(-H "Name: value" ...).
fsdev_header_args() {
  local -n _fsdev_out=$1
  local h hs=()
  _fsdev_out=()
  [[ -n ${2:-} ]] && IFS='|' read -r -a hs <<<"$2"
  for h in ${hs[@]+"${hs[@]}"}; do [[ -n $h ]] && _fsdev_out+=(-H "$h"); done
  return 0
}

# ---------------------------------------------------------------------------
# ceph-dev/up, both stacks (up: bookworm, up-trixie: trixie). The script sets
# FSDEV_UP_RUN, the prefix of the Ceph commands (empty, or fsdev_inroot ROOT),
# and defines healthy and summary; these functions do the rest that the two
# stacks share: options, lock, reuse or wipe, mon, OSD, pools, users, the
# waits, the env file's common lines.
FSDEV_UP_RUN=()

fsdev_say() { ((${quiet:-0})) || printf '%s\n' "$*"; }
FSDEV_T0=$(date +%s.%N)
fsdev_elapsed() { "$FSDEV_PY" -c "import sys; print('%.1f' % (float(sys.argv[1]) - float(sys.argv[2])))" "$(date +%s.%N)" "$FSDEV_T0"; }
# FASTSNAP_DEV_TIMING=1: print the elapsed time at each phase (to stderr).
fsdev_phase() { [[ ${FASTSNAP_DEV_TIMING:-0} == 1 ]] && printf 'up: %6s s  %s\n' "$(fsdev_elapsed)" "$*" >&2; return 0; }
fsdev_q() { printf '%q' "$1"; }

# fsdev_up_options USAGE_FN ARGS...: --bluestore, --memstore, --edge, --quiet, -h.
# Sets edge (--edge or FASTSNAP_DEV_EDGE=1: the second cluster, fsdev_up_edge),
# objectstore, explicit (was the object store asked for? If not, a
# running cluster of either kind will do), quiet, MEMSTORE_BYTES,
# BLUESTORE_GB, BLUESTORE_BYTES and PAXOS_INTERVAL.
# The mon's paxos propose interval bounds the latency of every map change,
# including each `rbd snap create` / `snap rm` (self-managed snapshot ids come
# from the mon): Ceph's 1 s default costs ~1 s per snapshot operation. The
# memstore (test) cluster uses 0.05 s, 20x faster; the BlueStore (benchmark)
# cluster keeps Ceph's default so that timings stay realistic.
# FASTSNAP_DEV_PAXOS_INTERVAL overrides both.
# shellcheck disable=SC2034  # the variables are the up scripts'
fsdev_up_options() {
  local usage=$1; shift
  objectstore=memstore
  explicit=0
  edge=0
  [[ ${FASTSNAP_DEV_EDGE:-0} =~ ^(1|true|yes|on)$ ]] && edge=1
  [[ ${FASTSNAP_DEV_BLUESTORE:-0} =~ ^(1|true|yes|on)$ ]] && objectstore=bluestore
  [[ -n ${FASTSNAP_DEV_BLUESTORE:-} ]] && explicit=1
  quiet=0
  while (($#)); do
    case $1 in
      --bluestore) objectstore=bluestore; explicit=1 ;;
      --memstore) objectstore=memstore; explicit=1 ;;
      --quiet|-q) quiet=1 ;;
      --edge) edge=1 ;;
      -h|--help) "$usage"; exit 0 ;;
      *) "$usage" >&2; exit 2 ;;
    esac
    shift
  done
  MEMSTORE_BYTES=$((8 * 1024 * 1024 * 1024))   # 8 GiB (ceph-dev/README.md)
  BLUESTORE_GB=${FASTSNAP_DEV_BLUESTORE_GB:-20}
  [[ $BLUESTORE_GB =~ ^[0-9]+$ ]] || fsdev_die "FASTSNAP_DEV_BLUESTORE_GB must be a number of GiB"
  BLUESTORE_BYTES=$((BLUESTORE_GB * 1024 * 1024 * 1024))
  if [[ -n ${FASTSNAP_DEV_PAXOS_INTERVAL:-} ]]; then PAXOS_INTERVAL=$FASTSNAP_DEV_PAXOS_INTERVAL
  elif [[ $objectstore == bluestore ]]; then PAXOS_INTERVAL=1.0
  else PAXOS_INTERVAL=0.05; fi
  [[ $PAXOS_INTERVAL =~ ^[0-9]*\.?[0-9]+$ ]] || fsdev_die "FASTSNAP_DEV_PAXOS_INTERVAL must be a number of seconds"
}

# fsdev_up_lock: STATE and MARKER set, one `up`/`down` at a time per state
# dir (fd 9 holds STATE.lock).
fsdev_up_lock() {
  STATE=$(fsdev_state_dir)
  MARKER=$STATE/.fastsnap-ceph-dev
  mkdir -p "$(dirname "$STATE")"
  exec 9>"$STATE.lock"
  flock -w 120 9 || fsdev_die "another ceph-dev/up or down holds $STATE.lock"
  trap '[[ -e $STATE ]] || rm -f "$STATE.lock"' EXIT
}

# BlueStore: the block file is sparse, but benchmarks fill it. Check the space
# before touching anything.
fsdev_check_bluestore_space() {
  local d=$STATE avail need fstype
  while [[ ! -d $d ]]; do d=$(dirname "$d"); done
  avail=$(df -B1 --output=avail "$d" | tail -n 1 | tr -d ' ')
  need=$((BLUESTORE_BYTES + 2 * 1024 * 1024 * 1024))
  if ((avail < need)); then
    fsdev_die "--bluestore needs $((need >> 30)) GiB free for $STATE (block file ${BLUESTORE_GB} GiB + 2 GiB), only $((avail >> 30)) GiB available; set FASTSNAP_DEV_BLUESTORE_GB lower or free space"
  fi
  fstype=$(df --output=fstype "$d" | tail -n 1 | tr -d ' ')
  [[ $fstype != tmpfs ]] || fsdev_die "--bluestore needs O_DIRECT, which tmpfs lacks ($STATE)"
}

# fsdev_up_reuse: a healthy cluster of this stack in STATE is kept (exit 0,
# or an error when another object store was asked for); anything else made
# by ceph-dev/up is stopped and wiped, whatever its stack.
fsdev_up_reuse() {
  local running old_root
  if [[ -e $STATE ]]; then
    if healthy; then
      running=$(sed -n 's/^export FASTSNAP_DEV_OBJECTSTORE=//p' "$STATE/env")
      if ((explicit)) && [[ $running != "$objectstore" ]]; then
        fsdev_die "a $running cluster is already running in $STATE; run ceph-dev/down --wipe first to get a $objectstore one"
      fi
      fsdev_say "ceph-dev: already running"
      summary
      fsdev_edge_summary
      ((quiet)) && echo "$STATE/env"
      exit 0
    fi
    if [[ ! -f $MARKER ]] && [[ -n $(ls -A "$STATE" 2>/dev/null) ]]; then
      fsdev_die "$STATE exists, is not empty and was not made by ceph-dev/up; refusing to wipe it"
    fi
    [[ $objectstore == bluestore ]] && fsdev_check_bluestore_space
    fsdev_say "ceph-dev: $STATE is not a healthy cluster (stopped, half-dead or of the other stack); rebuilding it"
    fsdev_load_stack "$STATE"
    fsdev_stop_all "$STATE" || fsdev_die "could not stop the old processes"
    fsdev_warn_strays "$STATE"
    old_root=$(fsdev_stack_root "$STATE")
    [[ -n $old_root ]] && { fsdev_root_release "$old_root" "$STATE" || fsdev_die "could not unmount $old_root$STATE"; }
    rm -rf --one-file-system -- "$STATE"
  fi
  [[ $objectstore == bluestore ]] && fsdev_check_bluestore_space
  return 0
}

# The EXIT trap of a build: on failure, stop what was started (and release
# the root, trixie) and keep the state dir (logs) for inspection; the next
# `up` wipes it. FSDEV_UP_LOGS: the logs whose tails are shown.
# shellcheck disable=SC2317  # called by the EXIT trap
fsdev_up_on_exit() {
  local rc=$? f
  if ((rc != 0 && ${started:-0})); then
    fsdev_log "failed (exit $rc); stopping what was started. Logs: $STATE/log/"
    for f in "$STATE"/log/*.out ${FSDEV_UP_LOGS[@]+"${FSDEV_UP_LOGS[@]}"}; do
      [[ -s $f ]] && { echo "--- tail -n 5 $f" >&2; tail -n 5 "$f" >&2; }
    done
    fsdev_stop_all "$STATE" || true
    [[ -n ${ROOT:-} ]] && { fsdev_root_release "$ROOT" "$STATE" || true; }
  fi
  # the background set-up jobs and what they run (keystone-manage, ...): left
  # alone, they would go on and write into the next build's state dir
  fsdev_kill_tree ${bg_pid:-} ${nova_pid:-}
  [[ -e $STATE ]] || rm -f "$STATE.lock"
  return 0
}

# fsdev_kill_tree PID...: TERM each PID and all its descendants (children
# first found, then killed parents first so that none forks anew).
fsdev_kill_tree() {
  local p kids
  for p in "$@"; do
    [[ $p =~ ^[0-9]+$ ]] || continue
    kids=$(ps -o pid= --ppid "$p" 2>/dev/null | tr -d ' ')
    kill -TERM "$p" 2>/dev/null
    # shellcheck disable=SC2086
    fsdev_kill_tree $kids
  done
  return 0
}

# The ceph CLI as client.admin of this cluster (in the root on trixie).
fsdev_up_ceph() {
  ${FSDEV_UP_RUN[@]+"${FSDEV_UP_RUN[@]}"} timeout 30 ceph --conf "$STATE/ceph.conf" --id admin \
    --connect-timeout 10 "$@"
}
# Ceph's own tools (ceph-authtool, ceph-mon, rbd...), in the root on trixie.
fsdev_up_run() { ${FSDEV_UP_RUN[@]+"${FSDEV_UP_RUN[@]}"} "$@"; }

fsdev_up_osd_up() {
  fsdev_up_ceph osd dump --format json 2>/dev/null | "$FSDEV_PY" -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if any(o["osd"] == 0 and o["up"] == 1 for o in d["osds"]) else 1)'
}

# fsdev_up_mon: keyrings, the monmap, the mon's mkfs; start it (started=1)
# and wait until it answers (a quorum of one).
fsdev_up_mon() {
  local conf=$STATE/ceph.conf i
  fsdev_up_run ceph-authtool --create-keyring "$STATE/ceph.mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  fsdev_up_run ceph-authtool --create-keyring "$STATE/ceph.client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  fsdev_up_run ceph-authtool "$STATE/ceph.mon.keyring" --import-keyring "$STATE/ceph.client.admin.keyring" >/dev/null
  fsdev_up_run monmaptool -c "$conf" --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$STATE/monmap" >/dev/null
  fsdev_up_run ceph-mon -c "$conf" --mkfs -i a --monmap "$STATE/monmap" --keyring "$STATE/ceph.mon.keyring"
  rm -f "$STATE/monmap" "$STATE/ceph.mon.keyring"
  started=1
  # Daemons must not inherit the lock (fd 9) or our stdout (a caller reading it
  # through a pipe would wait for ever).
  fsdev_up_run ceph-mon -c "$conf" -i a </dev/null >>"$STATE/log/ceph-mon.a.out" 2>&1 9>&-  # daemonises; writes run/ceph-mon.a.pid
  fsdev_phase "ceph-mon started"
  for ((i = 0; ; i++)); do
    fsdev_up_ceph mon stat >/dev/null 2>&1 && break
    ((i < 30)) || fsdev_die "the mon did not answer within 30 s (log: $STATE/log/ceph-mon.a.log)"
    fsdev_live_pid "$STATE" mon >/dev/null || [[ ! -s $STATE/run/ceph-mon.a.pid ]] ||
      fsdev_die "ceph-mon died (log: $STATE/log/ceph-mon.a.log)"
    sleep 1
  done
  fsdev_phase "mon answers"
}

# fsdev_up_osd: osd.0 (its key first, or mkfs fails with "failed to fetch
# mon config"), started; then the pools and users (the mon does these
# without the OSD).
fsdev_up_osd() {
  local conf=$STATE/ceph.conf osd_id
  osd_id=$(fsdev_up_ceph osd new "$OSD_UUID")
  [[ $osd_id == 0 ]] || fsdev_die "expected osd id 0, got '$osd_id'"
  fsdev_up_ceph auth get-or-create osd.0 mon 'allow profile osd' mgr 'allow profile osd' \
    osd 'allow *' -o "$STATE/osd.0/keyring" 2>/dev/null
  fsdev_up_run ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$OSD_UUID" </dev/null >"$STATE/log/ceph-osd.0.out" 2>&1 9>&- ||
    { cat "$STATE/log/ceph-osd.0.out" >&2; fsdev_die "ceph-osd --mkfs failed"; }
  fsdev_up_run ceph-osd -c "$conf" -i 0 </dev/null >>"$STATE/log/ceph-osd.0.out" 2>&1 9>&-  # daemonises
  fsdev_phase "ceph-osd started"
  fsdev_up_ceph osd pool create vms 8 8 >/dev/null 2>&1
  fsdev_up_ceph osd pool create images 8 8 >/dev/null 2>&1
  # clone format 2 (rbd_clone3 with RBD_IMAGE_OPTION_CLONE_FORMAT = 2) needs it
  fsdev_up_ceph osd set-require-min-compat-client luminous >/dev/null 2>&1
  # No mgr runs (RBD needs none); after a grace period the mon would report
  # HEALTH_WARN "no active mgr". Mute it for good so that health is HEALTH_OK.
  fsdev_up_ceph health mute MGR_DOWN --sticky >/dev/null 2>&1
  fsdev_up_ceph auth get-or-create client.fastsnap mon 'profile rbd' \
    osd 'profile rbd pool=vms, profile rbd pool=images' -o "$STATE/ceph.client.fastsnap.keyring" 2>/dev/null
  # Glance's user may also write vms: docs/architecture.md, "Flatten modes" (unflattened clones).
  fsdev_up_ceph auth get-or-create client.glance mon 'profile rbd' \
    osd 'profile rbd pool=images, profile rbd pool=vms' -o "$STATE/ceph.client.glance.keyring" 2>/dev/null
  chmod 600 "$STATE"/ceph.client.*.keyring
  fsdev_phase "pools and users created"
}

# fsdev_up_pools_ready: wait for osd.0, then initialise the pools.
fsdev_up_pools_ready() {
  local i pool
  for ((i = 0; ; i++)); do
    fsdev_up_osd_up && break
    ((i < 60)) || fsdev_die "osd.0 was not up within 60 s (log: $STATE/log/ceph-osd.0.log)"
    if [[ -s $STATE/run/ceph-osd.0.pid ]] && ! fsdev_live_pid "$STATE" osd >/dev/null; then
      fsdev_die "ceph-osd died (log: $STATE/log/ceph-osd.0.log)"
    fi
    sleep 1
  done
  fsdev_phase "osd.0 up"
  for pool in vms images; do
    fsdev_up_run timeout 60 rbd -c "$STATE/ceph.conf" --id admin pool init "$pool" ||
      fsdev_die "rbd pool init $pool failed"
  done
  fsdev_phase "rbd pool init done"
}

# fsdev_up_wait_glance URL HEADERS: until Glance lists its stores (200) from
# our process (not whatever may have taken the port meanwhile).
fsdev_up_wait_glance() {
  local url=$1 headers=$2 i code=
  for ((i = 0; ; i++)); do
    fsdev_starting_pid "$STATE" glance >/dev/null ||
      fsdev_die "glance-api exited (log: $STATE/log/glance-api.log, $STATE/log/glance-api.out)"
    code=$(fsdev_http_status "$url/v2/info/stores" "$headers")
    [[ $code == 200 ]] && ss -Htlnp "sport = :$GLANCE_PORT" | grep -q "pid=$(cat "$STATE/run/glance-api.pid")," && break
    ((i < 120)) || fsdev_die "Glance did not answer on port $GLANCE_PORT within 60 s (last status $code)"
    sleep 0.5
  done
  fsdev_phase "glance answers"
}

# The env file's lines both stacks write: the Ceph identity first...
fsdev_env_ceph() {
  echo "# Source it: . $(fsdev_q "$STATE/env")"
  echo "export CEPH_CONF=$(fsdev_q "$STATE/ceph.conf")"
  echo "export FASTSNAP_CEPH_USER=fastsnap"
  echo "export FASTSNAP_CEPH_KEYRING=$(fsdev_q "$STATE/ceph.client.fastsnap.keyring")"
}
# ...and the dev cluster's facts last.
fsdev_env_dev() {
  echo "export FASTSNAP_DEV_PROJECT_ID=$PROJECT_ID"
  echo "export FASTSNAP_DEV_USER_ID=$USER_ID"
  echo "export FASTSNAP_DEV_MEMBER_USER_ID=$MEMBER_USER_ID"
  echo "export FASTSNAP_DEV_OTHER_PROJECT_ID=$OTHER_PROJECT_ID"
  echo "export FASTSNAP_DEV_OTHER_USER_ID=$OTHER_USER_ID"
  echo "export FASTSNAP_DEV_DIR=$(fsdev_q "$STATE")"
  echo "export FASTSNAP_DEV_FSID=$FSID"
  echo "export FASTSNAP_DEV_ADMIN_KEYRING=$(fsdev_q "$STATE/ceph.client.admin.keyring")"
  echo "export FASTSNAP_DEV_GLANCE_USER=glance"
  echo "export FASTSNAP_DEV_GLANCE_KEYRING=$(fsdev_q "$STATE/ceph.client.glance.keyring")"
  echo "export FASTSNAP_DEV_GLANCE_PORT=$GLANCE_PORT"
  echo "export FASTSNAP_DEV_MON_PORT=$MON_PORT"
  echo "export FASTSNAP_DEV_GLANCE_CONF=$(fsdev_q "$STATE/glance-api.conf")"
  echo "export FASTSNAP_DEV_GLANCE_LOG=$(fsdev_q "$STATE/log/glance-api.log")"
  echo "export FASTSNAP_DEV_OBJECTSTORE=$objectstore"
  echo "export FASTSNAP_DEV_PAXOS_INTERVAL=$PAXOS_INTERVAL"
  echo "export FASTSNAP_DEV_VMS_POOL=vms"
  echo "export FASTSNAP_DEV_IMAGES_POOL=images"
  echo "export FASTSNAP_DEV_RBD_STORE=fast"
  fsdev_env_edge
}

# fsdev_up_done WRITER: the env file from WRITER's output (mode 600, then
# in place at once), then the summary.
fsdev_up_done() {
  "$1" > "$STATE/env.tmp"
  chmod 600 "$STATE/env.tmp"
  mv -f "$STATE/env.tmp" "$STATE/env"
  started=0
  fsdev_say "ceph-dev: up in $(fsdev_elapsed) s"
  summary
  fsdev_edge_summary
  ((quiet)) && echo "$STATE/env"
  exit 0
}

# ---------------------------------------------------------------------------
# The edge cluster (ceph-dev/up --edge, either stack): a second single-node
# Ceph cluster in STATE/edge, as a distributed compute site has (its own fsid,
# mon, OSD, pools vms and images, users fastsnap and glance, ceph.conf,
# keyrings, pid files), and an rbd store `edge` in it (its own
# rbd_store_ceph_conf) given to the same Glance by a file in Glance's config
# dir (glance/config.d/edge.conf), read after glance-api.conf. The stacks'
# scripts call fsdev_up_edge after their own OSD and fsdev_up_edge_ready
# after their pools are ready; both do nothing without --edge.
# The edge cluster reuses the main cluster's functions (fsdev_up_mon,
# fsdev_up_osd, fsdev_up_pools_ready) with STATE set to STATE/edge.

# fsdev_edge_healthy: part of each stack's health check. A state dir with an
# edge cluster needs its daemons alive and its OSD up; one without is
# healthy only when --edge was not asked for (then it is rebuilt with one).
# shellcheck disable=SC2030,SC2031  # STATE=STATE/edge in a subshell, on purpose
fsdev_edge_healthy() {
  if [[ -f $STATE/edge/ceph.conf ]]; then
    local comp
    for comp in "${FSDEV_EDGE_COMPONENTS[@]}"; do
      fsdev_live_pid "$STATE" "$comp" >/dev/null || return 1
    done
    grep -q '^export FASTSNAP_DEV_EDGE_CEPH_CONF=' "$STATE/env" 2>/dev/null || return 1
    ( STATE=$STATE/edge; fsdev_up_osd_up ) || return 1
  else
    ((${edge:-0} == 0)) || return 1
  fi
  return 0
}

# fsdev_up_edge: the edge cluster's mon and OSD (pools, users), then the
# Glance store. Before glance-api starts; after the main cluster's OSD.
# shellcheck disable=SC2030,SC2031  # STATE=STATE/edge in a subshell, on purpose
fsdev_up_edge() {
  ((${edge:-0})) || return 0
  local e=$STATE/edge backends
  mkdir -p "$e"/{run,log,crash,osd.0}
  EDGE_MON_PORT=$(fsdev_free_port) || fsdev_die "no free port for the edge cluster's mon"
  EDGE_FSID=$(uuidgen)
  fsdev_render "$FSDEV_HOME/templates/ceph.conf.in" "$e/ceph.conf" \
    "STATE=$e" "FSID=$EDGE_FSID" "MON_PORT=$EDGE_MON_PORT" "OBJECTSTORE=$objectstore" \
    "MEMSTORE_BYTES=$MEMSTORE_BYTES" "BLUESTORE_BYTES=$BLUESTORE_BYTES" "PAXOS_INTERVAL=$PAXOS_INTERVAL"
  fsdev_say "ceph-dev: edge cluster in $e (fsid $EDGE_FSID, mon port $EDGE_MON_PORT)"
  # (a subshell: fsdev_up_mon and fsdev_up_osd work on $STATE; a failure
  # exits it, and this script's EXIT trap stops both clusters)
  ( STATE=$e FSID=$EDGE_FSID OSD_UUID=$(uuidgen) MON_PORT=$EDGE_MON_PORT
    fsdev_up_mon
    fsdev_up_osd ) || fsdev_die "the edge cluster did not start (logs: $e/log/)"
  fsdev_phase "edge cluster: mon and OSD started"
  # The same Glance gets an rbd store `edge` in the edge cluster: the main
  # config's enabled_backends plus edge:rbd (oslo.config: a file of
  # --config-dir is read after --config-file, and its value wins).
  backends=$(sed -n 's/^enabled_backends *= *//p' "$STATE/glance-api.conf")
  [[ -n $backends ]] || fsdev_die "no enabled_backends in $STATE/glance-api.conf"
  cat > "$STATE/glance/config.d/edge.conf" <<EOF
# Written by ceph-dev/up --edge: the edge cluster's rbd store (ceph-dev/README.md, "The edge cluster").
[DEFAULT]
enabled_backends = $backends, edge:rbd

[edge]
store_description = Ceph RBD, edge cluster, pool images
rbd_store_pool = images
rbd_store_user = glance
rbd_store_ceph_conf = $e/ceph.conf
rbd_store_chunk_size = 8
EOF
}

# fsdev_up_edge_ready: wait for the edge OSD, initialise its pools.
# shellcheck disable=SC2030,SC2031  # STATE=STATE/edge in a subshell, on purpose
fsdev_up_edge_ready() {
  ((${edge:-0})) || return 0
  ( STATE=$STATE/edge; fsdev_up_pools_ready ) || fsdev_die "the edge cluster's OSD or pools are not ready"
  fsdev_phase "edge cluster ready"
}

# The env file's edge lines: what a run that plays an edge compute node sets
# (CEPH_CONF=$FASTSNAP_DEV_EDGE_CEPH_CONF FASTSNAP_CEPH_KEYRING=$FASTSNAP_DEV_EDGE_CEPH_KEYRING).
# shellcheck disable=SC2030,SC2031  # STATE=STATE/edge in a subshell, on purpose
fsdev_env_edge() {
  [[ -f $STATE/edge/ceph.conf ]] || return 0
  local e=$STATE/edge
  echo "# the edge cluster (ceph-dev/up --edge): Glance's store 'edge'"
  echo "export FASTSNAP_DEV_EDGE_CEPH_CONF=$(fsdev_q "$e/ceph.conf")"
  echo "export FASTSNAP_DEV_EDGE_CEPH_KEYRING=$(fsdev_q "$e/ceph.client.fastsnap.keyring")"
  echo "export FASTSNAP_DEV_EDGE_ADMIN_KEYRING=$(fsdev_q "$e/ceph.client.admin.keyring")"
  echo "export FASTSNAP_DEV_EDGE_GLANCE_KEYRING=$(fsdev_q "$e/ceph.client.glance.keyring")"
  echo "export FASTSNAP_DEV_EDGE_FSID=$(sed -n 's/^fsid = //p' "$e/ceph.conf")"
  echo "export FASTSNAP_DEV_EDGE_MON_PORT=$(sed -n 's/^mon host = v2:127.0.0.1://p' "$e/ceph.conf")"
  echo "export FASTSNAP_DEV_EDGE_STORE=edge"
}

# shellcheck disable=SC2030,SC2031  # STATE=STATE/edge in a subshell, on purpose
fsdev_edge_summary() {
  [[ -f $STATE/edge/ceph.conf ]] || return 0
  # shellcheck disable=SC1091
  ( source "$STATE/env"
    fsdev_say "  edge      : fsid $FASTSNAP_DEV_EDGE_FSID, mon v2:127.0.0.1:$FASTSNAP_DEV_EDGE_MON_PORT, pools vms images; Glance store edge (rbd images)"
    fsdev_say "              an edge compute node: CEPH_CONF=\$FASTSNAP_DEV_EDGE_CEPH_CONF FASTSNAP_CEPH_KEYRING=\$FASTSNAP_DEV_EDGE_CEPH_KEYRING" )
}
