// Listening sockets: reuseport (one socket per slot, kept across a crash),
// IPv6, unix sockets, several sockets at fds 3.., and the placeholders that
// tell a worker about them.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "harness.h"

namespace corral::testing {
namespace {

// Reads a JSON-ish field from the example server's /info: "key":value.
std::string info_field(const std::string& body, const std::string& key) {
  auto pos = body.find("\"" + key + "\":");
  if (pos == std::string::npos) return "";
  pos += key.size() + 3;
  if (body[pos] == '"') {
    auto end = body.find('"', pos + 1);
    return body.substr(pos + 1, end - pos - 1);
  }
  auto end = body.find_first_of(",}", pos);
  return body.substr(pos, end - pos);
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string reuseport_config(const TempDir& dir, int workers, const std::string& backoff_initial) {
  return dir.write("reuseport.toml", R"(
[worker]
command = [)" + quoted(example_server()) + R"(, "--fd", "{fd:http}"]
count = )" + std::to_string(workers) + R"(

[restart]
backoff_initial = ")" + backoff_initial + R"("

[[socket]]
name = "http"
listen = "127.0.0.1:0"
mode = "reuseport"
)");
}

pid_t started_pid(Process& corral, int id) {
  auto m = corral.wait_for_line("worker " + std::to_string(id) + R"( started \(pid (\d+)\))");
  return m ? std::stoi((*m)[1]) : -1;
}

TEST(Sockets, ReuseportGivesEachSlotItsOwnSocketAndAllServe) {
  TempDir dir;
  Corral corral({"run", "-c", reuseport_config(dir, 2, "100ms")});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  EXPECT_TRUE(corral.process.output().find("(reuseport)") != std::string::npos)
      << corral.process.output();
  const pid_t w0 = started_pid(corral.process, 0);
  const pid_t w1 = started_pid(corral.process, 1);
  ASSERT_GT(w0, 0);
  ASSERT_GT(w1, 0);

  // Two different sockets, both bound to the one port.
  const std::string s0 = fd_target(w0, 3);
  const std::string s1 = fd_target(w1, 3);
  ASSERT_EQ(s0.rfind("socket:[", 0), 0u) << s0;
  ASSERT_EQ(s1.rfind("socket:[", 0), 0u) << s1;
  EXPECT_NE(s0, s1);
  EXPECT_EQ(tcp_port_of_socket(s0), corral.port);
  EXPECT_EQ(tcp_port_of_socket(s1), corral.port);
  EXPECT_EQ(environ_value(w0, "LISTEN_FDS"), "1");
  EXPECT_EQ(environ_value(w1, "LISTEN_FDS"), "1");

  // The kernel spreads connections over both sockets by their addresses: in
  // 24 connections both workers answer (all on one: probability 2^-23).
  std::map<std::string, int> served_by;
  for (int i = 0; i < 24; ++i) {
    auto response = http_get(corral.port, "/info");
    ASSERT_TRUE(response) << "request " << i << "\n" << corral.process.output();
    ASSERT_EQ(response->status, 200);
    ++served_by[info_field(response->body, "pid")];
  }
  EXPECT_EQ(served_by.size(), 2u);
  EXPECT_TRUE(served_by.count(std::to_string(w0)) && served_by.count(std::to_string(w1)));
}

TEST(Sockets, SharedModeGivesEveryWorkerTheSameSocket) {
  Corral corral({"run", "--workers", "2", "--listen", "http=127.0.0.1:0", "--", example_server(),
                 "--fd", "{fd:http}"});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  const pid_t w0 = started_pid(corral.process, 0);
  const pid_t w1 = started_pid(corral.process, 1);
  ASSERT_GT(w0, 0);
  ASSERT_GT(w1, 0);
  EXPECT_EQ(fd_target(w0, 3), fd_target(w1, 3));
  EXPECT_EQ(tcp_port_of_socket(fd_target(w0, 3)), corral.port);
}

// corral holds each slot's reuseport socket: a connection that arrives while
// the slot's worker is dead waits in that socket's queue and is served by
// the replacement, which receives the very same socket.
TEST(Sockets, ReuseportConnectionQueuedWhileWorkerIsDeadIsServedByTheReplacement) {
  TempDir dir;
  Corral corral({"run", "-c", reuseport_config(dir, 1, "200ms")});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  const pid_t first = started_pid(corral.process, 0);
  ASSERT_GT(first, 0);
  ASSERT_TRUE(http_get(corral.port, "/"));
  const std::string socket_before = fd_target(first, 3);

  ::kill(first, SIGKILL);
  auto restarting = corral.process.wait_for_line(
      R"(worker 0 \(pid \d+\) killed by signal 9 \(SIGKILL\).*restarting in (\d+)ms)");
  ASSERT_TRUE(restarting) << corral.process.output();
  EXPECT_GE(std::stoi((*restarting)[1]), 150);  // 200ms less at most a quarter of jitter

  // The backoff has begun: no worker exists now, and none when the request
  // has been sent.
  UniqueFd connection = send_request(corral.port, "/info", 10s);
  ASSERT_TRUE(connection) << "the slot's socket refused the connection\n"
                          << corral.process.output();
  EXPECT_TRUE(workers_of(corral.process.pid()).empty())
      << "the replacement started before the request was sent: the test proved nothing";

  const pid_t second = started_pid(corral.process, 0);
  ASSERT_GT(second, 0) << corral.process.output();
  auto response = read_response(connection);
  ASSERT_TRUE(response) << "the queued connection was not served\n" << corral.process.output();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(info_field(response->body, "pid"), std::to_string(second));
  EXPECT_EQ(fd_target(second, 3), socket_before);
}

TEST(Sockets, ServesOnIpv6Loopback) {
  if (!ipv6_loopback_available()) GTEST_SKIP() << "no IPv6 on loopback here";
  Corral corral({"run", "--workers", "1", "--listen", "http=[::1]:0", "--", example_server(),
                 "--fd", "{fd:http}"});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  EXPECT_TRUE(corral.process.output().find("http=[::1]:" + std::to_string(corral.port) +
                                           " (shared)") != std::string::npos)
      << corral.process.output();
  const pid_t worker = started_pid(corral.process, 0);
  ASSERT_GT(worker, 0);
  auto response = http_get6(corral.port, "/info");
  ASSERT_TRUE(response) << corral.process.output();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(info_field(response->body, "pid"), std::to_string(worker));
  EXPECT_EQ(tcp_port_of_socket(fd_target(worker, 3)), corral.port);
  corral.process.signal(SIGTERM);
  EXPECT_EQ(corral.process.wait_exit(), 0) << corral.process.output();
}

TEST(Sockets, ListenWithoutHostTakesEveryIpv4Interface) {
  Corral corral({"run", "--workers", "1", "--listen", ":0", "--", example_server(), "--fd",
                 "{fd:http}"});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  EXPECT_NE(corral.process.output().find("http=0.0.0.0:" + std::to_string(corral.port)),
            std::string::npos)
      << corral.process.output();
  auto response = http_get(corral.port, "/");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST(Sockets, UnixSocketServesAndItsFileIsRemovedOnExit) {
  TempDir dir;
  const std::string path = dir.file("web.sock");
  Process corral({corral_binary(), "run", "--workers", "2", "--listen", "http=unix:" + path, "--",
                  example_server(), "--fd", "{fd:http}"});
  ASSERT_TRUE(corral.wait_for_line("starting 2 workers on http=unix:" + path + R"( \(shared\))"))
      << corral.output();
  const pid_t w0 = started_pid(corral, 0);
  const pid_t w1 = started_pid(corral, 1);
  ASSERT_GT(w0, 0);
  ASSERT_GT(w1, 0);
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  for (int i = 0; i < 4; ++i) {
    auto response = http_get_unix(path, "/");
    ASSERT_TRUE(response) << corral.output();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "hello\n");
  }
  corral.signal(SIGTERM);
  auto code = corral.wait_exit();
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0) << corral.output();
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::symlink_status(path)))
      << path << " left behind";
  EXPECT_TRUE(wait_pid_gone(w0, 1s));
  EXPECT_TRUE(wait_pid_gone(w1, 1s));
}

