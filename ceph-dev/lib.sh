# ceph-dev/lib.sh: helpers shared by ceph-dev/up, down and status. Source it.
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
    osd)    echo run/ceph-osd.0.pid ;;
    mon)    echo run/ceph-mon.a.pid ;;
  esac
}
fsdev_exe() {
  case $1 in
    glance) echo glance-api ;;
    keystone) echo uwsgi ;;
    osd)    echo ceph-osd ;;
    mon)    echo ceph-mon ;;
  esac
}

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
  [[ $cmd == *"$(fsdev_exe "$comp")"* && $cmd == *"$state/"* ]]
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

# fsdev_stray_pids STATE: processes of ours (ceph-mon, ceph-osd, glance-api whose
# command line names this state dir) that no pid file accounts for. Used only
# to report, never to kill.
fsdev_stray_pids() {
  local state=$1 p comp known=" " pid
  for comp in "${FSDEV_COMPONENTS[@]}"; do
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

# fsdev_stop_all STATE: stop every component by pid file, Glance, OSD, mon.
fsdev_stop_all() {
  local state=$1 comp rc=0
  for comp in "${FSDEV_COMPONENTS[@]}"; do
    fsdev_stop "$state" "$comp" || rc=1
  done
  return $rc
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
  local url=$1 headers=${2:-} args=()
  if [[ -n $headers ]]; then
    local IFS='|' h
    for h in $headers; do args+=(-H "$h"); done
    unset IFS
  fi
  curl -s -o /dev/null -m "${FSDEV_HTTP_TIMEOUT:-5}" -w '%{http_code}' "${args[@]}" "$url" 2>/dev/null || true
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
  if [[ $(fsdev_stack "$1") == trixie ]]; then FSDEV_COMPONENTS=(glance keystone osd mon); fi
}

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
