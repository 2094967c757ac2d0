// The supervisor: one libuv loop that owns every worker slot, reacts to
// child exits, signals and timers, and performs what the pure policies
// (worker_lifecycle, restart_policy) decide. Runs on the main thread only.
#pragma once

#include <sys/resource.h>
#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "config/config.h"
#include "ipc/shm_segment.h"
#include "supervisor/admin_server.h"
#include "supervisor/metrics.h"
#include "supervisor/metrics_http.h"
#include "supervisor/autoscale_policy.h"
#include "supervisor/guardian.h"
#include "supervisor/health_policy.h"
#include "supervisor/hook_runner.h"
#include "supervisor/listen_sockets.h"
#include "supervisor/notify_socket.h"
#include "supervisor/orphan_tracker.h"
#include "supervisor/line_splitter.h"
#include "supervisor/output_pipe.h"
#include "supervisor/privileges.h"
#include "supervisor/restart_policy.h"
#include "supervisor/rolling_reload.h"
#include "supervisor/scale_policy.h"
#include "supervisor/service_notifier.h"
#include "supervisor/uv_handle.h"
#include "supervisor/worker_lifecycle.h"

namespace corral::supervisor {

// Where the admin socket of this configuration lives ([admin] socket, or
// the default in corral's runtime directory); clients compute the same.
std::string admin_socket_path(const config::Config& config);

// How many workers a configuration asks for: its count, or one per CPU this
// process may run on (taskset and cpusets respected).
int configured_worker_count(const config::Config& config);
// CPUs this process may run on (its affinity mask: taskset, cpusets), at least 1.
int usable_cpu_count();

class Supervisor {
 public:
  // Reads the configuration again for a reload: the file and the same
  // command-line overrides, validated as at startup.
  using ConfigSource = std::function<Result<config::Config>()>;

  Supervisor(config::Config config, ListenSockets sockets, int worker_count,
             std::shared_ptr<spdlog::logger> log);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Without one, a reload replaces the workers with the same configuration.
  void set_config_source(ConfigSource source) { config_source_ = std::move(source); }
  // The descriptor limit to give workers back when corral raised its own.
  void set_worker_nofile(std::optional<rlimit> limit) { worker_nofile_ = limit; }

  // Starts the workers and runs until the service stops. Returns the
  // process exit code (0 clean stop, 1 every worker gave up).
  int run();

 private:
  // One worker process, from fork to reap.
  struct Process {
    int id = 0;          // the worker id it serves (CORRAL_WORKER_ID)
    pid_t pid = 0;
    int shm_slot = -1;   // its record in shared memory; -1 without one
    TimePoint started{};
    std::unique_ptr<OutputPipe> out;
    std::unique_ptr<OutputPipe> err;
    RecentLines stderr_tail;
    UvHandle<uv_timer_t> kill_timer;  // SIGKILL after hang_signal's grace or a drain's timeout
    // Health, as of this process.
    std::optional<TimePoint> last_heartbeat;
    std::optional<TimePoint> stopped_since;
    std::string status;        // the worker's last STATUS=
    std::string kill_reason;   // why corral killed it ("hung", "not ready"), for the exit log
    // What the worker last published through the library (if it links it).
    uint64_t requests_total = 0;
    uint64_t in_flight = 0;
    // The previous CPU reading, for CPU % between two status requests.
    std::optional<std::pair<TimePoint, double>> cpu_sample;
    // What the load sampler saw last: the tree's CPU time and requests.
    bool publishes = false;  // attached to shared memory: requests, in-flight are real
    std::optional<std::pair<TimePoint, double>> tree_cpu;
    std::optional<std::pair<TimePoint, uint64_t>> requests_seen;
    uint64_t tree_rss = 0;
    std::optional<TimePoint> retired_at;  // when it was told to drain for good
  };

  // A worker id and what belongs to it across its processes.
  struct Slot {
    int id = 0;
    WorkerState state = WorkerState::kStopped;
    RestartTracker restarts;
    UvHandle<uv_timer_t> timer;  // restart backoff, or the ready delay
    std::string last_exit;
    std::unique_ptr<Process> proc;  // while has_process(state)
    // While `proc` replaces it (reload, restart ID): the old process, still
    // serving until `proc` is ready, and its state then.
    std::unique_ptr<Process> previous;
    WorkerState previous_state = WorkerState::kReady;
    std::vector<TimePoint> memory_replacements;  // recent ones, to report a leak
    Slot(int slot_id, const config::RestartConfig& rc) : id(slot_id), restarts(rc) {}
  };

  // A reload or a restart of one worker, under way.
  struct ActiveReload {
    RollingReload plan;
    std::string what;  // "reload", "restart of worker 2"
    TimePoint began;
    std::vector<AdminServer::Respond> waiters;
    std::optional<config::Config> previous_config;  // restored if it fails
    bool announced = false;  // RELOADING=1 was sent: READY=1 ends it
  };

