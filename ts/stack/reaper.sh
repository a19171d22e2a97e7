#!/bin/sh
# closekit reaper: started detached (its own session) by ts/stack/netns.ts for each run
# namespace. It outlives the kit on purpose: when the kit dies in any way
# (even SIGKILL, where no JS handler runs), it kills every process left in the namespace and
# deletes the namespace, the host veth end and the address claim.
#
# usage: reaper.sh <watch-pid> <watch-starttime> <netns> <host-veth> <claim-file>
# The start time (field 22 of /proc/<pid>/stat) guards against pid reuse.
set -u
WATCH_PID=$1 WATCH_START=$2 NS=$3 VETH=$4 CLAIM=$5

starttime() {
  # Strip "pid (comm) " first: comm may contain spaces or parentheses.
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  echo "${20}"
}

while :; do
  # Normal teardown deleted the namespace: nothing left to guard.
  [ -e "/run/netns/$NS" ] || exit 0
  now=$(starttime "$WATCH_PID") || break
  [ "$now" = "$WATCH_START" ] || break
  sleep 0.5
done

echo "reaper: kit process $WATCH_PID gone, reaping namespace $NS"
i=0
while [ $i -lt 40 ]; do
  pids=$(ip netns pids "$NS" 2>/dev/null)
  [ -n "$pids" ] || break
  # shellcheck disable=SC2086
  kill -KILL $pids 2>/dev/null
  sleep 0.1
  i=$((i + 1))
done
ip netns del "$NS" 2>/dev/null
ip link del "$VETH" 2>/dev/null
rm -f "$CLAIM"
if [ -e "/run/netns/$NS" ]; then
  echo "reaper: could not delete namespace $NS"
  exit 1
fi
# Success leaves nothing behind, not even this log (stdout is the log file).
rm -f "$(dirname "$CLAIM")/$NS.reaper.log"
