// example_server: a small, fast HTTP/1.1 server that corral's demo, tests
// and benchmarks run as a worker. See docs/servers.md.
//
//   example_server --fd N | --port P [--host H]   (or under LISTEN_FDS)
//     [--exit-after-ms N] [--exit-code C] [--stderr TEXT] [--ignore-term] [--quiet]
//
// Endpoints: GET / (hello), /slow?ms=N, /info, /crash, /exit?code=N, /burn?ms=N.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "listener.h"
#include "options.h"
#include "server.h"

namespace {

void write_line(int fd, const std::string& line) {
  std::string s = line + "\n";
  for (size_t done = 0; done < s.size();) {
    ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  example::ParsedOptions parsed = example::parse_options(argc, argv);
  if (!parsed.options) return parsed.exit_code;
  example::Options& options = *parsed.options;

  if (options.stderr_line) write_line(STDERR_FILENO, *options.stderr_line);

  corral::Result<example::Listener> listener = example::open_listener(options);
  if (!listener) {
    write_line(STDERR_FILENO, "example_server: " + listener.error().message);
    return 2;
  }
  // The start-up line, printed once signals are set up so that a stop signal
  // sent on seeing it is handled. --quiet silences it, except that a port
  // chosen by the kernel (--port 0) is always printed: there is no other way
  // to learn it.
  bool chosen_port = listener->bound_here && options.port && *options.port == 0;
  std::string line = "example_server pid=" + std::to_string(getpid()) +
                     " listening fd=" + std::to_string(listener->fd.get()) +
                     " addr=" + listener->address;
  if (listener->port >= 0) line += " port=" + std::to_string(listener->port);
  bool print = !options.quiet || chosen_port;

  example::Server server(std::move(options), std::move(listener).value());
  if (corral::Status st = server.init(); !st) {
    write_line(STDERR_FILENO, "example_server: " + st.error().message);
    return 1;
  }
  if (print) write_line(STDOUT_FILENO, line);
  return server.run();
}
