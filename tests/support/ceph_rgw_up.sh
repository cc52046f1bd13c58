#!/usr/bin/env bash
# A throw-away Ceph cluster on loopback with an S3 endpoint that enforces Object Lock, for the integration tests.
#
#   tests/support/ceph_rgw_up.sh DIR [RGW_PORT [MON_PORT]]      (defaults: 7480 and 3300, or $RGW_PORT/$MON_PORT)
#
# One monitor, one OSD whose store lives in memory (memstore), no manager, radosgw (beast) on 127.0.0.1:RGW_PORT,
# authentication off inside the cluster and one S3 user (S3_ACCESS_KEY/S3_SECRET_KEY from the environment, or
# test defaults). Everything — configuration, monitor data, sockets, logs — stays under DIR, which must not hold
# a running cluster. Takes about 15 s. On success DIR/env holds S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY and
# CEPH_CONF. DIR/pids lists "name pid" of each daemon as it starts, so tests/support/ceph_rgw_down.sh DIR stops
# them by PID even after a failed start.
#
# The daemons' own output goes to DIR/log, never to this script's stdout or stderr, which a caller may be reading
# to the end.
#
# Debian 12: apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common ceph-base \
#   uuid-runtime curl
set -euo pipefail

if (($# < 1)); then
  echo "usage: $0 DIR [RGW_PORT [MON_PORT]]" >&2
  exit 2
fi
DIR=$(realpath -m "$1")
RGW_PORT=${2:-${RGW_PORT:-7480}}
MON_PORT=${3:-${MON_PORT:-3300}}
S3_ACCESS_KEY=${S3_ACCESS_KEY:-OFFSITETESTACCESS001}
S3_SECRET_KEY=${S3_SECRET_KEY:-offsite-test-secret-key-not-for-production-01}
STARTED=$(date +%s.%N)

say() { awk -v t0="$STARTED" -v now="$(date +%s.%N)" -v text="$*" 'BEGIN { printf "[%5.1fs] %s\n", now - t0, text }'; }
fail() {
  echo "ceph_rgw_up: $*; logs in $DIR/log" >&2
  exit 1
}
# wait_for DAEMON TRIES COMMAND...: poll COMMAND every half second, up to TRIES times, while DAEMON still runs.
wait_for() {
  local daemon=$1 tries=$2
  shift 2
  for _ in $(seq "$tries"); do
    "$@" >/dev/null 2>&1 && return 0
    if [ -n "$daemon" ] && ! kill -0 "$(cat "$DIR/run/$daemon.pid" 2>/dev/null)" 2>/dev/null; then
      fail "$daemon exited during start-up"
    fi
    sleep 0.5
  done
  return 1
}
# A daemon writes its pid file once it has forked into the background.
remember_pid() {
  wait_for "" 20 test -s "$DIR/run/$1.pid" || fail "$1 wrote no pid file"
  echo "$1 $(cat "$DIR/run/$1.pid")" >>"$DIR/pids"
}

for tool in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph uuidgen curl; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done
[ ! -e "$DIR/pids" ] || fail "$DIR/pids exists: a cluster may be running there (stop it with ceph_rgw_down.sh)"
# DIR is wiped: only an empty folder or the remains of an earlier cluster (its ceph.conf) may be reused.
if [ -d "$DIR" ] && [ -n "$(ls -A "$DIR")" ] && [ ! -f "$DIR/ceph.conf" ]; then
  echo "ceph_rgw_up: $DIR is neither empty nor an earlier cluster's folder; not wiping it" >&2
  exit 1
fi
rm -rf "${DIR:?}"
mkdir -p "$DIR"/{log,mon,osd,run,rgw}
: >"$DIR/pids"
export CEPH_CONF="$DIR/ceph.conf"
FSID=$(uuidgen)

cat >"$CEPH_CONF" <<EOF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$MON_PORT]
public addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
run dir = $DIR/run
admin socket = $DIR/run/\$cluster-\$name.asok
log file = $DIR/log/\$name.log
auth cluster required = none
auth service required = none
auth client required = none
client mount timeout = 30
# A single OSD: pools of one replica, small and fixed placement-group counts, no warnings about either.
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon max pg per osd = 1000
mon allow pool size one = true
mon warn on pool no redundancy = false
mon data avail warn = 0
mon data avail crit = 0
osd objectstore = memstore

[mon.a]
mon data = $DIR/mon
chdir = ""

[osd.0]
osd data = $DIR/osd
chdir = ""
memstore device bytes = 1073741824
osd class load list = *
osd class default list = *

[client.rgw.test]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw dns name = localhost
rgw data = $DIR/rgw
rgw thread pool size = 64
# radosgw asks for a secure monitor connection by default, which cannot be had with auth none: without this it
# waits 300 s for the monitor and gives up.
ms mon client mode = crc
EOF

monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
ceph-mon --id a --mkfs --monmap "$DIR/monmap" --keyring /dev/null
touch "$DIR/mon/keyring"
ceph-mon --id a --pid-file "$DIR/run/mon.pid" >"$DIR/log/mon.out" 2>&1
remember_pid mon
wait_for mon 60 ceph status --connect-timeout 5 || fail "the monitor did not answer on 127.0.0.1:$MON_PORT"
say "monitor up on 127.0.0.1:$MON_PORT"

OSD_ID=$(ceph osd create)
ceph osd crush add "osd.$OSD_ID" 1 root=default >/dev/null 2>&1
ceph-osd --id "$OSD_ID" --mkfs >"$DIR/log/osd-mkfs.out" 2>&1 || fail "ceph-osd --mkfs failed"
ceph-osd --id "$OSD_ID" --pid-file "$DIR/run/osd.pid" >"$DIR/log/osd.out" 2>&1
remember_pid osd
osd_is_up() { ceph osd stat | grep -q '1 up'; }
wait_for osd 120 osd_is_up || fail "the OSD did not come up"
say "OSD up (memstore)"

radosgw -n client.rgw.test --pid-file "$DIR/run/rgw.pid" >"$DIR/log/rgw.out" 2>&1
remember_pid rgw
rgw_answers() { curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$RGW_PORT/"; }
wait_for rgw 240 rgw_answers || fail "radosgw did not answer on 127.0.0.1:$RGW_PORT"
say "radosgw up on 127.0.0.1:$RGW_PORT"

radosgw-admin user create --uid offsite-test --display-name "offsite tests" \
  --access-key "$S3_ACCESS_KEY" --secret-key "$S3_SECRET_KEY" >"$DIR/log/user-create.json" ||
  fail "radosgw-admin could not create the S3 user"

cat >"$DIR/env" <<EOF
S3_ENDPOINT=127.0.0.1:$RGW_PORT
S3_ACCESS_KEY=$S3_ACCESS_KEY
S3_SECRET_KEY=$S3_SECRET_KEY
CEPH_CONF=$CEPH_CONF
EOF
say "ready: S3 at http://127.0.0.1:$RGW_PORT, settings in $DIR/env"
