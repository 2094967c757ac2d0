// The one test that decides whether a mapped segment speaks our layout, as
// Envoy's hot restart compares its shared-memory version string: used by a
// worker before it touches anything else, and by the supervisor to notice a
// header a worker overwrote.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "ipc/shm_layout.h"

namespace corral::ipc {

// A header as loaded: each field read once.
struct RawHeader {
  uint64_t magic = 0;
  uint32_t layout_version = 0;
  uint32_t slot_count = 0;
  uint32_t record_size = 0;
  uint32_t slots_offset = 0;
  uint32_t supervisor_pid = 0;
  uint32_t reserved0 = 0;
  uint64_t supervisor_heartbeat_ns = 0;
  uint64_t reserved1 = 0;
  uint64_t reserved2 = 0;
  uint64_t reserved3 = 0;
};

RawHeader load_header(const SegmentHeader& header);

// Why a segment of `segment_bytes` bytes with this header is not one this
// build can use, or nullopt when it is. Messages start with the field's name
// ("layout_version: ...").
std::optional<std::string> layout_mismatch(const RawHeader& header, std::size_t segment_bytes);

}  // namespace corral::ipc
