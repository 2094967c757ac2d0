// corral: a process supervisor for any server binary. This file only maps
// the command line onto the sub-commands in cli/commands.h.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <iterator>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/exit_codes.h"

namespace {

constexpr const char* kVersion = "0.1.0";

}  // namespace

int main(int argc, char** argv) {
  using namespace corral::cli;
  CLI::App app{"corral: runs N copies of a server on shared sockets and keeps them healthy"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);

  RunOptions run;
  CLI::App* run_cmd = app.add_subcommand("run", "run the supervisor in the foreground");
  run_cmd->add_option("-c,--config", run.config_file, "TOML configuration file");
  run_cmd->add_option("--workers", run.workers, "number of workers, or 'auto' (one per CPU)");
  run_cmd->add_option("--listen", run.listen, "listening socket [NAME=]ADDR (repeatable)");
  run_cmd->add_option("--name", run.name, "service name");
  run_cmd->add_option("--log-level", run.log.level, "trace, debug, info, warn, error, off");
  run_cmd->add_option("--log-format", run.log.format,
                      "auto (default: journal when stderr is the journal, else text), text, "
                      "json, journal");
  run_cmd->add_option("--log-file", run.log.file, "also write the log to this file, rotated");
  run_cmd->add_option("--log-max-size", run.log.max_size,
                      "rotate the log file at this size (default 10MiB)");
  run_cmd->add_option("--log-max-files", run.log.max_files,
                      "rotated log files kept (default 5): web.1.log ... web.N.log");
  run_cmd->footer(
      "The worker command follows `--`: corral run --listen :8080 -- ./server --fd {fd:http}");

  std::string check_file;
  CLI::App* check_cmd =
      app.add_subcommand("check", "validate a configuration, print effective values");
  check_cmd->add_option("file", check_file, "TOML configuration file")->required();

  ClientOptions client;
  bool status_json = false;
  auto add_client_options = [&client](CLI::App* cmd) {
    cmd->add_option("--name", client.name, "service name (default corral)");
    cmd->add_option("--socket", client.socket, "admin socket path (overrides --name)");
  };
  CLI::App* status_cmd = app.add_subcommand("status", "show the workers; exit 0 when healthy");
  add_client_options(status_cmd);
  status_cmd->add_flag("--json", status_json, "print the supervisor's JSON status");
  CLI::App* stop_cmd = app.add_subcommand("stop", "stop the service gracefully");
  add_client_options(stop_cmd);

  bool json = false;
  std::string scale_target;
  CLI::App* scale_cmd =
      app.add_subcommand("scale", "set the number of workers: N, +K, -K, or auto to unpin it");
  add_client_options(scale_cmd);
  // Not required here: `corral scale -- -2` brings it after the `--`.
  scale_cmd->add_option("count", scale_target, "N (at least 1), +K, -K, or auto");
  scale_cmd->add_flag("--json", json, "print the supervisor's JSON reply");
  scale_cmd->footer("The count stays pinned until `corral scale auto`. Example: corral scale -1");

  std::string timeout;
  CLI::App* reload_cmd =
      app.add_subcommand("reload", "replace every worker, one batch at a time, without downtime");
  add_client_options(reload_cmd);
  reload_cmd->add_option("--timeout", timeout, "how long to wait for the outcome (default 10m)");
  reload_cmd->add_flag("--json", json, "print the supervisor's JSON reply");

  std::string restart_id;
  CLI::App* restart_cmd = app.add_subcommand("restart", "replace one worker the same way");
  add_client_options(restart_cmd);
  restart_cmd->add_option("id", restart_id, "worker id (the ID column of corral status)")
      ->required();
  restart_cmd->add_option("--timeout", timeout, "how long to wait for the outcome (default 10m)");
  restart_cmd->add_flag("--json", json, "print the supervisor's JSON reply");

  std::string interval = "1s";
  CLI::App* top_cmd = app.add_subcommand("top", "a live view of the workers (q to quit)");
  add_client_options(top_cmd);
  top_cmd->add_option("--interval", interval, "time between refreshes (default 1s)");

  // Everything after the first `--` is the worker's command, taken verbatim
  // (CLI11 would still try to match options like `--fd` in it).
  int own_argc = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      own_argc = i;
      for (int j = i + 1; j < argc; ++j) run.command.emplace_back(argv[j]);
      break;
    }
  }
  // CLI11 only says "a subcommand is required" for a verb it does not know.
  const std::string_view verb = own_argc > 1 ? argv[1] : "";
  constexpr std::string_view kVerbs[] = {"run",   "check",  "status",  "stop",
                                         "scale", "reload", "restart", "top"};
  if (!verb.empty() && verb[0] != '-' &&
      std::find(std::begin(kVerbs), std::end(kVerbs), verb) == std::end(kVerbs)) {
    fmt::print(stderr,
               "corral: unknown command '{}' (run, check, status, stop, scale, reload, restart, "
               "top); see corral --help\n",
               argv[1]);
    return kExitUsage;
  }
  try {
    app.parse(own_argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (run_cmd->parsed()) return run_command(run);
  if (check_cmd->parsed()) return check_command(check_file);
  if (status_cmd->parsed()) return status_command(client, status_json);
  if (stop_cmd->parsed()) return stop_command(client);
  if (scale_cmd->parsed()) {
    if (scale_target.empty() && run.command.size() == 1) scale_target = run.command[0];
    if (scale_target.empty()) {
      fmt::print(stderr,
                 "corral: scale: give N (at least 1), +K, -K or auto; see corral scale --help\n");
      return kExitUsage;
    }
    return scale_command(client, scale_target, json);
  }
  if (reload_cmd->parsed()) return reload_command(client, timeout, json);
  if (restart_cmd->parsed()) return restart_command(client, restart_id, timeout, json);
  if (top_cmd->parsed()) return top_command(client, interval);
  return kExitUsage;
}