// A socket file whose process died refuses connections: corral replaces it.
TEST(Sockets, UnixSocketReplacesAStaleSocketFile) {
  TempDir dir;
  const std::string path = dir.file("stale.sock");
  {
    UniqueFd stale(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    ASSERT_EQ(::bind(stale.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }  // closed: the file stays, nobody listens
  ASSERT_TRUE(std::filesystem::exists(std::filesystem::symlink_status(path)));
  Process corral({corral_binary(), "run", "--workers", "1", "--listen", "unix:" + path, "--",
                  example_server(), "--fd", "{fd:http}"});
  ASSERT_GT(started_pid(corral, 0), 0) << corral.output();
  auto response = http_get_unix(path, "/");
  ASSERT_TRUE(response) << corral.output();
  EXPECT_EQ(response->status, 200);
}

TEST(Sockets, TwoSocketsLandAtFdsThreeAndFourInOrder) {
  Corral corral({"run", "--workers", "1", "--listen", "http=127.0.0.1:0", "--listen",
                 "admin=127.0.0.1:0", "--", example_server(), "--fd", "{fd:admin}"});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  std::smatch ports;
  const std::string log = corral.process.output();
  ASSERT_TRUE(std::regex_search(
      log, ports,
      std::regex(R"(http=127\.0\.0\.1:(\d+) \(shared\), admin=127\.0\.0\.1:(\d+) \(shared\))")))
      << log;
  const auto http_port = static_cast<uint16_t>(std::stoi(ports[1]));
  const auto admin_port = static_cast<uint16_t>(std::stoi(ports[2]));
  ASSERT_NE(http_port, admin_port);
  const pid_t worker = started_pid(corral.process, 0);
  ASSERT_GT(worker, 0);

  EXPECT_EQ(tcp_port_of_socket(fd_target(worker, 3)), http_port);
  EXPECT_EQ(tcp_port_of_socket(fd_target(worker, 4)), admin_port);
  std::set<std::string> fds;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(worker) + "/fd")) {
    fds.insert(entry.path().filename().string());
  }
  // The example server opens an epoll fd of its own above these.
  EXPECT_TRUE(fds.count("3") && fds.count("4"));

  // {fd:admin} became 4, and the server serving fd 4 answers on the admin port.
  auto response = http_get(admin_port, "/info");
  ASSERT_TRUE(response) << corral.process.output();
  EXPECT_EQ(info_field(response->body, "listen_fd"), "4");
  EXPECT_EQ(info_field(response->body, "LISTEN_FDS"), "2");
  EXPECT_EQ(info_field(response->body, "LISTEN_FDNAMES"), "http:admin");
  EXPECT_EQ(info_field(response->body, "LISTEN_PID"), std::to_string(worker));
  const auto argv = cmdline_of(worker);
  ASSERT_EQ(argv.size(), 3u);
  EXPECT_EQ(argv[2], "4");
}

TEST(Sockets, PlaceholdersInCommandAndEnvironmentAreFilledPerWorker) {
  TempDir dir;
  const std::string config = dir.write("placeholders.toml", R"(
[worker]
command = ["/bin/sh", "-c", "echo port={port:http} id={id} fd={fd:http} env=$MY_PORT/$MY_ID; exec sleep 60"]
env = { MY_PORT = "{port:http}", MY_ID = "worker-{id}" }
count = 2
[restart]
backoff_initial = "1ms"

[[socket]]
name = "http"
listen = "127.0.0.1:0"
)");
  Corral corral({"run", "-c", config});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  const std::string port = std::to_string(corral.port);
  std::map<int, pid_t> pids;
  for (int i = 0; i < 2; ++i) {
    auto m = corral.process.wait_for_line(R"(\[w(\d) (\d+)\] port=(\d+) id=(\d+) fd=(\d+) env=(.*)$)");
    ASSERT_TRUE(m) << corral.process.output();
    const int id = std::stoi((*m)[1]);
    pids[id] = std::stoi((*m)[2]);
    EXPECT_EQ((*m)[3], port);
    EXPECT_EQ((*m)[4], (*m)[1]);
    EXPECT_EQ((*m)[5], "3");
    EXPECT_EQ((*m)[6], port + "/worker-" + (*m)[1].str());
  }
  ASSERT_EQ(pids.size(), 2u) << corral.process.output();

  // The replacement of slot 1 is told it is worker 1 again.
  ::kill(pids[1], SIGKILL);
  auto m = corral.process.wait_for_line(R"(\[w1 (\d+)\] port=(\d+) id=(\d+) fd=3 env=(.*)$)");
  ASSERT_TRUE(m) << corral.process.output();
  EXPECT_NE(std::stoi((*m)[1]), pids[1]);
  EXPECT_EQ((*m)[3], "1");
  EXPECT_EQ((*m)[4], port + "/worker-1");
}

// [worker] env may name a variable corral sets itself. Either the file is
// refused (78), or the worker sees one value, corral's: never two entries
// for one name, of which C's getenv() reads the first and a shell the last.
TEST(Sockets, WorkerEnvironmentNeverHoldsTwoValuesForOneName) {
  TempDir dir;
  const std::string config = dir.write("env.toml", R"(
[worker]
command = ["/bin/sleep", "60"]
count = 1
env = { LISTEN_FDS = "7", LISTEN_PID = "1", LISTEN_FDNAMES = "other", CORRAL_WORKER_ID = "x", MINE = "{id}" }

[[socket]]
name = "http"
listen = "127.0.0.1:0"
)");
  Process corral({corral_binary(), "run", "-c", config});
  auto started = corral.wait_for_line(R"(worker 0 started \(pid (\d+)\)|^corral: )");
  ASSERT_TRUE(started) << corral.output();
  if ((*started)[1].str().empty()) {  // refused
    EXPECT_EQ(corral.wait_exit(), 78) << corral.output();
    return;
  }
  const pid_t worker = std::stoi((*started)[1]);
  std::ifstream file("/proc/" + std::to_string(worker) + "/environ", std::ios::binary);
  std::map<std::string, std::vector<std::string>> values;
  std::string entry;
  while (std::getline(file, entry, '\0')) {
    const auto eq = entry.find('=');
    values[entry.substr(0, eq)].push_back(entry.substr(eq + 1));
  }
  for (const auto& [name, list] : values) {
    EXPECT_EQ(list.size(), 1u) << name << " is set " << list.size() << " times";
  }
  EXPECT_EQ(values["LISTEN_FDS"].front(), "1");
  EXPECT_EQ(values["LISTEN_PID"].front(), std::to_string(worker));
  EXPECT_EQ(values["LISTEN_FDNAMES"].front(), "http");
  EXPECT_EQ(values["CORRAL_WORKER_ID"].front(), "0");
  EXPECT_EQ(values["MINE"].front(), "0");
}

}  // namespace
}  // namespace corral::testing
