/*
 * libcorral-worker: what a worker run by corral may tell its supervisor, and
 * ask it, through shared memory. Usable from C, from C++ (see worker.hpp) and
 * through any FFI (every function takes and returns plain integers and C
 * strings). Guide: docs/worker-library.md.
 *
 * Run without corral (CORRAL_SHM unset), every call is a harmless no-op, so a
 * program links the library unconditionally.
 *
 * Return values:
 *  - actions (corral_ready, corral_heartbeat, ...) return CORRAL_OK, also
 *    when not supervised, or the negative error that corral_attach() met;
 *  - questions (corral_drain_requested, corral_supervisor_alive) return 1 or
 *    0, and the answer that lets a program carry on when there is nothing to
 *    ask (see each);
 *  - corral_listen_fd and corral_worker_id return a number >= 0 or a
 *    negative error.
 * corral_strerror() names any code.
 *
 * Thread-safety: every function may be called from any thread at any time.
 * The first call of any function attaches (once per process); call
 * corral_attach() first to learn the outcome. After that, corral_heartbeat()
 * is a clock read (vDSO, no system call) and one atomic store: no lock.
 *
 * fork(): a child forked after attaching shares the parent's attachment (the
 * mapping is shared), so its calls count for the same worker. A program
 * started from the worker with exec inherits CORRAL_SHM but cannot attach:
 * the slot belongs to the worker (CORRAL_E_SLOT).
 */
#ifndef CORRAL_WORKER_H
#define CORRAL_WORKER_H

#include <stdint.h>

#if defined(__GNUC__)
#define CORRAL_WORKER_API __attribute__((visibility("default")))
#else
#define CORRAL_WORKER_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum corral_result {
  CORRAL_OK = 0,
  /* CORRAL_SHM is unset: not run by corral. Only corral_attach() returns it. */
  CORRAL_NOT_SUPERVISED = 1,
  /* CORRAL_SHM, CORRAL_SLOT or CORRAL_WORKER_ID is malformed. */
  CORRAL_E_ENV = -1,
  /* The segment cannot be opened or mapped (removed, or no permission). */
  CORRAL_E_OPEN = -2,
  /* The segment's magic, layout version or size differ from this library's:
   * corral and libcorral-worker come from different releases. */
  CORRAL_E_LAYOUT = -3,
  /* CORRAL_SLOT is out of range or was not prepared, or another process
   * already attached to this worker's slot. */
  CORRAL_E_SLOT = -4,
  /* A state change backwards (corral_ready() after corral_draining()). */
  CORRAL_E_STATE = -5,
  /* No listening socket of that name; CORRAL_WORKER_ID unset. */
  CORRAL_E_NOENT = -6,
  /* LISTEN_PID names another process: the sockets were not meant for us. */
  CORRAL_E_LISTEN_PID = -7,
  /* A bad argument (NULL name, counters above the limits), or malformed
   * LISTEN_FDS / LISTEN_FDNAMES. */
  CORRAL_E_INVAL = -8
};

/* Attaches to the slot corral prepared (CORRAL_SHM, CORRAL_SLOT) once per
 * process; later calls return the first outcome. CORRAL_OK, or
 * CORRAL_NOT_SUPERVISED (harmless: every other call is a no-op), or an
 * error, after which every other call is a no-op returning that error. */
CORRAL_WORKER_API int corral_attach(void);

/* One line describing the attach outcome, for a log: the segment and slot,
 * or why not. Valid for the life of the process. */
CORRAL_WORKER_API const char* corral_attach_message(void);

/* A static description of a corral_result code. */
CORRAL_WORKER_API const char* corral_strerror(int code);

/* The worker is serving: with `ready = "notify"` this is what makes corral
 * count it ready. */
CORRAL_WORKER_API int corral_ready(void);
/* The worker stopped accepting and is finishing what it has. */
CORRAL_WORKER_API int corral_draining(void);
/* The worker is done serving and about to exit. */
CORRAL_WORKER_API int corral_stopped(void);

/* Stores "alive now". With `heartbeat_timeout` set, corral replaces a ready
 * worker whose last heartbeat is older than that; a worker that never calls
 * this is not judged by heartbeats. */
CORRAL_WORKER_API int corral_heartbeat(void);

/* 1 if corral asked this worker to drain (stop accepting, finish, exit);
 * else 0, also when not supervised. */
CORRAL_WORKER_API int corral_drain_requested(void);

/* Publishes load figures for `corral status` and autoscaling: requests
 * served since start (at most 2^50, never lower than before) and requests
 * in flight now (at most 2^32). CORRAL_E_INVAL, and nothing is stored, for
 * values above the limits or a total lower than the one published. */
CORRAL_WORKER_API int corral_publish(uint64_t requests_total, uint64_t in_flight);
/* Or count as you go: in flight + 1; then in flight - 1 and served + 1.
 * Use these or corral_publish(), not both. */
CORRAL_WORKER_API int corral_request_started(void);
CORRAL_WORKER_API int corral_request_finished(void);

/* 1 while the supervisor is alive: its heartbeat is fresher than 5 s and its
 * process exists. 0 once it is gone or hung: finish up and exit. Returns 1
 * when not supervised or not attached (there is no supervisor whose death
 * should stop you; corral_attach() tells those cases apart). */
CORRAL_WORKER_API int corral_supervisor_alive(void);

/* The inherited listening socket named `name` in LISTEN_FDNAMES (the
 * [[socket]] name in corral's configuration, "http" by default), checking
 * that LISTEN_PID is this process. Works under systemd socket activation
 * too; needs no attachment. The fd number (>= 3), or CORRAL_E_NOENT,
 * CORRAL_E_LISTEN_PID, CORRAL_E_INVAL. The fd is not duplicated: do not
 * close it unless you are done with it. */
CORRAL_WORKER_API int corral_listen_fd(const char* name);

/* CORRAL_WORKER_ID: the stable worker number 0..N-1 (a replacement gets the
 * id of the worker it replaces). CORRAL_E_NOENT when unset, CORRAL_E_ENV when
 * malformed. */
CORRAL_WORKER_API int corral_worker_id(void);

#ifdef __cplusplus
}
#endif

#endif /* CORRAL_WORKER_H */
