/*
 * A tiny HTTP server in C that uses libcorral-worker: it serves
 * "hello from worker N" on the socket corral passes it (named "http"),
 * reports ready, heartbeats, publishes its request count, and drains when
 * corral asks (or on SIGTERM), or when its supervisor is gone.
 *
 * Without corral it runs too: with no inherited socket it beats a few
 * times and exits, which shows the library's calls are harmless no-ops.
 *
 *   cc hello_worker.c $(pkg-config --cflags --libs corral-worker) -o hello_worker
 *   corral run --listen 127.0.0.1:8080 -- ./hello_worker
 */
#define _POSIX_C_SOURCE 200809L

#include <corral/worker.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop = 0;

static void on_term(int sig) {
  (void)sig;
  g_stop = 1;
}

static void serve_one(int listen_fd, int id) {
  int conn = accept(listen_fd, NULL, NULL);
  if (conn < 0) return; /* another worker took it (EAGAIN), or EINTR */
  corral_request_started();
  char request[2048];
  ssize_t n = read(conn, request, sizeof request); /* the request line is enough */
  (void)n;
  char body[64];
  int body_len = snprintf(body, sizeof body, "hello from worker %d\n", id);
  char response[256];
  int len = snprintf(response, sizeof response,
                     "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                     body_len, body);
  ssize_t written = write(conn, response, (size_t)len);
  (void)written;
  close(conn);
  corral_request_finished();
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  int rc = corral_attach();
  fprintf(stderr, "hello_worker: %s\n", corral_attach_message());
  if (rc < 0) fprintf(stderr, "hello_worker: carrying on unsupervised: %s\n", corral_strerror(rc));

  int id = corral_worker_id();
  if (id < 0) id = 0;
  int fd = corral_listen_fd("http");

  if (fd < 0) {
    /* No socket to serve: the attach/ready/heartbeat loop alone. */
    fprintf(stderr, "hello_worker: no socket named http (%s)\n", corral_strerror(fd));
    corral_ready();
    for (int i = 0; i < 3 && !g_stop && !corral_drain_requested(); ++i) {
      corral_heartbeat();
      struct timespec pause = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
      nanosleep(&pause, NULL);
    }
    corral_stopped();
    return 0;
  }

  /* Every worker polls the same socket and races for each connection: the
   * losers must get EAGAIN from accept(), not block in it (and stop
   * beating). The flag is shared by all workers: they all poll first. */
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  /* The socket already listens (corral bound it); ready at once. */
  corral_ready();
  while (!g_stop && !corral_drain_requested() && corral_supervisor_alive()) {
    corral_heartbeat();
    struct pollfd p = {.fd = fd, .events = POLLIN};
    /* Wake at least every 100 ms to beat and look at the drain flag. */
    int ready = poll(&p, 1, 100);
    if (ready < 0 && errno != EINTR) {
      perror("hello_worker: poll");
      return 1;
    }
    if (ready > 0 && (p.revents & POLLIN)) serve_one(fd, id);
  }
  corral_draining();
  /* Nothing in flight here: each request is served whole above. */
  corral_stopped();
  fprintf(stderr, "hello_worker: drained, exiting\n");
  return 0;
}
