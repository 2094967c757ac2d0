// Shared by the tests of tests/hostile/: a corral whose worker 0 is hostile
// and whose other workers are example servers, and the check that the
// hostile one stalls nothing: corral answers status quickly, and a normal
// worker killed with SIGKILL is noticed, replaced and serving again.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness.h"

namespace corral::testing::hostile {

// Paths baked in by CMake.
std::string hostile_worker();  // hostile_worker.py
std::string exits_script();    // exits.sh

// `python3 hostile_worker.py ARGS...`.
std::vector<std::string> python_worker(const std::vector<std::string>& args);

// A worker command for every slot: slot 0 execs `hostile`, the others an
// example server on the socket named http.
std::vector<std::string> mixed_command(const std::vector<std::string>& hostile);

// `corral run [--workers N --listen http=127.0.0.1:0] EXTRA... -- COMMAND`.
std::vector<std::string> run_args(int workers, const std::vector<std::string>& extra,
                                  const std::vector<std::string>& command);

std::string admin_socket(const Process& corral);

// The status object, or null when corral did not answer within `timeout`.
nlohmann::json status_within(const std::string& socket, Millis timeout);

// The process of worker `id` in a status reply (the current one: not
// draining or stopping); nullopt if none.
std::optional<nlohmann::json> worker_entry(const nlohmann::json& status, int id);

// corral answers status within 3 s; worker `victim` (an example server)
// killed with SIGKILL is logged as such, replaced, ready and serving HTTP on
// `port` within 15 s. Gtest assertions inside: wrap in ASSERT_NO_FATAL_FAILURE.
void expect_supervision_goes_on(Process& corral, uint16_t port, int victim);
// The same for a service listening on the unix socket `http_socket`.
void expect_supervision_goes_on(Process& corral, const std::string& http_socket, int victim);

// Lines of `corral` matching `regex` so far.
int count(const Process& corral, const std::string& regex);

// Open descriptors of `pid` (/proc/PID/fd), -1 if unknown.
int open_fds(pid_t pid);

}  // namespace corral::testing::hostile
