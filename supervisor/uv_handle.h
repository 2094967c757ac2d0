// Ownership of a libuv handle by a C++ object. libuv may still touch a
// handle after uv_close() until the close callback runs, so the handle's
// memory is released only there; the owner may go away at once.
#pragma once

#include <uv.h>

#include <memory>
#include <utility>

namespace corral::supervisor {

template <typename H>
class UvHandle {
 public:
  UvHandle() : h_(std::make_unique<H>()) {}
  ~UvHandle() { close(); }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;
  UvHandle(UvHandle&&) noexcept = default;
  UvHandle& operator=(UvHandle&& other) noexcept {
    if (this != &other) {
      close();
      h_ = std::move(other.h_);
    }
    return *this;
  }

  H* get() const { return h_.get(); }
  uv_handle_t* handle() const { return reinterpret_cast<uv_handle_t*>(h_.get()); }

  // Idempotent. Safe on a handle that was never initialised (type is 0).
  void close() {
    if (!h_) return;
    uv_handle_t* raw = handle();
    if (raw->type == UV_UNKNOWN_HANDLE || uv_is_closing(raw)) {
      if (raw->type == UV_UNKNOWN_HANDLE) h_.reset();
      else (void)h_.release();  // already closing: its callback frees it
      return;
    }
    (void)h_.release();
    uv_close(raw, [](uv_handle_t* closed) {
      std::unique_ptr<H> owned(reinterpret_cast<H*>(closed));
    });
  }

 private:
  std::unique_ptr<H> h_;
};

}  // namespace corral::supervisor
