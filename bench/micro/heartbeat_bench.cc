// What one heartbeat costs a worker: corral's (an atomic store into shared
// memory, through libcorral-worker) against gunicorn's (touching a temp
// file: fchmod in gunicorn <= 19, utime since). Run by bench/heartbeat.sh.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>

#include "corral/worker.h"
#include "ipc/shm_segment.h"

namespace {

// A real segment, as corral creates it, and this process attached to slot 0.
struct Attached {
  std::optional<corral::ipc::ShmSegment> segment;
  Attached() {
    auto s = corral::ipc::ShmSegment::create("heartbeat-bench", 1);
    if (!s) {
      std::fprintf(stderr, "cannot create the segment: %s\n", s.error().message.c_str());
      std::exit(1);
    }
    segment.emplace(std::move(*s));
    segment->assign_slot(0);
    segment->set_slot_pid(0, ::getpid());
    ::setenv("CORRAL_SHM", segment->name().c_str(), 1);
    ::setenv("CORRAL_SLOT", "0", 1);
    if (corral_attach() != CORRAL_OK) {
      std::fprintf(stderr, "corral_attach failed\n");
      std::exit(1);
    }
  }
};

Attached& attached() {
  static Attached a;  // one attachment per process, as in a real worker
  return a;
}

void BM_CorralHeartbeat(benchmark::State& state) {
  attached();
  for (auto _ : state) benchmark::DoNotOptimize(corral_heartbeat());
}
BENCHMARK(BM_CorralHeartbeat)->ThreadRange(1, 2);

struct TempFile {
  std::string path = "/tmp/corral-hb-XXXXXX";
  int fd = ::mkstemp(path.data());
  ~TempFile() {
    ::close(fd);
    ::unlink(path.c_str());
  }
};

// gunicorn >= 20: os.utime() of the worker's temp file on every beat.
void BM_GunicornUtime(benchmark::State& state) {
  TempFile file;
  for (auto _ : state) benchmark::DoNotOptimize(::futimens(file.fd, nullptr));
}
BENCHMARK(BM_GunicornUtime);

// gunicorn <= 19: os.fchmod() flipping the mode's spinner bit.
void BM_GunicornFchmod(benchmark::State& state) {
  TempFile file;
  mode_t spinner = 0;
  for (auto _ : state) {
    spinner = spinner == 0 ? 1 : 0;
    benchmark::DoNotOptimize(::fchmod(file.fd, spinner));
  }
}
BENCHMARK(BM_GunicornFchmod);

}  // namespace

BENCHMARK_MAIN();
