#include "hostile.h"

#include <signal.h>

#include <chrono>
#include <filesystem>

#include <gtest/gtest.h>

namespace corral::testing::hostile {

std::string hostile_worker() { return HOSTILE_DIR "/hostile_worker.py"; }
std::string exits_script() { return HOSTILE_DIR "/exits.sh"; }

std::vector<std::string> python_worker(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"python3", hostile_worker()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

std::vector<std::string> mixed_command(const std::vector<std::string>& hostile) {
  // sh -c SCRIPT sh FD HOSTILE...: "$1" is the socket's fd, the rest the
  // hostile command.
  std::vector<std::string> argv = {
      "/bin/sh", "-c",
      "fd=$1; shift; [ \"$CORRAL_WORKER_ID\" = 0 ] && exec \"$@\"; exec " + example_server() +
          " --fd \"$fd\" --quiet",
      "sh", "{fd:http}"};
  argv.insert(argv.end(), hostile.begin(), hostile.end());
  return argv;
}

std::vector<std::string> run_args(int workers, const std::vector<std::string>& extra,
                                  const std::vector<std::string>& command) {
  std::vector<std::string> args = {"run", "--workers", std::to_string(workers), "--listen",
                                   "http=127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("--");
  args.insert(args.end(), command.begin(), command.end());
  return args;
}

std::string admin_socket(const Process& corral) {
  return corral.runtime_dir() + "/corral/corral.sock";
}

nlohmann::json status_within(const std::string& socket, Millis timeout) {
  auto reply = admin_call(socket, {{"cmd", "status"}}, timeout);
  return reply ? *reply : nlohmann::json();
}

std::optional<nlohmann::json> worker_entry(const nlohmann::json& status, int id) {
  if (!status.is_object() || !status.contains("workers")) return std::nullopt;
  for (const auto& w : status["workers"]) {
    if (w["id"] == id && w["state"] != "draining" && w["state"] != "stopping") return w;
  }
  return std::nullopt;
}

namespace {

void expect_supervision_goes_on(Process& corral, const std::function<bool()>& serving, int victim) {
  const std::string socket = admin_socket(corral);
  const auto asked = std::chrono::steady_clock::now();
  const nlohmann::json status = status_within(socket, 3s);
  ASSERT_TRUE(status.is_object()) << "corral did not answer status within 3 s";
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 3s);
  auto entry = worker_entry(status, victim);
  ASSERT_TRUE(entry && (*entry)["pid"].is_number()) << status.dump();
  const pid_t pid = (*entry)["pid"].get<pid_t>();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  EXPECT_TRUE(corral.find_or_wait("worker " + std::to_string(victim) + " \\(pid " +
                                      std::to_string(pid) + "\\) killed by signal 9 \\(SIGKILL\\)",
                                  15s))
      << "the kill was not noticed";
  EXPECT_TRUE(eventually(
      [&] {
        auto now = worker_entry(status_within(socket, 3s), victim);
        return now && (*now)["pid"].is_number() && (*now)["pid"] != pid &&
               (*now)["state"] == "ready";
      },
      15s))
      << "worker " << victim << " was not replaced";
  // Serving: the shared socket is answered (by whichever example server).
  EXPECT_TRUE(eventually(serving, 15s));
}

}  // namespace

void expect_supervision_goes_on(Process& corral, uint16_t port, int victim) {
  expect_supervision_goes_on(
      corral,
      [port] {
        auto r = http_get(port, "/", 2s);
        return r && r->status == 200;
      },
      victim);
}

void expect_supervision_goes_on(Process& corral, const std::string& http_socket, int victim) {
  expect_supervision_goes_on(
      corral,
      [&http_socket] {
        auto r = http_get_unix(http_socket, "/", 2s);
        return r && r->status == 200;
      },
      victim);
}

int count(const Process& corral, const std::string& regex) { return corral.count_lines(regex); }

int open_fds(pid_t pid) {
  std::error_code ec;
  int n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return ec ? -1 : n;
}

}  // namespace corral::testing::hostile
