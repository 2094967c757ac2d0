#include "options.h"

#include <CLI/CLI.hpp>

namespace example {

ParsedOptions parse_options(int argc, char** argv) {
  Options o;
  o.argv.assign(argv, argv + argc);

  CLI::App app{
      "example_server: a small HTTP/1.1 server for corral's demo, tests and "
      "benchmarks.\nListening socket: --fd N, else fd 3 when LISTEN_FDS is set "
      "and LISTEN_PID is our pid, else --port P [--host H]."};
  app.add_option("--fd", o.fd, "serve this inherited listening socket")->check(CLI::NonNegativeNumber);
  app.add_option("--port", o.port, "bind this TCP port with SO_REUSEPORT (0: any, printed)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--host", o.host, "address to bind with --port")->capture_default_str();
  app.add_option("--exit-after-ms", o.exit_after_ms, "exit by itself after N ms")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--exit-code", o.exit_code, "exit code for --exit-after-ms")
      ->check(CLI::Range(0, 255))
      ->capture_default_str();
  app.add_option("--stderr", o.stderr_line, "write TEXT as a line to stderr at start-up");
  app.add_flag("--ignore-term", o.ignore_term, "ignore SIGTERM (SIGINT still stops)");
  app.add_flag("--quiet", o.quiet, "no start-up line on stdout");
  app.add_flag("--no-notify", o.no_notify,
               "tell the supervisor nothing: neither attach to corral's shared memory "
               "(CORRAL_SHM) nor send to $NOTIFY_SOCKET (never ready, no heartbeats)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return {std::nullopt, code == 0 ? 0 : 2};
  }
  return {std::move(o), 0};
}

}  // namespace example
