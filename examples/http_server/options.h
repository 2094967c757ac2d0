// Command-line options of example_server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace example {

struct Options {
  std::optional<int> fd;           // --fd N: serve this inherited listening fd
  std::optional<int> port;         // --port P: bind it ourselves (SO_REUSEPORT)
  std::string host = "127.0.0.1";  // --host H, with --port
  std::optional<int64_t> exit_after_ms;  // --exit-after-ms N: exit by itself
  int exit_code = 1;                     // --exit-code C: the code for that exit
  std::optional<std::string> stderr_line;  // --stderr TEXT: one line at start-up
  bool ignore_term = false;                // --ignore-term: SIGTERM is ignored
  bool quiet = false;                      // --quiet: no start-up line
  bool no_notify = false;                  // --no-notify: tell the supervisor nothing
  std::vector<std::string> argv;           // as received, for /info
};

// Parses argv. On --help or a usage error, prints and returns the exit code
// to leave with (0 or 2) instead of options.
struct ParsedOptions {
  std::optional<Options> options;
  int exit_code = 0;
};
ParsedOptions parse_options(int argc, char** argv);

}  // namespace example
