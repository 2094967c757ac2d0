#include "ipc/header_check.h"

#include <cinttypes>
#include <cstdio>

namespace corral::ipc {
namespace {

// No fmt here: this file is also compiled into libcorral-worker, which links
// nothing but the C and C++ runtimes.
std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016" PRIx64, v);
  return buf;
}

}  // namespace

RawHeader load_header(const SegmentHeader& h) {
  // Acquire on magic pairs with the release store that publishes a new
  // segment: a reader that sees the magic sees the fields stored before it.
  RawHeader r;
  r.magic = h.magic.load(std::memory_order_acquire);
  r.layout_version = h.layout_version.load(std::memory_order_relaxed);
  r.slot_count = h.slot_count.load(std::memory_order_relaxed);
  r.record_size = h.record_size.load(std::memory_order_relaxed);
  r.slots_offset = h.slots_offset.load(std::memory_order_relaxed);
  r.supervisor_pid = h.supervisor_pid.load(std::memory_order_relaxed);
  r.reserved0 = h.reserved0.load(std::memory_order_relaxed);
  r.supervisor_heartbeat_ns = h.supervisor_heartbeat_ns.load(std::memory_order_relaxed);
  r.reserved1 = h.reserved1.load(std::memory_order_relaxed);
  r.reserved2 = h.reserved2.load(std::memory_order_relaxed);
  r.reserved3 = h.reserved3.load(std::memory_order_relaxed);
  return r;
}

std::optional<std::string> layout_mismatch(const RawHeader& h, std::size_t segment_bytes) {
  using std::to_string;
  // Magic and version first: a segment of another version may lay out the
  // rest differently, so nothing after them means anything.
  if (h.magic != kMagic) {
    return "magic: " + hex(h.magic) + " is not a corral segment's (" + hex(kMagic) + ")";
  }
  if (h.layout_version != kLayoutVersion) {
    return "layout_version: the segment has layout " + to_string(h.layout_version) +
           ", this build speaks " + to_string(kLayoutVersion) +
           " (corral and libcorral-worker come from different releases)";
  }
  if (h.record_size != sizeof(SlotRecord)) {
    return "record_size: " + to_string(h.record_size) + " bytes, expected " +
           to_string(sizeof(SlotRecord));
  }
  if (h.slots_offset != kSlotsOffset) {
    return "slots_offset: " + to_string(h.slots_offset) + ", expected " + to_string(kSlotsOffset);
  }
  if (h.slot_count == 0 || h.slot_count > kMaxSlots) {
    return "slot_count: " + to_string(h.slot_count) + " is outside 1.." + to_string(kMaxSlots);
  }
  if (segment_bytes != segment_size(h.slot_count)) {
    return "size: the segment is " + to_string(segment_bytes) + " bytes, " +
           to_string(h.slot_count) + " slots need " + to_string(segment_size(h.slot_count));
  }
  return std::nullopt;
}

}  // namespace corral::ipc
