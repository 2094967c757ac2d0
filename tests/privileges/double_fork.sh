#!/bin/sh
# A worker that leaves a daemon behind the classic way: fork, setsid, fork,
# and the middle process exits; the daemon then sits in a session and a
# process group of its own, where no kill of the worker's group reaches it.
# The daemon prints its pid; with IGNORE_TERM=1 it ignores SIGTERM.
( setsid sh -c 'if [ "$IGNORE_TERM" = 1 ]; then trap "" TERM; fi; echo "daemon=$$"; exec sleep 1000' & )
exec sleep 1000
