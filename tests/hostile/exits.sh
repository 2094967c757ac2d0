#!/bin/sh
# A worker that ends differently each time it is started, for
# tests/hostile/: the Nth start (counted in STATE_DIR/counter, shared with
# its replacements) exits with status N for N = 0..255, then the next ones
# kill themselves with each SIGNAL (a number) given, in order, leaving no
# core file; after that it idles.
#     exits.sh STATE_DIR SIGNAL...
state=$1/counter
shift
n=0
[ -f "$state" ] && read -r n < "$state"
echo $((n + 1)) > "$state.tmp" && mv "$state.tmp" "$state"
[ "$n" -lt 256 ] && exit "$n"
i=$((n - 256))
if [ "$i" -lt $# ]; then
  shift "$i"
  # The launcher gave us default dispositions and an empty signal mask.
  ulimit -c 0
  kill -"$1" $$
  sleep 5
  exit 99  # the signal did not kill us
fi
echo "hostile: every exit done"
exec sleep 3600
