// The fuzz entries, one per parser of outside input. Each is called by its
// libFuzzer binary (<target>_fuzz.cc) and by the corpus replay test, and
// returns 0; a violated property traps (fuzz_check.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace corral::fuzz {

// config::load_toml, and to_toml's text loading back to an equal Config.
int fuzz_config(const uint8_t* data, size_t size);
// ipc::admin::parse_request (one request line), and the replies built from it.
int fuzz_admin(const uint8_t* data, size_t size);
// supervisor::parse_notify_message (one sd_notify datagram).
int fuzz_notify(const uint8_t* data, size_t size);
// ipc::layout_mismatch and ipc::validate_slot on header and slot images a
// hostile worker could write.
int fuzz_shm(const uint8_t* data, size_t size);
// config::parse_duration / parse_size and their format_* round trips.
int fuzz_duration(const uint8_t* data, size_t size);

}  // namespace corral::fuzz
