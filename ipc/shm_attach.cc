#include "ipc/shm_attach.h"

#include <unistd.h>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <charconv>
#include <cstdlib>

#include "ipc/header_check.h"

namespace corral::ipc {
namespace bip = boost::interprocess;
namespace {

AttachError fail(AttachFailure f, const std::string& name, const std::string& why) {
  return AttachError{f, "corral segment " + name + ": " + why};
}

// POSIX shared memory names: one leading slash, no other, at most NAME_MAX.
bool valid_shm_name(const std::string& name) {
  return name.size() >= 2 && name.size() <= 255 && name[0] == '/' &&
         name.find('/', 1) == std::string::npos;
}

}  // namespace

ShmAttachment::Outcome ShmAttachment::open(const std::string& name, std::string_view slot_text) {
  if (!valid_shm_name(name)) {
    return fail(AttachFailure::kBadEnvironment, "'" + name + "'",
                "CORRAL_SHM is not a shared memory name (/NAME)");
  }
  uint32_t slot = 0;
  const char* end = slot_text.data() + slot_text.size();
  auto [ptr, ec] = std::from_chars(slot_text.data(), end, slot);
  if (slot_text.empty() || ec != std::errc() || ptr != end) {
    return fail(AttachFailure::kBadEnvironment, name,
                "CORRAL_SLOT '" + std::string(slot_text) + "' is not a slot number");
  }

  try {
    // shm_open sets FD_CLOEXEC itself; the descriptor is closed when this
    // function returns (the mappings outlive it), so it leaks nowhere.
    bip::shared_memory_object shm(bip::open_only, name.c_str(), bip::read_write);
    bip::offset_t size = 0;
    if (!shm.get_size(size) || size < 0) {
      return fail(AttachFailure::kCannotOpen, name, "cannot read its size");
    }
    if (static_cast<std::size_t>(size) < sizeof(SegmentHeader)) {
      return fail(AttachFailure::kWrongLayout, name,
                  "size: " + std::to_string(size) + " bytes is smaller than a header");
    }

    ShmAttachment a;
    a.name_ = name;
    a.header_map_ = bip::mapped_region(shm, bip::read_only, 0, sizeof(SegmentHeader));
    a.header_ = static_cast<const SegmentHeader*>(a.header_map_.get_address());
    RawHeader header = load_header(*a.header_);
    if (auto why = layout_mismatch(header, static_cast<std::size_t>(size))) {
      return fail(AttachFailure::kWrongLayout, name, *why);
    }
    if (slot >= header.slot_count) {
      return fail(AttachFailure::kBadSlot, name,
                  "slot " + std::to_string(slot) + " is outside 0.." +
                      std::to_string(header.slot_count - 1));
    }

    // mapped_region rounds the offset down to a page and hides the rounding.
    a.slot_map_ = bip::mapped_region(shm, bip::read_write, kSlotsOffset + slot * sizeof(SlotRecord),
                                     sizeof(SlotRecord));
    a.slot_ = static_cast<SlotRecord*>(a.slot_map_.get_address());
    a.slot_index_ = slot;

    // The supervisor prepared the slot (generation, attached_generation = 0)
    // before forking us, so these loads see its stores.
    SlotRecord& rec = *a.slot_;
    a.generation_ = rec.generation.load(std::memory_order_acquire);
    if (a.generation_ == 0) {
      return fail(AttachFailure::kBadSlot, name,
                  "slot " + std::to_string(slot) + " was never prepared by the supervisor");
    }
    // Claim the slot: 0 -> generation, once. The compare-and-swap makes two
    // processes racing for one slot end with exactly one owner.
    uint64_t expected = 0;
    if (!rec.attached_generation.compare_exchange_strong(expected, a.generation_,
                                                         std::memory_order_acq_rel)) {
      // Attaching again from the worker itself (it re-executed, or opened a
      // second attachment) is fine: the supervisor's pid field names us.
      bool same_worker = expected == a.generation_ && rec.pid.load(std::memory_order_relaxed) ==
                                                          static_cast<uint32_t>(::getpid());
      if (!same_worker) {
        return fail(AttachFailure::kSlotTaken, name,
                    expected == a.generation_
                        ? "slot " + std::to_string(slot) +
                              " is already attached by another process of this worker (a child "
                              "that inherited CORRAL_SHM?)"
                        : "slot " + std::to_string(slot) + " holds generation " +
                              std::to_string(expected) + "'s attachment, not " +
                              std::to_string(a.generation_) + "'s");
      }
    }
    return a;
  } catch (const bip::interprocess_exception& e) {
    return fail(AttachFailure::kCannotOpen, name, e.what());
  }
}

ShmAttachment::Outcome ShmAttachment::open_from_environment() {
  const char* name = std::getenv("CORRAL_SHM");
  if (name == nullptr || *name == '\0') {
    return AttachError{AttachFailure::kNotSupervised, "CORRAL_SHM is not set: not run by corral"};
  }
  const char* slot = std::getenv("CORRAL_SLOT");
  if (slot == nullptr) {
    return fail(AttachFailure::kBadEnvironment, name, "CORRAL_SHM is set but CORRAL_SLOT is not");
  }
  return open(name, slot);
}

}  // namespace corral::ipc
