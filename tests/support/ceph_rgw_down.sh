#!/usr/bin/env bash
# Stop the cluster that tests/support/ceph_rgw_up.sh started in DIR and remove DIR.
#
#   tests/support/ceph_rgw_down.sh DIR
#
# Only the daemons it started are touched, by the PIDs it recorded (DIR/pids, and any pid file under DIR/run for a
# start that failed half-way): TERM, up to 10 s to exit, then KILL. One daemon at a time, radosgw, then the OSD,
# then the monitor, each about 2 s: stopped together, a daemon whose peer went first can linger in its shutdown
# until the KILL.
set -uo pipefail

if (($# != 1)); then
  echo "usage: $0 DIR" >&2
  exit 2
fi
DIR=$(realpath -m "$1")
if [ -d "$DIR" ] && [ -n "$(ls -A "$DIR")" ] && [ ! -f "$DIR/ceph.conf" ] && [ ! -f "$DIR/pids" ]; then
  echo "ceph_rgw_down: $DIR is not a folder of ceph_rgw_up.sh; leaving it alone" >&2
  exit 1
fi

declare -A daemons=() # pid -> name
if [ -f "$DIR/pids" ]; then
  while read -r name pid; do [[ $pid =~ ^[0-9]+$ ]] && daemons[$pid]=$name; done <"$DIR/pids"
fi
for file in "$DIR"/run/*.pid; do
  [ -s "$file" ] || continue
  pid=$(cat "$file")
  [[ $pid =~ ^[0-9]+$ ]] && daemons[$pid]=$(basename "$file" .pid)
done

# stop PID... : TERM, wait up to 10 s, then KILL whatever is left.
stop() {
  (($#)) || return 0
  kill -TERM "$@" 2>/dev/null
  local pid
  for _ in $(seq 100); do
    local alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || return 0
    sleep 0.1
  done
  for pid in "$@"; do
    if kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null; then
      echo "ceph_rgw_down: killed ${daemons[$pid]} ($pid) after 10 s"
    fi
  done
}

# One kind at a time, clients before servers: radosgw, the OSD, the monitor.
for kind in rgw osd mon; do
  wave=()
  for pid in "${!daemons[@]}"; do [ "${daemons[$pid]}" = "$kind" ] && wave+=("$pid"); done
  stop "${wave[@]}"
done
others=()
for pid in "${!daemons[@]}"; do [[ ${daemons[$pid]} =~ ^(rgw|osd|mon)$ ]] || others+=("$pid"); done
stop "${others[@]}"
rm -rf "${DIR:?}"
echo "ceph_rgw_down: stopped ${#daemons[@]} daemon(s), removed $DIR"
