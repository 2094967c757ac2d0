// A worker can write anything into the shared memory segment (it has the
// slot page mapped writable, and the same uid may map the rest). The
// supervisor reads the header and each slot through validation: on any
// bytes, validation must never crash, and whatever it accepts must be in
// range and consistent with what the supervisor itself assigned.
//
// Input: a 64-byte header image, a 64-byte slot record image, then the
// supervisor's side — its book for the slot, its clock and the segment's
// size — from the following bytes (zeros when the input is shorter).
#include <cstring>
#include <string>

#include "fuzz/entries.h"
#include "fuzz/fuzz_check.h"
#include "ipc/header_check.h"
#include "ipc/shm_layout.h"
#include "ipc/slot_validation.h"

namespace corral::fuzz {
namespace {

// Reads fixed-size integers from the front of the input, zero past its end.
class Bytes {
 public:
  Bytes(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  void copy(void* out, size_t n) {
    std::memset(out, 0, n);
    const size_t have = pos_ < size_ ? std::min(n, size_ - pos_) : 0;
    if (have > 0) std::memcpy(out, data_ + pos_, have);
    pos_ += n;
  }
  template <typename T>
  T take() {
    T v;
    copy(&v, sizeof v);
    return v;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

void check_header(const ipc::SegmentHeader& image, size_t segment_bytes) {
  const ipc::RawHeader h = ipc::load_header(image);
  const auto why = ipc::layout_mismatch(h, segment_bytes);
  if (why) {
    static constexpr const char* kFields[] = {
        "magic: ", "layout_version: ", "record_size: ", "slots_offset: ", "slot_count: ", "size: "};
    bool named = false;
    for (const char* f : kFields) named = named || why->starts_with(f);
    FUZZ_CHECK(named, "refusal without a field name: " + *why);
    return;
  }
  // Accepted: a worker may index slots 0..slot_count-1 inside the segment.
  FUZZ_CHECK(h.magic == ipc::kMagic && h.layout_version == ipc::kLayoutVersion &&
                 h.record_size == sizeof(ipc::SlotRecord) && h.slots_offset == ipc::kSlotsOffset,
             std::string("accepted a foreign layout"));
  FUZZ_CHECK(h.slot_count >= 1 && h.slot_count <= ipc::kMaxSlots,
             "accepted slot_count " + std::to_string(h.slot_count));
  FUZZ_CHECK(size_t{h.slots_offset} + size_t{h.slot_count} * h.record_size <= segment_bytes,
             "accepted slots beyond the segment's " + std::to_string(segment_bytes) + " bytes");
}

void check_slot(const ipc::RawSlot& raw, const ipc::SlotBook& book, uint64_t now) {
  const ipc::SlotSnapshot s = ipc::validate_slot(raw, book, now);
  if (!book.assigned) {
    FUZZ_CHECK(s.status == ipc::SlotStatus::kFree, "an unassigned slot is not free");
    return;
  }
  FUZZ_CHECK(s.generation == book.generation, std::string("generation not the book's"));
  switch (s.status) {
    case ipc::SlotStatus::kFree:
      violated("assigned slot read as free", __FILE__, __LINE__, "");
    case ipc::SlotStatus::kCorrupt:
      FUZZ_CHECK(s.problem.find(": ") != std::string::npos && s.problem.find(':') > 0,
                 "problem without a field name: " + s.problem);
      return;
    case ipc::SlotStatus::kNotAttached:
    case ipc::SlotStatus::kStale:
      // The supervisor's own fields were checked even so.
      FUZZ_CHECK(raw.generation == book.generation && raw.pid == book.pid,
                 std::string("supervisor's fields unchecked"));
      return;
    case ipc::SlotStatus::kOk:
      break;
  }
  const std::string state = std::to_string(raw.state);
  FUZZ_CHECK(raw.generation == book.generation && raw.pid == book.pid &&
                 raw.drain_requested == (book.drain_requested ? 1u : 0u),
             std::string("accepted a slot whose supervisor fields differ from the book"));
  FUZZ_CHECK(raw.attached_generation == book.generation, std::string("accepted a stale attach"));
  FUZZ_CHECK(static_cast<uint32_t>(s.state) >= ipc::kFirstState &&
                 static_cast<uint32_t>(s.state) <= ipc::kLastState,
             "accepted state " + state);
  FUZZ_CHECK(s.requests_total <= ipc::kMaxRequestsTotal && s.requests_total >= book.requests_seen,
             "accepted requests_total " + std::to_string(s.requests_total));
  FUZZ_CHECK(s.in_flight <= ipc::kMaxInFlight, "accepted in_flight " + std::to_string(s.in_flight));
  FUZZ_CHECK(s.heartbeat_ns.has_value() == (raw.heartbeat_ns != 0), std::string("heartbeat 0"));
  if (s.heartbeat_ns) {
    FUZZ_CHECK(*s.heartbeat_ns <= now || *s.heartbeat_ns - now <= ipc::kHeartbeatFutureToleranceNs,
               "accepted a heartbeat far in the future: " + std::to_string(*s.heartbeat_ns));
  }
}

}  // namespace

int fuzz_shm(const uint8_t* data, size_t size) {
  Bytes in(data, size);
  // Aligned storage, as in the mapping; the records hold only atomics of
  // plain integers, whose object representation is their bytes.
  alignas(ipc::SegmentHeader) unsigned char header_bytes[sizeof(ipc::SegmentHeader)];
  alignas(ipc::SlotRecord) unsigned char slot_bytes[sizeof(ipc::SlotRecord)];
  in.copy(header_bytes, sizeof header_bytes);
  in.copy(slot_bytes, sizeof slot_bytes);
  const auto* header = reinterpret_cast<const ipc::SegmentHeader*>(header_bytes);
  const auto* record = reinterpret_cast<const ipc::SlotRecord*>(slot_bytes);

  // The segment's size: near the one the header's slot count needs, or any.
  const auto flags = in.take<uint8_t>();
  const auto size_delta = in.take<int16_t>();
  const ipc::RawHeader h = ipc::load_header(*header);
  size_t segment_bytes =
      (flags & 1) ? ipc::segment_size(h.slot_count) + size_delta : in.take<uint32_t>();
  check_header(*header, segment_bytes);

  // The supervisor's book: by default consistent with the record's
  // supervisor fields (as it is unless a worker overwrote them), so the
  // fuzzer reaches the worker fields' checks; flags break the agreement.
  ipc::RawSlot raw = ipc::load_slot(*record);
  ipc::SlotBook book;
  book.assigned = !(flags & 2);
  book.generation = (flags & 4) ? in.take<uint64_t>() : raw.generation;
  book.pid = (flags & 8) ? in.take<uint32_t>() : raw.pid;
  book.drain_requested = (flags & 16) ? !raw.drain_requested : raw.drain_requested != 0;
  book.assigned_at_ns = in.take<uint64_t>();
  book.requests_seen = in.take<uint64_t>();
  // A worker attaching between validation's two loads of attached_generation.
  if (flags & 32) raw.attached_generation_after = in.take<uint64_t>();
  const auto now = in.take<uint64_t>();
  check_slot(raw, book, now);
  return 0;
}

}  // namespace corral::fuzz
