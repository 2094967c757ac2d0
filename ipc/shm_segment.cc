#include "ipc/shm_segment.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/permissions.hpp>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace corral::ipc {
namespace bip = boost::interprocess;
namespace {

constexpr std::string_view kPrefix = "corral-";

// The supervisor's slot numbers come from its own table: a bad one is a bug
// in corral, not input, so it stops loudly (STYLE.md, two tiers of errors).
[[noreturn]] void bad_slot(const char* method, int slot, int count) {
  std::fprintf(stderr, "corral: ShmSegment::%s(slot %d) outside 0..%d\n", method, slot, count - 1);
  std::abort();
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 200) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Error name_error(std::string_view name) {
  return Error{"shared memory: name '" + std::string(name) +
               "' must be 1..200 letters, digits, '.', '_' or '-'"};
}

// "corral-NAME-PID" (as /dev/shm lists it) -> PID, or 0 if the entry is not
// one of NAME's segments. "corral-web-2-77" is not a segment of "web": its
// tail "2-77" is not a number.
pid_t segment_pid(std::string_view entry, std::string_view name) {
  if (!entry.starts_with(kPrefix)) return 0;
  entry.remove_prefix(kPrefix.size());
  if (!entry.starts_with(name)) return 0;
  entry.remove_prefix(name.size());
  if (!entry.starts_with('-')) return 0;
  entry.remove_prefix(1);
  int pid = 0;
  auto [ptr, ec] = std::from_chars(entry.data(), entry.data() + entry.size(), pid);
  if (entry.empty() || ec != std::errc() || ptr != entry.data() + entry.size() || pid <= 0) {
    return 0;
  }
  return pid;
}

bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

Result<ShmSegment> ShmSegment::create(std::string_view name, int slots) {
  if (!valid_name(name)) return name_error(name);
  if (slots < 1 || slots > static_cast<int>(kMaxSlots)) {
    return Error{"shared memory: " + std::to_string(slots) + " slots is outside 1.." +
                 std::to_string(kMaxSlots)};
  }
  ShmSegment seg;
  std::string shm_name =
      "/" + std::string(kPrefix) + std::string(name) + "-" + std::to_string(::getpid());
  try {
    bip::permissions owner_only(0600);
    try {
      seg.shm_ = bip::shared_memory_object(bip::create_only, shm_name.c_str(), bip::read_write,
                                           owner_only);
    } catch (const bip::interprocess_exception& e) {
      if (e.get_error_code() != bip::already_exists_error) throw;
      // Our pid is in the name and we did not create it: a dead process that
      // had our pid left it behind.
      bip::shared_memory_object::remove(shm_name.c_str());
      seg.shm_ = bip::shared_memory_object(bip::create_only, shm_name.c_str(), bip::read_write,
                                           owner_only);
    }
    seg.name_ = shm_name;  // from here on, the destructor removes it
    seg.shm_.truncate(static_cast<bip::offset_t>(segment_size(static_cast<uint32_t>(slots))));
    seg.region_ = bip::mapped_region(seg.shm_, bip::read_write);
  } catch (const bip::interprocess_exception& e) {
    return Error{"shared memory " + shm_name + ": " + e.what()};
  }
  seg.capacity_ = static_cast<uint32_t>(slots);
  seg.last_heartbeat_ns_ = monotonic_now_ns();
  seg.write_header();
  return seg;
}

Result<std::vector<std::string>> ShmSegment::cleanup_stale(std::string_view name) {
  if (!valid_name(name)) return name_error(name);
  std::vector<std::string> removed;
  DIR* dir = ::opendir("/dev/shm");  // glibc opens it O_CLOEXEC
  if (dir == nullptr) {
    if (errno == ENOENT) return removed;
    return Error{std::string("shared memory: cannot list /dev/shm: ") + std::strerror(errno)};
  }
  // Collect first, unlink after: unlinking while reading a directory may
  // make readdir skip or repeat entries.
  std::vector<std::string> stale;
  while (const dirent* e = ::readdir(dir)) {
    pid_t pid = segment_pid(e->d_name, name);
    if (pid == 0 || pid == ::getpid() || process_alive(pid)) continue;
    stale.push_back(std::string("/") + e->d_name);
  }
  ::closedir(dir);
  for (const std::string& s : stale) {
    // Fails for other users' segments (/dev/shm is sticky): those stay.
    if (bip::shared_memory_object::remove(s.c_str())) removed.push_back(s);
  }
  return removed;
}

ShmSegment::ShmSegment(ShmSegment&& other) noexcept { *this = std::move(other); }

ShmSegment& ShmSegment::operator=(ShmSegment&& other) noexcept {
  if (this != &other) {
    remove();
    name_ = std::exchange(other.name_, std::string());
    shm_ = std::move(other.shm_);
    region_ = std::move(other.region_);
    books_ = std::move(other.books_);
    capacity_ = other.capacity_;
    last_heartbeat_ns_ = other.last_heartbeat_ns_;
    size_problem_ = std::move(other.size_problem_);
  }
  return *this;
}

ShmSegment::~ShmSegment() { remove(); }

void ShmSegment::remove() {
  if (name_.empty()) return;  // moved from
  region_ = bip::mapped_region();
  shm_ = bip::shared_memory_object();
  bip::shared_memory_object::remove(name_.c_str());
  name_.clear();
}

SegmentHeader& ShmSegment::header() { return *static_cast<SegmentHeader*>(region_.get_address()); }

SlotBook& ShmSegment::book(int slot) {
  // Books grow with the highest slot used: a segment sized for thousands of
  // workers costs the supervisor nothing until they exist.
  const auto index = static_cast<std::size_t>(slot);
  if (index >= books_.size()) books_.resize(index + 1);
  return books_[index];
}

SlotRecord& ShmSegment::record(int slot) {
  auto* base = static_cast<unsigned char*>(region_.get_address()) + kSlotsOffset;
  return reinterpret_cast<SlotRecord*>(base)[slot];
}

void ShmSegment::write_header() {
  SegmentHeader& h = header();
  h.layout_version.store(kLayoutVersion, std::memory_order_relaxed);
  h.slot_count.store(capacity_, std::memory_order_relaxed);
  h.record_size.store(sizeof(SlotRecord), std::memory_order_relaxed);
  h.slots_offset.store(kSlotsOffset, std::memory_order_relaxed);
  h.supervisor_pid.store(static_cast<uint32_t>(::getpid()), std::memory_order_relaxed);
  h.reserved0.store(0, std::memory_order_relaxed);
  h.supervisor_heartbeat_ns.store(last_heartbeat_ns_, std::memory_order_relaxed);
  h.reserved1.store(0, std::memory_order_relaxed);
  h.reserved2.store(0, std::memory_order_relaxed);
  h.reserved3.store(0, std::memory_order_relaxed);
  // Last, with release: whoever sees the magic sees a complete header.
  h.magic.store(kMagic, std::memory_order_release);
}

uint64_t ShmSegment::assign_slot(int slot, uint64_t now_ns) {
  if (slot < 0 || slot >= slot_count()) bad_slot("assign_slot", slot, slot_count());
  SlotBook& b = book(slot);
  // The generation comes from our book, not the segment, which a worker
  // may have overwritten.
  uint64_t generation = b.generation + 1;
  b = SlotBook{.assigned = true,
                  .generation = generation,
                  .pid = 0,
                  .drain_requested = false,
                  .assigned_at_ns = now_ns,
                  .requests_seen = 0};

  // The slot is vacant (its previous worker was reaped), so writing the
  // worker's fields here does not race with a worker; forking the next one
  // orders these stores before anything it does.
  if (!writable()) return generation;  // the worker will not attach; read_slot says why
  SlotRecord& r = record(slot);
  r.attached_generation.store(0, std::memory_order_relaxed);
  r.state.store(static_cast<uint32_t>(WorkerState::kStarting), std::memory_order_relaxed);
  r.reserved0.store(0, std::memory_order_relaxed);
  r.heartbeat_ns.store(0, std::memory_order_relaxed);
  r.requests_total.store(0, std::memory_order_relaxed);
  r.in_flight.store(0, std::memory_order_relaxed);
  r.reserved1.store(0, std::memory_order_relaxed);
  r.pid.store(0, std::memory_order_relaxed);
  r.drain_requested.store(0, std::memory_order_relaxed);
  r.generation.store(generation, std::memory_order_release);
  return generation;
}

void ShmSegment::set_slot_pid(int slot, pid_t pid) {
  if (slot < 0 || slot >= slot_count()) bad_slot("set_slot_pid", slot, slot_count());
  book(slot).pid = static_cast<uint32_t>(pid);
  if (!writable()) return;
  record(slot).pid.store(static_cast<uint32_t>(pid), std::memory_order_relaxed);
}

void ShmSegment::release_slot(int slot) {
  if (slot < 0 || slot >= slot_count()) bad_slot("release_slot", slot, slot_count());
  SlotBook& b = book(slot);
  b.assigned = false;
  b.pid = 0;
  b.drain_requested = false;
  if (!writable()) return;
  record(slot).pid.store(0, std::memory_order_relaxed);
  record(slot).drain_requested.store(0, std::memory_order_relaxed);
}

void ShmSegment::request_drain(int slot, bool requested) {
  if (slot < 0 || slot >= slot_count()) bad_slot("request_drain", slot, slot_count());
  book(slot).drain_requested = requested;
  if (!writable()) return;
  record(slot).drain_requested.store(requested ? 1 : 0, std::memory_order_release);
}

void ShmSegment::heartbeat(uint64_t now_ns) {
  last_heartbeat_ns_ = now_ns;
  if (!writable()) return;
  header().supervisor_heartbeat_ns.store(now_ns, std::memory_order_relaxed);
}

bool ShmSegment::size_intact() {
  bip::offset_t size = 0;
  return shm_.get_size(size) && size >= 0 &&
         static_cast<std::size_t>(size) == segment_size(capacity_);
}

bool ShmSegment::writable() {
  if (size_intact()) return true;
  bip::offset_t size = 0;
  (void)shm_.get_size(size);
  const std::size_t want = segment_size(capacity_);
  if (!size_problem_) {
    size_problem_ =
        "size: the segment is " + std::to_string(size) + " bytes, not " + std::to_string(want);
  }
  try {
    shm_.truncate(static_cast<bip::offset_t>(want));
  } catch (const bip::interprocess_exception&) {
    return false;  // check_and_repair_header() tries again and reports why
  }
  return size_intact();
}

SlotSnapshot ShmSegment::read_slot(int slot, uint64_t now_ns) {
  if (slot < 0 || slot >= slot_count()) bad_slot("read_slot", slot, slot_count());
  SlotBook& b = book(slot);
  if (!b.assigned) return SlotSnapshot{};
  // A segment a worker truncated would fault (SIGBUS) when read: look at its
  // size first, and leave the bytes alone until check_and_repair_header()
  // has restored it.
  if (!size_intact()) {
    SlotSnapshot s;
    s.status = SlotStatus::kCorrupt;
    s.generation = b.generation;
    s.problem = "size: the segment was resized";
    return s;
  }
  SlotSnapshot s = validate_slot(load_slot(record(slot)), b, now_ns);
  if (s.status == SlotStatus::kOk) b.requests_seen = s.requests_total;
  return s;
}

std::optional<std::string> ShmSegment::check_and_repair_header() {
  // A truncation that a write already undid (writable()) is reported here.
  std::optional<std::string> problem = std::exchange(size_problem_, std::nullopt);
  const std::size_t want = segment_size(capacity_);
  if (!size_intact()) {
    bip::offset_t size = 0;
    (void)shm_.get_size(size);
    problem =
        "size: the segment is " + std::to_string(size) + " bytes, not " + std::to_string(want);
    try {
      // Bytes the truncation dropped come back as zeros; the slots they
      // held will read as corrupt, and their workers get replaced.
      shm_.truncate(static_cast<bip::offset_t>(want));
    } catch (const bip::interprocess_exception& e) {
      return *problem + "; cannot restore it: " + e.what();
    }
  }
  if (!problem) {
    RawHeader h = load_header(header());
    const uint32_t slots = capacity_;
    const uint32_t pid = static_cast<uint32_t>(::getpid());
    auto differs = [&](const char* field, uint64_t seen, uint64_t want_value) {
      if (!problem && seen != want_value) {
        problem = std::string(field) + ": the segment says " + std::to_string(seen) +
                  ", the supervisor wrote " + std::to_string(want_value);
      }
    };
    differs("magic", h.magic, kMagic);
    differs("layout_version", h.layout_version, kLayoutVersion);
    differs("slot_count", h.slot_count, slots);
    differs("record_size", h.record_size, sizeof(SlotRecord));
    differs("slots_offset", h.slots_offset, kSlotsOffset);
    differs("supervisor_pid", h.supervisor_pid, pid);
    differs("reserved0", h.reserved0, 0);
    differs("supervisor_heartbeat_ns", h.supervisor_heartbeat_ns, last_heartbeat_ns_);
    differs("reserved1", h.reserved1, 0);
    differs("reserved2", h.reserved2, 0);
    differs("reserved3", h.reserved3, 0);
  }
  if (problem) write_header();
  return problem;
}

Status ShmSegment::give_to(uid_t uid, gid_t gid) {
  if (::fchown(shm_.get_mapping_handle().handle, uid, gid) != 0) {
    return Error{"shared memory " + name_ + ": chown to " + std::to_string(uid) + ":" +
                 std::to_string(gid) + ": " + std::strerror(errno)};
  }
  return Ok{};
}

}  // namespace corral::ipc
