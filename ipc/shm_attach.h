// The worker's side of the segment: open it by name (CORRAL_SHM), check that
// it speaks our layout before touching anything else, and map only what a
// worker needs — the header read-only, its own slot's page writable — so a
// stray write in the worker cannot reach the header. Attaching claims the
// slot for the current generation: a second process (say, a child that
// inherited the environment) is refused instead of writing alongside.
#pragma once

#include <boost/interprocess/mapped_region.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "ipc/shm_layout.h"

namespace corral::ipc {

enum class AttachFailure {
  kNotSupervised,   // CORRAL_SHM is unset: not run by corral; not an error
  kBadEnvironment,  // CORRAL_SHM or CORRAL_SLOT is malformed
  kCannotOpen,      // the segment cannot be opened or mapped (gone, permissions)
  kWrongLayout,     // magic, layout version, record size, offset or size differ
  kBadSlot,         // slot out of range, or not prepared by the supervisor
  kSlotTaken,       // another process already attached to this worker's slot
};

struct AttachError {
  AttachFailure failure;
  std::string message;  // for a log line; names the segment and the reason
};

// Move-only; the mappings live as long as the object. Thread-safe to use
// from many threads once constructed (everything it exposes is atomic).
class ShmAttachment {
 public:
  using Outcome = std::variant<ShmAttachment, AttachError>;

  // `name` as in CORRAL_SHM ("/corral-web-1234"), `slot` as in CORRAL_SLOT.
  static Outcome open(const std::string& name, std::string_view slot);
  // Reads CORRAL_SHM and CORRAL_SLOT.
  static Outcome open_from_environment();

  ShmAttachment(ShmAttachment&&) noexcept = default;
  ShmAttachment& operator=(ShmAttachment&&) noexcept = default;

  const SegmentHeader& header() const { return *header_; }
  SlotRecord& slot() const { return *slot_; }
  uint32_t slot_index() const { return slot_index_; }
  uint64_t generation() const { return generation_; }
  const std::string& name() const { return name_; }

 private:
  ShmAttachment() = default;

  boost::interprocess::mapped_region header_map_;  // read-only
  boost::interprocess::mapped_region slot_map_;    // read-write
  const SegmentHeader* header_ = nullptr;
  SlotRecord* slot_ = nullptr;
  uint32_t slot_index_ = 0;
  uint64_t generation_ = 0;
  std::string name_;
};

}  // namespace corral::ipc
