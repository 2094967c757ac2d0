// The shared-memory segment end to end, with the real corral and real
// workers: readiness, heartbeats, load figures and drain requests through
// libcorral-worker (example_server, the C example hello_worker, a Python
// ctypes worker), hostile workers writing into the segment, and workers
// noticing that their supervisor stopped beating.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "harness.h"

namespace corral::testing {
namespace {

using Clock = std::chrono::steady_clock;

Millis since(Clock::time_point start) {
  return std::chrono::duration_cast<Millis>(Clock::now() - start);
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

// Built next to example_server by examples/CMakeLists.txt.
std::string hello_worker() {
  return (std::filesystem::path(example_server()).parent_path().parent_path() / "hello_worker")
      .string();
}

// The shared library the ctypes worker loads (worker/ of the build tree).
std::string worker_library() {
  return (std::filesystem::path(corral_binary()).parent_path().parent_path() / "worker" /
          "libcorral-worker.so.0")
      .string();
}

std::string python3() { return find_program("python3"); }

std::string script(const std::string& name) { return source_dir() + "/tests/integration/" + name; }

// A worker command that depends on the worker id: `cases` is the body of a
// shell `case "$CORRAL_WORKER_ID" in ... esac`. The script execs, so the
// worker's pid is the program's. Extra arguments reach it as $1, $2...
std::string dispatch_script(const TempDir& dir, const std::string& preamble,
                            const std::string& cases) {
  return dir.write(
      "worker.sh",
      "#!/bin/sh\n" + preamble + "\ncase \"$CORRAL_WORKER_ID\" in\n" + cases + "\nesac\n", 0755);
}

// `corral status --json` for the corral run by `c`; nullopt if it did not
// answer with JSON.
std::optional<nlohmann::json> status_json(const Corral& c) {
  Process status({corral_binary(), "status", "--json"},
                 {"XDG_RUNTIME_DIR=" + c.process.runtime_dir()});
  auto code = status.wait_exit(5s);
  if (!code || (*code != 0 && *code != 1)) return std::nullopt;
  try {
    return nlohmann::json::parse(status.output());
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

// Polls (every 50 ms, bounded) until `condition` holds for a status.
std::optional<nlohmann::json> await_status(
    const Corral& c, const std::function<bool(const nlohmann::json&)>& condition,
    Millis timeout = 5s) {
  std::optional<nlohmann::json> last;
  const auto deadline = Clock::now() + timeout;
  do {
    last = status_json(c);
    if (last && condition(*last)) return last;
    std::this_thread::sleep_for(50ms);
  } while (Clock::now() < deadline);
  return std::nullopt;
}

std::optional<nlohmann::json> info_json(uint16_t port) {
  auto r = http_get(port, "/info");
  if (!r || r->status != 200) return std::nullopt;
  try {
    return nlohmann::json::parse(r->body);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

// A process that corral has no business signalling: it reports every
// catchable signal it gets as "got N". check() proves it is alive, not
// stopped, and got none but the SIGUSR1 that check() sends itself.
struct Bystander {
  Bystander()
      : process({python3(), "-c",
                 "import signal\n"
                 "def report(n, frame): print('got', n, flush=True)\n"
                 "for s in signal.valid_signals():\n"
                 "    if s in (signal.SIGKILL, signal.SIGSTOP): continue\n"
                 "    try: signal.signal(s, report)\n"
                 "    except (OSError, ValueError): pass\n"
                 "print('ready', flush=True)\n"
                 "while True: signal.pause()\n"}) {
    ready = process.wait_for_line("^ready$").has_value();
  }
  void check() {
    ASSERT_TRUE(pid_alive(process.pid())) << "the bystander died";
    ASSERT_NE(process_state(process.pid()), 'T') << "the bystander was stopped";
    process.signal(SIGUSR1);
    ASSERT_TRUE(process.wait_for_line("^got " + std::to_string(SIGUSR1) + "$")) << process.output();
    EXPECT_EQ(process.count_lines("^got "), 1) << "signals the bystander got:\n"
                                               << process.output();
  }
  Process process;
  bool ready = false;
};

// --- the library's readiness, heartbeats, load figures, drain request ---

TEST(Shm, LibraryReadinessFromExampleServerAndTheCWorker) {
  ASSERT_TRUE(std::filesystem::exists(hello_worker())) << hello_worker();
  TempDir dir;
  // No NOTIFY_SOCKET: readiness can only come through the library.
  const auto worker = dispatch_script(dir, "unset NOTIFY_SOCKET",
                                      "0) exec " + example_server() +
                                          " --fd 3 ;;\n"
                                          "*) exec " +
                                          hello_worker() + " ;;");
  const auto config = dir.write("w.toml", R"(
[worker]
command = [)" + quoted(worker) + R"(]
count = 2
ready = "notify"
ready_timeout = "5s"
[[socket]]
name = "http"
listen = "127.0.0.1:0"
)");
  Corral corral({"run", "-c", config});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  for (int id = 0; id < 2; ++id) {
    SCOPED_TRACE("worker " + std::to_string(id));
    auto started =
        corral.process.find_or_wait("worker " + std::to_string(id) + R"( started \(pid (\d+)\))");
    ASSERT_TRUE(started) << corral.process.output();
    const std::string pid = (*started)[1];
    EXPECT_TRUE(corral.process.find_or_wait(
        "worker " + std::to_string(id) + " \\(pid " + pid + "\\) ready$", 6s))
        << corral.process.output();
    EXPECT_EQ(environ_value(std::stoi(pid), "NOTIFY_SOCKET"), std::nullopt);
    EXPECT_TRUE(environ_value(std::stoi(pid), "CORRAL_SHM").has_value());
  }
  EXPECT_TRUE(corral.process.find_or_wait(
      R"(\[w1 \d+ err\] hello_worker: attached to corral segment /corral-\S+ slot 1 )"))
      << corral.process.output();
  EXPECT_EQ(corral.process.count_lines("not ready"), 0) << corral.process.output();
  corral.process.signal(SIGTERM);
  EXPECT_EQ(corral.process.wait_exit(), 0) << corral.process.output();
}

TEST(Shm, BurningExampleServerMissesLibraryHeartbeatsAndIsReplaced) {
  TempDir dir;
  const auto worker =
      dispatch_script(dir, "unset NOTIFY_SOCKET", "*) exec " + example_server() + " --fd 3 ;;");
  const auto config = dir.write("w.toml", R"(
[worker]
command = [)" + quoted(worker) + R"(]
count = 1
ready = "notify"
heartbeat_timeout = "2s"
[restart]
min_uptime = "100ms"
[[socket]]
name = "http"
listen = "127.0.0.1:0"
)");
  Corral corral({"run", "-c", config});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  auto started = corral.process.wait_for_line(R"(worker 0 started \(pid (\d+)\))");
  ASSERT_TRUE(started) << corral.process.output();
  const std::string first = (*started)[1];
  ASSERT_TRUE(corral.process.wait_for_line(R"(worker 0 \(pid )" + first + R"(\) ready$)"))
      << corral.process.output();
  EXPECT_EQ(environ_value(std::stoi(first), "NOTIFY_SOCKET"), std::nullopt);

  // Idle (a /slow reply is a timer: the loop keeps turning) for longer than
  // the timeout: heartbeats keep coming.
  auto slow = http_get(corral.port, "/slow?ms=3000");
  ASSERT_TRUE(slow && slow->status == 200);
  EXPECT_EQ(corral.process.count_lines("hung"), 0) << corral.process.output();

  // A CPU-bound request blocks the loop, heartbeats included. (The reply
  // would come after 20 s: the worker must be killed long before.)
  UniqueFd burn = send_request(corral.port, "/burn?ms=20000", 25s);
  ASSERT_TRUE(burn.valid());
  EXPECT_TRUE(corral.process.wait_for_line(
      R"(worker 0 \(pid )" + first +
          R"(\) hung: no heartbeat for [0-9ms]+ \(heartbeat_timeout 2s\); process state R.*sending SIGABRT)",
      10s))
      << corral.process.output();
  EXPECT_TRUE(corral.process.wait_for_line(R"(hung: killed by signal 6 \(SIGABRT\))"))
      << corral.process.output();
  auto answer = read_response(burn);
  EXPECT_FALSE(answer && answer->status == 200) << "the burn finished: the hang went unnoticed";

  auto replaced = corral.process.wait_for_line(R"(worker 0 started \(pid (\d+)\))");
  ASSERT_TRUE(replaced) << corral.process.output();
  const std::string second = (*replaced)[1];
  EXPECT_NE(second, first);
  EXPECT_TRUE(corral.process.wait_for_line(R"(worker 0 \(pid )" + second + R"(\) ready$)"))
      << corral.process.output();
  auto hello = http_get(corral.port, "/");
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->status, 200);
  EXPECT_EQ(hello->body, "hello\n");
  corral.process.signal(SIGTERM);
  EXPECT_EQ(corral.process.wait_exit(), 0) << corral.process.output();
}

TEST(Shm, RequestsServedAndInFlightReachTheSupervisor) {
  TempDir dir;
  const auto config = dir.write("w.toml", R"(
[worker]
command = [)" + quoted(example_server()) + R"(, "--fd", "{fd:http}"]
count = 1
[[socket]]
name = "http"
listen = "127.0.0.1:0"
)");
  Corral corral({"run", "-c", config});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  ASSERT_TRUE(corral.process.wait_for_line(R"(\[w0 \d+\] example_server pid=)"))
      << corral.process.output();
  constexpr int kRequests = 25;
  for (int i = 0; i < kRequests; ++i) {
    auto r = http_get(corral.port, i % 5 == 0 ? "/nowhere" : "/");  // a 404 is served too
    ASSERT_TRUE(r) << i;
  }
  UniqueFd slow = send_request(corral.port, "/slow?ms=2000");
  ASSERT_TRUE(slow.valid());
  auto worker0 = [](const nlohmann::json& s) -> const nlohmann::json& { return s["workers"][0]; };
  auto during = await_status(
      corral, [&](const nlohmann::json& s) { return worker0(s)["in_flight"] == 1; }, 10s);
  ASSERT_TRUE(during) << "the /slow request never showed as in flight; " << corral.process.output();
  EXPECT_EQ(worker0(*during)["requests_total"], kRequests) << during->dump();

  auto answer = read_response(slow);
  ASSERT_TRUE(answer && answer->status == 200);
  auto after = await_status(
      corral, [&](const nlohmann::json& s) { return worker0(s)["in_flight"] == 0; }, 10s);
  ASSERT_TRUE(after) << corral.process.output();
  EXPECT_EQ(worker0(*after)["requests_total"], kRequests + 1) << after->dump();
  EXPECT_EQ(corral.process.count_lines("impossible values"), 0) << corral.process.output();
  corral.process.signal(SIGTERM);
  EXPECT_EQ(corral.process.wait_exit(), 0) << corral.process.output();
}

TEST(Shm, DrainRequestStopsAWorkerThatIgnoresSigterm) {
  TempDir dir;
  const auto config = dir.write("w.toml", R"(
[worker]
command = [)" + quoted(example_server()) + R"(, "--fd", "{fd:http}", "--ignore-term"]
count = 2
drain_timeout = "20s"
[[socket]]
name = "http"
listen = "127.0.0.1:0"
)");
  Corral corral({"run", "-c", config});
  ASSERT_NE(corral.port, 0) << corral.process.output();
  std::vector<pid_t> workers;
  for (int i = 0; i < 2; ++i) {
    auto m = corral.process.wait_for_line(R"(\[w\d (\d+)\] example_server pid=)");
    ASSERT_TRUE(m) << corral.process.output();
    workers.push_back(std::stoi((*m)[1]));
  }
  ASSERT_TRUE(http_get(corral.port, "/"));
  const auto start = Clock::now();
  corral.process.signal(SIGTERM);
  auto code = corral.process.wait_exit(5s);
  ASSERT_TRUE(code) << "still draining after 5 s: " << corral.process.output();
  EXPECT_EQ(*code, 0) << corral.process.output();
  EXPECT_LT(since(start), 5000ms);
  EXPECT_EQ(corral.process.count_lines(R"(worker \d \(pid \d+\) stopped: exited with code 0 )"), 2)
      << corral.process.output();
  EXPECT_EQ(corral.process.count_lines("drain timeout"), 0) << corral.process.output();
  for (pid_t w : workers) EXPECT_TRUE(wait_pid_gone(w, 1s));
}

// --- hostile workers ---

// Worker 0 runs hostile_worker.py MODE, worker 1 a well-behaved
// example_server. Restarts are quick and unlimited, so that every
// replacement of the hostile worker is seen. No heartbeat_timeout: the good
// worker must only ever be judged by what is in its slot (a loaded machine
// can stall it for seconds), and corral reads the segment every 500 ms anyway.
struct HostileService {
  HostileService(const std::string& mode, const std::string& extra = "") {
    const auto worker =
        dispatch_script(dir, "",
                        "0) exec " + python3() + " " + script("hostile_worker.py") + " " + mode +
                            " " + dir.path() + " " + std::to_string(bystander.process.pid()) + " " +
                            extra + " ;;\n" + "*) exec " + example_server() + " --fd 3 ;;");
    const auto config = dir.write("w.toml", R"(
[worker]
command = [)" + quoted(worker) + R"(]
count = 2
[restart]
min_uptime = "100ms"
backoff_initial = "20ms"
backoff_max = "100ms"
max_restarts = 10000
[[socket]]
name = "http"
listen = "127.0.0.1:0"
)");
    corral.emplace(std::vector<std::string>{"run", "-c", config});
  }
  // The pid of worker `id`'s first process.
  std::string first_pid(int id) {
    auto m =
        corral->process.find_or_wait("worker " + std::to_string(id) + R"( started \(pid (\d+)\))");
    return m ? (*m)[1] : "";
  }
  bool hello() {
    auto r = http_get(corral->port, "/");
    return r && r->status == 200 && r->body == "hello\n";
  }
  Process& log() { return corral->process; }

  TempDir dir;
  Bystander bystander;
  std::optional<Corral> corral;
};

TEST(Shm, HostileWorkerScribblingOverTheWholeSegment) {
  HostileService s("scribble", "1.5");
  ASSERT_TRUE(s.bystander.ready);
  ASSERT_NE(s.corral->port, 0) << s.log().output();
  ASSERT_TRUE(s.log().find_or_wait("hostile: scribbling over the whole segment"))
      << s.log().output();
  // While it scribbles: corral keeps answering on its admin socket, and the
  // service answers (the good worker's slot is scribbled over too, so it may
  // be replaced meanwhile: the socket holds connections for the next one).
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(status_json(*s.corral)) << "corral did not answer `status`; " << s.log().output();
    // A connection the good worker had accepted dies with it: ask again.
    EXPECT_TRUE(eventually([&] { return s.hello(); }, 5s)) << s.log().output();
  }
  // Each instance is replaced within a health check or two (its own slot
  // reads as corrupt); once the deadline passed, the next one leaves the
  // segment alone.
  ASSERT_TRUE(s.log().find_or_wait(R"(hostile: scribbling done after 0 fills)", 10s))
      << s.log().output();
  EXPECT_GE(s.log().count_lines(R"(shared memory header was overwritten \(.*\); repaired)"), 1)
      << s.log().output();
  EXPECT_GE(
      s.log().count_lines(
          R"(worker 0 \(pid \d+\) wrote impossible values into its shared memory slot \(.*\); replacing it)"),
      1)
      << s.log().output();
  // Settled: both workers run, and the service answers.
  EXPECT_TRUE(await_status(*s.corral, [](const nlohmann::json& j) {
    return j["workers"].size() == 2 && j["workers"][0]["state"] == "ready" &&
           j["workers"][1]["state"] == "ready";
  })) << s.log().output();
  EXPECT_TRUE(s.hello()) << s.log().output();
  s.bystander.check();
  const pid_t corral_pid = s.log().pid();
  s.log().signal(SIGTERM);
  EXPECT_EQ(s.log().wait_exit(), 0) << s.log().output();
  EXPECT_TRUE(wait_pid_gone(corral_pid, 1s));
}

TEST(Shm, HostileWorkerWritingImpossibleValuesIntoItsSlotCostsOnlyItsSlot) {
  HostileService s("slot");
  ASSERT_TRUE(s.bystander.ready);
  ASSERT_NE(s.corral->port, 0) << s.log().output();
  const std::string good = s.first_pid(1);
  ASSERT_FALSE(good.empty()) << s.log().output();
  const std::string foreign = std::to_string(s.bystander.process.pid());
  // In the order hostile_worker.py plays them.
  const std::vector<std::string> problems = {
      "pid: the segment says " + foreign,
      "pid: the segment says 1,",
      "state: 77 is not a state",
      "requests_total: \\d+ is above the limit",
      "in_flight: \\d+ is above the limit",
      "heartbeat_ns: [\\d.]+ s in the future",
      "generation: the segment says",
      "drain_requested: the segment says 4294967295",
      "reserved0: 1 is not 0",
  };
  for (const auto& problem : problems) {
    SCOPED_TRACE(problem);
    auto m = s.log().wait_for_line(
        R"(worker 0 \(pid (\d+)\) wrote impossible values into its shared memory slot \()" +
        problem + R"(.*\); replacing it)");
    ASSERT_TRUE(m) << s.log().output();
    // The culprit named is a worker corral started, never the pid written.
    EXPECT_TRUE(s.log().find_line("worker 0 started \\(pid " + (*m)[1].str() + "\\)", 0ms));
    EXPECT_NE((*m)[1].str(), foreign);
    EXPECT_TRUE(s.hello()) << s.log().output();
  }
  ASSERT_TRUE(s.log().find_or_wait("hostile: no tricks left: behaving")) << s.log().output();
  EXPECT_EQ(s.log().count_lines("worker 1 started"), 1)
      << "the good worker was replaced: " << s.log().output();
  EXPECT_EQ(s.log().count_lines(R"(worker 1 \(pid \d+\) wrote impossible)"), 0) << s.log().output();
  EXPECT_EQ(s.log().count_lines("shared memory header was overwritten"), 0) << s.log().output();
  auto info = info_json(s.corral->port);
  ASSERT_TRUE(info);
  EXPECT_EQ((*info)["pid"], std::stoi(good));
  s.bystander.check();
  s.log().signal(SIGTERM);
  EXPECT_EQ(s.log().wait_exit(), 0) << s.log().output();
}

TEST(Shm, HostileWorkerWritingAFutureLayoutVersionIntoTheHeaderIsRepairedAndBlamesNobody) {
  HostileService s("header");
  ASSERT_TRUE(s.bystander.ready);
  ASSERT_NE(s.corral->port, 0) << s.log().output();
  const std::string hostile = s.first_pid(0);
  const std::string good = s.first_pid(1);
  ASSERT_TRUE(s.log().find_or_wait("hostile: header tricks done")) << s.log().output();
  const std::string foreign = std::to_string(s.bystander.process.pid());
  for (const std::string& field :
       std::vector<std::string>{"layout_version: the segment says 2, the supervisor wrote 1",
                                "magic", "slot_count", "record_size", "slots_offset",
                                "supervisor_pid: the segment says " + foreign, "reserved2"}) {
    EXPECT_EQ(s.log().count_lines(R"(shared memory header was overwritten \()" + field +
                                  R"(.*\); repaired)"),
              1)
        << field << "\n"
        << s.log().output();
  }
  EXPECT_EQ(s.log().count_lines("impossible values"), 0) << s.log().output();
  EXPECT_EQ(s.log().count_lines("worker \\d started"), 2)
      << "a worker was replaced: " << s.log().output();
  EXPECT_TRUE(s.hello()) << s.log().output();

  // After the repairs, a new worker attaches: replace the good one.
  auto bye = http_get(s.corral->port, "/exit?code=0");
  ASSERT_TRUE(bye && bye->status == 200);
  auto next = s.log().wait_for_line(R"(worker 1 started \(pid (\d+)\))");
  ASSERT_TRUE(next) << s.log().output();
  auto info = info_json(s.corral->port);
  ASSERT_TRUE(info);
  EXPECT_EQ((*info)["pid"], std::stoi((*next)[1]));
  if (!(*info)["corral"].is_object()) {
    // Why not, in the worker's words.
    s.log().find_or_wait(
        R"(\[w1 )" + (*next)[1].str() + R"( err\] example_server: libcorral-worker)", 2s);
  }
  EXPECT_TRUE((*info)["corral"].is_object()) << "not attached: " << info->dump() << "\n"
                                             << s.log().output();
  EXPECT_TRUE(pid_alive(std::stoi(hostile)));
  s.bystander.check();
  s.log().signal(SIGTERM);
  EXPECT_EQ(s.log().wait_exit(), 0) << s.log().output();
}

// --- a worker noticing its supervisor hung ---

TEST(Shm, WorkersNoticeTheirSupervisorStoppedBeating) {
  ASSERT_TRUE(std::filesystem::exists(hello_worker())) << hello_worker();
#if defined(__SANITIZE_ADDRESS__)
  // An ASan-built library cannot be loaded into an interpreter that was not.
  const bool with_python = false;
#else
  const bool with_python = true;
  ASSERT_TRUE(std::filesystem::exists(worker_library())) << worker_library();
#endif
  TempDir dir;
  const std::string report = dir.file("alive.txt");
  // Worker 0: the C example (serves "http", exits once corral is gone or
  // hung); worker 1: example_server on "es" (its GET /info shows the verdict
  // of its last heartbeat tick, which it also logs); worker 2: the Python
  // ctypes worker (writes a line to `report`). corral stays stopped until
  // each has seen it stale.
  const auto worker = dispatch_script(dir, "",
                                      "0) exec " + hello_worker() +
                                          " ;;\n"
                                          "1) exec " +
                                          example_server() +
                                          " --fd \"$1\" ;;\n"
                                          "2) exec " +
                                          python3() + " " + script("alive_worker.py") + " " +
                                          worker_library() + " " + report + " ;;");
  const auto config = dir.write("w.toml", R"(
[worker]
command = [)" + quoted(worker) + R"(, "{fd:es}"]
count = )" + std::string(with_python ? "3" : "2") +
                                              R"(
[[socket]]
name = "http"
listen = "127.0.0.1:0"
[[socket]]
name = "es"
listen = "127.0.0.1:0"
)");
  Process corral({corral_binary(), "run", "-c", config});
  auto ports = corral.wait_for_line(
      R"(starting \d workers on http=127\.0\.0\.1:(\d+) \(shared\), es=127\.0\.0\.1:(\d+))");
  ASSERT_TRUE(ports) << corral.output();
  const auto es_port = static_cast<uint16_t>(std::stoi((*ports)[2]));
  auto hello_started = corral.find_or_wait(R"(worker 0 started \(pid (\d+)\))");
  ASSERT_TRUE(hello_started) << corral.output();
  const pid_t hello = std::stoi((*hello_started)[1]);
  ASSERT_TRUE(corral.find_or_wait(R"(\[w0 \d+ err\] hello_worker: attached to corral segment)"))
      << corral.output();
  ASSERT_TRUE(corral.find_or_wait(R"(\[w1 \d+\] example_server pid=)")) << corral.output();
  if (with_python) {
    ASSERT_TRUE(corral.find_or_wait(R"(\[w2 \d+\] alive_worker: attached to corral segment)"))
        << corral.output();
  }
  auto info = info_json(es_port);
  ASSERT_TRUE(info);
  ASSERT_TRUE((*info)["corral"].is_object()) << info->dump();
  EXPECT_EQ((*info)["corral"]["supervisor_alive"], true);

  // Stopped, corral stops beating; it is not dead (no PDEATHSIG, no guardian).
  corral.signal(SIGSTOP);
  const auto start = Clock::now();
  const bool hello_exited = wait_pid_gone(hello, 9s);
  const Millis waited = since(start);
  std::optional<nlohmann::json> stale_info;
  std::string report_text;
  if (hello_exited) {
    eventually(
        [&] {
          stale_info = info_json(es_port);
          return stale_info && (*stale_info)["corral"]["supervisor_alive"] == false;
        },
        2s);
    if (with_python) {
      eventually(
          [&] {
            std::ifstream in(report);
            std::stringstream text;
            text << in.rdbuf();
            report_text = text.str();
            return report_text.find("stale") != std::string::npos;
          },
          2s);
    }
  }
  corral.signal(SIGCONT);
  ASSERT_TRUE(hello_exited) << "hello_worker still running 9 s after corral stopped";
  // kSupervisorStaleNs is 5 s, counted from corral's last beat (at most one
  // beat period, 1 s, before the stop).
  EXPECT_GE(waited, 3900ms);
  ASSERT_TRUE(stale_info) << "no /info from example_server";
  EXPECT_EQ((*stale_info)["corral"]["supervisor_alive"], false) << stale_info->dump();
  if (with_python) {
    EXPECT_NE(report_text.find("stale after"), std::string::npos) << report_text;
  }

  // Resumed: the C worker's exit is seen and it is replaced; the others
  // see the supervisor alive again.
  EXPECT_TRUE(corral.find_or_wait(R"(\[w0 \d+ err\] hello_worker: drained, exiting)"))
      << corral.output();
  EXPECT_TRUE(
      corral.find_or_wait("worker 0 \\(pid " + std::to_string(hello) + "\\) exited with code 0"))
      << corral.output();
  EXPECT_TRUE(corral.find_or_wait(R"(\[w1 \d+ err\] example_server: corral's heartbeat is stale)"))
      << corral.output();
  EXPECT_TRUE(corral.find_or_wait(
      R"(\[w1 \d+ err\] example_server: corral's heartbeat is fresh again)", 3s))
      << corral.output();
  EXPECT_TRUE(eventually(
      [&] {
        auto again = info_json(es_port);
        return again && (*again)["corral"]["supervisor_alive"] == true;
      },
      3s));
  if (with_python) {
    EXPECT_TRUE(eventually(
        [&] {
          std::ifstream in(report);
          std::stringstream text;
          text << in.rdbuf();
          return text.str().find("alive after") != std::string::npos;
        },
        3s))
        << report;
  }
  const auto stop = Clock::now();
  corral.signal(SIGTERM);
  EXPECT_EQ(corral.wait_exit(5s), 0) << corral.output();
  EXPECT_LT(since(stop), 5000ms);
}

}  // namespace
}  // namespace corral::testing
