// The supervisor: one libuv loop that owns every worker slot, reacts to
// child exits, signals and timers, and performs what the pure policies
// (worker_lifecycle, restart_policy) decide. Runs on the main thread only.
#pragma once

#include <uv.h>

#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "config/config.h"
#include "ipc/shm_segment.h"
#include "supervisor/admin_server.h"
#include "supervisor/guardian.h"
#include "supervisor/health_policy.h"
#include "supervisor/listen_sockets.h"
#include "supervisor/notify_socket.h"
#include "supervisor/line_splitter.h"
#include "supervisor/output_pipe.h"
#include "supervisor/restart_policy.h"
#include "supervisor/uv_handle.h"
#include "supervisor/worker_lifecycle.h"

namespace corral::supervisor {

// Where the admin socket of this configuration lives ([admin] socket, or
// the default in corral's runtime directory); clients compute the same.
std::string admin_socket_path(const config::Config& config);

class Supervisor {
 public:
  Supervisor(config::Config config, ListenSockets sockets, int worker_count,
             std::shared_ptr<spdlog::logger> log);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts the workers and runs until the service stops. Returns the
  // process exit code (0 clean stop, 1 every worker gave up).
  int run();

 private:
  struct Slot {
    int id = 0;
    WorkerState state = WorkerState::kStopped;
    pid_t pid = 0;
    TimePoint started{};
    RestartTracker restarts;
    std::unique_ptr<OutputPipe> out;
    std::unique_ptr<OutputPipe> err;
    RecentLines stderr_tail;
    UvHandle<uv_timer_t> timer;  // restart backoff, or the ready delay
    UvHandle<uv_timer_t> kill_timer;  // SIGKILL after hang_signal's grace
    std::string last_exit;
    // Health, as of this process: reset at each spawn.
    std::optional<TimePoint> last_heartbeat;
    std::optional<TimePoint> stopped_since;
    std::string status;        // the worker's last STATUS=
    std::string kill_reason;   // why corral killed it ("hung", "not ready"), for the exit log
    // What the worker last published through the library (if it links it).
    uint64_t requests_total = 0;
    uint64_t in_flight = 0;
    // The previous CPU reading, for CPU % between two status requests.
    std::optional<std::pair<TimePoint, double>> cpu_sample;
    Slot(int slot_id, const config::RestartConfig& rc) : id(slot_id), restarts(rc) {}
  };

  void install_signal(int signum);
  Status start_notify_socket();
  // The admin socket (supervisor_admin.cc).
  Status start_admin_socket();
  std::string on_admin_request(const ipc::admin::Request& request);
  nlohmann::json status_json();
  void start_shared_memory();
  void read_shared_memory(Slot& slot, TimePoint now);
  void on_notify(pid_t sender, const NotifyMessage& message);
  Slot* slot_of_process(pid_t pid);
  void check_health();
  void kill_unhealthy(Slot& slot, const HealthVerdict& verdict);
  void on_signal(int signum);
  void reap_children();
  void on_child_exited(Slot& slot, int wait_status);
  void on_timer(Slot& slot);
  void on_drain_timeout();

  void perform(Slot& slot, Step step, const RestartDecision& decision);
  void spawn(Slot& slot);
  void start_output(Slot& slot, int* out_fd, int* err_fd);
  void stop_service(bool graceful, int exit_code);
  void kill_group(const Slot& slot);
  void check_finished();
  void quit(int exit_code);

  config::Config config_;
  ListenSockets sockets_;
  std::shared_ptr<spdlog::logger> log_;
  uv_loop_t loop_{};
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<UvHandle<uv_signal_t>> signals_;
  UvHandle<uv_timer_t> drain_timer_;
  UvHandle<uv_timer_t> health_timer_;
  std::unique_ptr<NotifySocket> notify_;
  std::optional<ipc::ShmSegment> shm_;
  std::optional<Guardian> guardian_;
  std::unique_ptr<AdminServer> admin_;
  TimePoint started_at_ = Clock::now();  // absent if it could not be created
  std::vector<std::string> inherited_env_;
  std::mt19937_64 rng_;
  bool stopping_ = false;
  bool quitting_ = false;
  int exit_code_ = 0;
};

}  // namespace corral::supervisor