  // Where a pid belongs.
  struct Found {
    Slot* slot = nullptr;     // its worker id's slot, if that still exists
    Process* proc = nullptr;
    enum class Role { kCurrent, kPrevious, kRetiring } role = Role::kCurrent;
  };

  void install_signal(int signum);
  Status start_notify_socket();
  // The admin socket (supervisor_admin.cc).
  Status start_admin_socket();
  void on_admin_request(const ipc::admin::Request& request, AdminServer::Respond respond);
  nlohmann::json status_json();
  nlohmann::json process_json(const Slot* slot, Process& proc, std::string_view state, TimePoint now);
  void start_shared_memory();
  int take_shm_slot();
  void read_shared_memory(Slot& slot, TimePoint now);
  void on_notify(pid_t sender, const NotifyMessage& message);
  Found find_process(pid_t pid);
  Found find_sender(pid_t pid);
  void start_health_timer();  // at start, and when a reload changes the timeouts
  void apply_config_timers();  // after a reload changed the configuration
  void check_health();
  std::string summary() const;  // one line for systemd's STATUS=
  void maybe_announce_ready();
  void poll_readiness();
  void kill_unhealthy(Slot& slot, const HealthVerdict& verdict);
  void on_signal(int signum);
  void reap_children();
  void on_child_exited(Slot& slot, int wait_status);
  void on_previous_exited(Slot& slot, int wait_status);
  void on_retiree_exited(Process& proc, int wait_status);
  std::string finish_process(Process& proc, int wait_status);
  void on_timer(Slot& slot);
  void on_drain_timeout();

  void perform(Slot& slot, Step step, const RestartDecision& decision);
  void mark_ready(Slot& slot);
  void spawn(Slot& slot);
  void start_output(Process& proc, int* out_fd, int* err_fd);
  void stop_service(bool graceful, int exit_code);
  void kill_group(pid_t pid);
  void check_finished();
  void quit(int exit_code);
  Slot* find_slot(int id);
  Slot& add_slot(int id);

  // Scaling and rolling replacement (supervisor_reload.cc).
  Result<ScaleOutcome> scale(const ScaleRequest& request, std::string_view why);
  void scale_to(int count);
  void retire(std::unique_ptr<Process> proc, std::string_view why);
  void release_socket_if_unused(int id);
  void start_reload(std::string what, std::vector<int> ids, AdminServer::Respond respond,
                    bool reread_config);
  void apply(ReloadSteps steps);
  void replace(int id);
  void roll_back(int id);
  void replacement_failed(Slot& slot, const std::string& why);
  void finish_reload(const std::optional<std::string>& error);

  // Load sampling, autoscaling and the memory limit (supervisor_autoscale.cc).
  void start_sampling();
  void sample_load();
  Limits machine_limits(std::optional<double> average_rss) const;
  void replace_for_memory(Slot& slot, uint64_t rss);
  nlohmann::json autoscale_json(TimePoint now) const;

  config::Config config_;
  ConfigSource config_source_;
  std::optional<rlimit> worker_nofile_;
  ListenSockets sockets_;
  std::shared_ptr<spdlog::logger> log_;
  uv_loop_t loop_{};
  std::vector<std::unique_ptr<Slot>> slots_;         // ids 0..n-1, in order
  std::vector<std::unique_ptr<Process>> retiring_;  // draining for good (reload, scale-down)
  std::optional<ActiveReload> reload_;
  bool pinned_ = false;  // the count was set by `corral scale`, not the configuration
  std::optional<Autoscaler> autoscaler_;
  UvHandle<uv_timer_t> sample_timer_;
  struct ScaleEvent {
    TimePoint at;
    std::string reason;
  };
  std::optional<ScaleEvent> last_scale_;
  int scale_events_ = 0;
  int memory_replacements_ = 0;
  std::vector<UvHandle<uv_signal_t>> signals_;
  UvHandle<uv_timer_t> drain_timer_;
  UvHandle<uv_timer_t> health_timer_;
  UvHandle<uv_timer_t> ready_poll_;  // shared memory, often, while a worker starts
  // corral's own service manager (systemd), when it has one.
  ServiceNotifier notifier_;
  UvHandle<uv_timer_t> watchdog_timer_;
  bool announced_ready_ = false;
  // What workers running as another user need to reach (privileges.h).
  std::optional<WorkerAccess> worker_access_;
  std::unique_ptr<NotifySocket> notify_;
  std::optional<ipc::ShmSegment> shm_;  // absent if it could not be created
  std::vector<bool> shm_slot_used_;
  std::optional<Guardian> guardian_;
  std::unique_ptr<AdminServer> admin_;
  Metrics metrics_;
  std::unique_ptr<HookRunner> hooks_;
  std::unique_ptr<OrphanTracker> orphans_;  // what workers leave behind
  std::unique_ptr<MetricsHttp> metrics_http_;
  TimePoint started_at_ = Clock::now();
  std::vector<std::string> inherited_env_;
  std::mt19937_64 rng_;
  bool stopping_ = false;
  bool quitting_ = false;
  int exit_code_ = 0;
};

}  // namespace corral::supervisor
