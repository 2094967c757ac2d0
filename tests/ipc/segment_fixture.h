// Helpers for tests that play both sides of a segment in one process: the
// supervisor's ShmSegment, a worker's ShmAttachment, and a hostile writer's
// raw view of every byte.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cstddef>
#include <string>

#include "ipc/shm_attach.h"
#include "ipc/shm_segment.h"

namespace corral::ipc::testing {

// A NAME no other test (or test process) uses.
inline std::string unique_name() {
  static std::atomic<int> counter{0};
  return "t" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

inline ShmSegment make_segment(int slots) {
  auto seg = ShmSegment::create(unique_name(), slots);
  if (!seg.ok()) ADD_FAILURE() << seg.error().message;
  return std::move(seg).value();
}

inline ShmAttachment attach(const ShmSegment& seg, int slot) {
  auto outcome = ShmAttachment::open(seg.name(), std::to_string(slot));
  if (auto* e = std::get_if<AttachError>(&outcome)) {
    ADD_FAILURE() << "attach: " << e->message;
    std::abort();
  }
  return std::move(std::get<ShmAttachment>(outcome));
}

// Every byte of the segment, writable, as a hostile worker could map it.
class RawView {
 public:
  explicit RawView(const std::string& name) {
    namespace bip = boost::interprocess;
    bip::shared_memory_object shm(bip::open_only, name.c_str(), bip::read_write);
    region_ = bip::mapped_region(shm, bip::read_write);
  }
  unsigned char* bytes() { return static_cast<unsigned char*>(region_.get_address()); }
  std::size_t size() const { return region_.get_size(); }

 private:
  boost::interprocess::mapped_region region_;
};

}  // namespace corral::ipc::testing
