# SPDX-License-Identifier: Apache-2.0
# ceph-dev/nova.sh: the Nova cloud of the trixie stack (ceph-dev/up --stack
# trixie --nova): RabbitMQ, libvirtd + QEMU (TCG), Placement and Nova's
# api, conductor, scheduler and compute (fastsnap's Nova backend), all in the
# Debian 13 root, each in its own session with a pid file in the state dir.
# Sourced by up-trixie (which defines inroot, ks, mkobj, grant, ...) and by
# ceph-dev/nova-compute. See ceph-dev/README.md ("The Nova cloud").
# shellcheck shell=bash

# RabbitMQ's own start script (Debian's /usr/sbin wrapper switches users)
nova_rabbit_script() { ls "$ROOT"/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin/rabbitmq-server 2>/dev/null | head -n 1; }

# nova_rabbit_start: the broker on RABBIT_PORT (distribution on RABBIT_DIST,
# epmd on EPMD_PORT, all loopback), in the background; nova_rabbit_wait
# waits for its AMQP listener and records epmd's pid (epmd detaches).
nova_rabbit_start() {
  local rd=$STATE/rabbitmq script
  script=$(nova_rabbit_script); script=${script#"$ROOT"}
  [[ -n $script ]] || fsdev_die "no rabbitmq-server in $ROOT"
  mkdir -p "$rd"/{mnesia,home} "$STATE/log/rabbitmq"
  echo '[].' > "$rd/enabled_plugins"
  echo "$EPMD_PORT" > "$STATE/run/epmd.port"
  (
    exec setsid chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
      HOME="$rd/home" RUNNING_UNDER_SYSTEMD=1 \
      RABBITMQ_NODENAME="fsdev$RABBIT_PORT@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
      RABBITMQ_NODE_PORT="$RABBIT_PORT" RABBITMQ_DIST_PORT="$RABBIT_DIST" \
      ERL_EPMD_PORT="$EPMD_PORT" ERL_EPMD_ADDRESS=127.0.0.1 \
      RABBITMQ_MNESIA_BASE="$rd/mnesia" RABBITMQ_LOG_BASE="$STATE/log/rabbitmq" \
      RABBITMQ_PID_FILE="$rd/rabbit.pid" RABBITMQ_CONFIG_FILE="$rd/rabbitmq.conf" \
      RABBITMQ_ADVANCED_CONFIG_FILE="$rd/advanced.config" RABBITMQ_CONF_ENV_FILE="$rd/rabbitmq-env.conf" \
      RABBITMQ_ENABLED_PLUGINS_FILE="$rd/enabled_plugins" \
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
      "$script" >>"$STATE/log/rabbitmq.out" 2>&1 </dev/null 9>&-
  ) &
  echo $! > "$STATE/run/rabbitmq.pid"
}
nova_rabbit_wait() {
  local i pid line
  for ((i = 0; ; i++)); do
    pid=$(fsdev_starting_pid "$STATE" rabbitmq) ||
      fsdev_die "rabbitmq exited (log: $STATE/log/rabbitmq.out, $STATE/log/rabbitmq/)"
    ss -Htlnp "sport = :$RABBIT_PORT" | grep -q "pid=$pid," && break
    ((i < 240)) || fsdev_die "RabbitMQ did not listen on $RABBIT_PORT within 120 s"
    sleep 0.5
  done
  line=$(ss -Htlnp "sport = :$EPMD_PORT" | grep -o 'pid=[0-9]*' | head -n 1)
  [[ -n $line ]] || fsdev_die "no epmd on port $EPMD_PORT"
  echo "${line#pid=}" > "$STATE/run/epmd.pid"
  fsdev_live_pid "$STATE" epmd >/dev/null || fsdev_die "epmd (${line#pid=}) is not this cluster's"
}

# nova_libvirtd_start: libvirtd in a mount namespace of its own, where the
# root's /etc/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt
# are the state dir's, /run is a private tmpfs and sysfs is mounted read-only
# (QEMU fails to start without it). The shared root is not changed.
nova_libvirtd_start() {
  local lv=$STATE/libvirt
  mkdir -p "$lv"/{etc,lib,cache,log,sock}
  (
    exec setsid unshare -m --propagation private sh -c '
      r=$1 lv=$2
      mount -t sysfs -o ro sysfs "$r/sys" &&
      mount --bind "$lv/etc" "$r/etc/libvirt" &&
      mount --bind "$lv/lib" "$r/var/lib/libvirt" &&
      mount --bind "$lv/cache" "$r/var/cache/libvirt" &&
      mount --bind "$lv/log" "$r/var/log/libvirt" &&
      mount -t tmpfs -o mode=755,size=64m tmpfs "$r/run" || exit 1
      exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        HOME="$lv" libvirtd --config "$lv/etc/libvirtd.conf"' sh "$ROOT" "$lv" \
      >>"$STATE/log/libvirtd.out" 2>&1 </dev/null 9>&-
  ) &
  echo $! > "$STATE/run/libvirtd.pid"
}
nova_virsh() { inroot virsh -q -c "$LIBVIRT_URI" "$@"; }
nova_libvirtd_wait() {
  local i
  for ((i = 0; ; i++)); do
    nova_virsh version >/dev/null 2>&1 && break
    [[ -n $(tr -dc 0-9 < "$STATE/run/libvirtd.pid") ]] && ! kill -0 "$(cat "$STATE/run/libvirtd.pid")" 2>/dev/null &&
      fsdev_die "libvirtd exited (log: $STATE/log/libvirtd.out, $STATE/log/libvirtd.log)"
    ((i < 240)) || fsdev_die "libvirtd did not answer within 120 s"
    sleep 0.5
  done
}

# nova_libvirt_secret: the Ceph secret of client.nova, as nova-compute's
# [libvirt] rbd_secret_uuid names it (QEMU gets the key from libvirt).
nova_libvirt_secret() {
  local key
  key=$(sed -n 's/^[[:space:]]*key = //p' "$STATE/ceph.client.nova.keyring")
  [[ -n $key ]] || fsdev_die "no key in $STATE/ceph.client.nova.keyring"
  printf "<secret ephemeral='no' private='no'><uuid>%s</uuid><usage type='ceph'><name>client.nova secret</name></usage></secret>\n" \
    "$SECRET_UUID" > "$STATE/libvirt/secret.xml"
  nova_virsh secret-define "$STATE/libvirt/secret.xml" >/dev/null
  ( umask 077; printf '%s' "$key" > "$STATE/libvirt/secret.key" )
  nova_virsh secret-set-value --secret "$SECRET_UUID" --file "$STATE/libvirt/secret.key" >/dev/null
  rm -f "$STATE/libvirt/secret.key"
}

# nova_uwsgi_ini OUT PORT WSGI_FILE ENV...: a uWSGI ini like Keystone's.
nova_uwsgi_ini() {
  local out=$1 port=$2 file=$3 e
  shift 3
  {
    echo "# Generated by ceph-dev/up --stack trixie --nova (ceph-dev/nova.sh)."
    echo "[uwsgi]"
    echo "plugins = python3"
    echo "http-socket = 127.0.0.1:$port"
    echo "wsgi-file = $file"
    echo "master = true"
    echo "processes = 1"
    echo "threads = 1"
    echo "die-on-term = true"
    echo "need-app = true"
    echo "lazy-apps = true"
    echo "buffer-size = 65535"
    echo "disable-logging = true"
    echo "add-header = Connection: close"
    for e in "$@"; do echo "env = $e"; done
  } > "$out"
}

# nova_render: every file of the cloud (ports, passwords and uuids set).
nova_render() {
  mkdir -p "$STATE"/nova/{state,instances,snapshots,lock,compute.d} "$STATE/placement" "$STATE/fastsnap/python" \
    "$STATE"/libvirt/{etc,lib,cache,log,sock}
  fsdev_render "$TPL/nova.conf.in" "$STATE/nova/nova.conf" \
    "STATE=$STATE" "RABBIT_PORT=$RABBIT_PORT" "RABBIT_PASSWORD=$RABBIT_PW" \
    "API_DATABASE=$(db_url nova_api)" "DATABASE=$(db_url nova)" "KEYSTONE_PORT=$KS_PORT" \
    "NOVA_KS_PASSWORD=$NOVA_KS_PW" "SECRET_UUID=$SECRET_UUID" "NETWORK_URL=$NETWORK_URL"
  cp "$ROOT/usr/share/nova-common/api-paste.ini" "$STATE/nova/api-paste.ini"
  fsdev_render "$TPL/placement.conf.in" "$STATE/placement/placement.conf" \
    "STATE=$STATE" "DATABASE=$(db_url placement)" "KEYSTONE_PORT=$KS_PORT" \
    "PLACEMENT_KS_PASSWORD=$PLACEMENT_KS_PW"
  printf '%s\n' '# fastsnap ceph-dev (trixie): Placement defaults' > "$STATE/placement/policy.yaml"
  chmod 600 "$STATE/nova/nova.conf" "$STATE/placement/placement.conf"
  nova_uwsgi_ini "$STATE/placement/uwsgi.ini" "$PLACEMENT_PORT" /usr/bin/placement-api \
    "OS_PLACEMENT_CONFIG_DIR=$STATE/placement"
  nova_uwsgi_ini "$STATE/nova/api-uwsgi.ini" "$NOVA_PORT" /usr/bin/nova-api-wsgi \
    "OS_NOVA_CONFIG_DIR=$STATE/nova" "OS_NOVA_CONFIG_FILES=api-paste.ini;nova.conf"
  fsdev_render "$TPL/libvirtd.conf.in" "$STATE/libvirt/etc/libvirtd.conf" "STATE=$STATE"
  fsdev_render "$TPL/qemu.conf.in" "$STATE/libvirt/etc/qemu.conf" "STATE=$STATE"
  mkdir -p "$STATE/rabbitmq"
  fsdev_render "$TPL/rabbitmq.conf.in" "$STATE/rabbitmq/rabbitmq.conf" \
    "RABBIT_PORT=$RABBIT_PORT" "RABBIT_PASSWORD=$RABBIT_PW"
  chmod 600 "$STATE/rabbitmq/rabbitmq.conf"
  # fastsnap's Nova backend as dist/nova runs it: fastsnap-nova-compute,
  # the Python binding and the Debian 13 build of the library
  cp -r "$FSDEV_HOME/../bindings/python/fastsnap" "$STATE/fastsnap/python/"
  cp "$FSDEV_HOME/../dist/nova/fastsnap-nova-compute" "$STATE/fastsnap/"
  cp -L "$NOVA_LIBRARY" "$STATE/fastsnap/libfastsnap.so.0"
  cp "$FSDEV_HOME/no-network.py" "$STATE/nova/no-network.py"
}

# nova_db_sync: Placement's and Nova's databases and cells as nova-manage's
# documentation does it (api_db sync, map_cell0, create_cell, db sync).
nova_db_sync() {
  local nm=(nova-manage --config-file "$STATE/nova/nova.conf")
  inroot placement-manage --config-dir "$STATE/placement" db sync
  inroot "${nm[@]}" api_db sync
  inroot "${nm[@]}" cell_v2 map_cell0
  inroot "${nm[@]}" cell_v2 create_cell --name cell1
  inroot "${nm[@]}" db sync
}

# nova_identities: Keystone users, roles, services and endpoints of the cloud
# (after up-trixie's own identities: uses mkobj, grant and the role ids).
nova_identities() {
  local svc itf
  NOVA_USER_ID=$(user nova "$NOVA_KS_PW")
  PLACEMENT_USER_ID=$(user placement "$PLACEMENT_KS_PW")
  # nova: validates tokens, calls Placement (admin or service) and sends
  # the service token; placement: validates tokens
  grant "$SERVICE_PROJECT_ID" "$NOVA_USER_ID" "$SERVICE_ROLE"
  grant "$SERVICE_PROJECT_ID" "$NOVA_USER_ID" "$ADMIN_ROLE"
  grant "$SERVICE_PROJECT_ID" "$PLACEMENT_USER_ID" "$SERVICE_ROLE"
  svc=$(mkobj services '{"service": {"name": "placement", "type": "placement", "description": "Placement (fastsnap ceph-dev)"}}')
  for itf in public internal; do
    mkobj endpoints "{\"endpoint\": {\"service_id\": \"$svc\", \"interface\": \"$itf\", \"region_id\": \"RegionOne\", \"url\": \"$PLACEMENT_URL\"}}" >/dev/null
  done
  # the stand-in for Neutron (ceph-dev/no-network.py): no ports, no networks
  svc=$(mkobj services '{"service": {"name": "no-network", "type": "network", "description": "no network service: empty lists (fastsnap ceph-dev)"}}')
  for itf in public internal; do
    mkobj endpoints "{\"endpoint\": {\"service_id\": \"$svc\", \"interface\": \"$itf\", \"region_id\": \"RegionOne\", \"url\": \"$NETWORK_URL\"}}" >/dev/null
  done
  svc=$(mkobj services '{"service": {"name": "nova", "type": "compute", "description": "Nova (fastsnap ceph-dev)"}}')
  for itf in public internal; do
    mkobj endpoints "{\"endpoint\": {\"service_id\": \"$svc\", \"interface\": \"$itf\", \"region_id\": \"RegionOne\", \"url\": \"$NOVA_URL\"}}" >/dev/null
  done
}

# nova_service_start NAME CMD...: NAME in its own session under chroot,
# pid file run/NAME.pid, output to log/NAME.out.
nova_service_start() {
  local name=$1
  shift
  (
    exec setsid chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
      HOME="$STATE/nova" "$@" >>"$STATE/log/$name.out" 2>&1 </dev/null 9>&-
  ) &
  echo $! > "$STATE/run/$name.pid"
}
nova_compute_start() {
  nova_service_start nova-compute PYTHONPATH="$STATE/fastsnap/python" \
    FASTSNAP_LIBRARY="$STATE/fastsnap/libfastsnap.so.0" \
    python3 "$STATE/fastsnap/fastsnap-nova-compute" --config-file "$STATE/nova/nova.conf" \
    --config-dir "$STATE/nova/compute.d" --log-file "$STATE/log/nova-compute.log"
}
nova_services_start() {
  nova_service_start no-network python3 "$STATE/nova/no-network.py" "$NETWORK_PORT" "$STATE/log/no-network.log"
  nova_service_start placement uwsgi --ini "$STATE/placement/uwsgi.ini"
  nova_service_start nova-api uwsgi --ini "$STATE/nova/api-uwsgi.ini"
  local s
  for s in conductor scheduler; do
    nova_service_start "nova-$s" "nova-$s" --config-file "$STATE/nova/nova.conf" \
      --log-file "$STATE/log/nova-$s.log"
  done
  nova_compute_start
}

# nova_sql SQL: a query on the cloud's MariaDB (socket, root), tab-separated.
nova_sql() { inroot mariadb --no-defaults --socket="$STATE/run/mariadb.sock" -uroot -N -B -e "$1"; }

# nova_compute_wait SINCE: the nova-compute started after SINCE (unix
# seconds, read once the previous one was gone) has reported to the
# database: its service record was updated in a later second. Nova's
# report (every report_interval, begun after init_host and the RPC server's
# start) is the sign that it takes requests; a request that comes during
# init_host is queued, init_host resets the instance's task state, and the
# request then fails (UnexpectedTaskStateError). The column has whole
# seconds and a stopping nova-compute still reports, so a report in SINCE's
# own second may be the old process's (seen: a restart "done" in 1.6 s).
nova_compute_wait() {
  local since=$1 i t
  for ((i = 0; ; i++)); do
    fsdev_live_pid "$STATE" nova-compute >/dev/null ||
      fsdev_die "nova-compute exited (log: $STATE/log/nova-compute.log, $STATE/log/nova-compute.out)"
    t=$(nova_sql "SELECT UNIX_TIMESTAMP(MAX(COALESCE(updated_at, created_at))) FROM nova.services
      WHERE \`binary\` = 'nova-compute' AND deleted = 0" 2>/dev/null | cut -d. -f1)
    [[ $t =~ ^[0-9]+$ ]] && ((t > since)) &&
      [[ $(nova_sql "SELECT COUNT(*) FROM nova.compute_nodes WHERE deleted = 0" 2>/dev/null) -ge 1 ]] && break
    ((i < 360)) || fsdev_die "nova-compute did not report within 180 s (log: $STATE/log/nova-compute.log)"
    sleep 0.5
  done
}

# The guest image: a raw disk whose first sector is a boot sector that halts
# the CPU (cli; hlt; jmp $-1, signature 55 aa), so a TCG guest boots in a few
# milliseconds and then idles; the rest of its 8 MiB is a fixed pseudo-random
# pattern, so comparing bytes means something. No OS: Nova reports ACTIVE
# when libvirt runs the domain.
nova_make_guest_image() {
  "$FSDEV_PY" - "$1" <<'PY'
import random, sys
r = random.Random(29)
# one partition entry (type 0x83, sectors 1..16383), so that format
# inspectors (Glance's, Nova's) see a plain MBR disk, not a broken GPT one
part = bytes([0x80, 0, 0, 0, 0x83, 0, 0, 0]) + (1).to_bytes(4, "little") + (16383).to_bytes(4, "little")
boot = bytes([0xFA, 0xF4, 0xEB, 0xFD]) + bytes(442) + part + bytes(48) + b"\x55\xaa"
assert len(boot) == 512
with open(sys.argv[1], "wb") as f:
    f.write(boot)
    f.write(r.randbytes(8 * 1024 * 1024 - 512))
PY
}
