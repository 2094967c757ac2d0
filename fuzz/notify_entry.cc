// sd_notify datagrams come from any process of a worker's tree: whatever
// the bytes, the parse must agree with a plain reading of sd_notify(3)
// (newline-separated KEY=VALUE, the last assignment of a key wins) and keep
// STATUS one printable line of bounded length.
#include <optional>
#include <string>
#include <string_view>

#include "fuzz/entries.h"
#include "fuzz/fuzz_check.h"
#include "supervisor/notify_message.h"

namespace corral::fuzz {
namespace {

// The value of the last `key=` line, if any: a second, independent reading.
std::optional<std::string_view> last_value(std::string_view datagram, std::string_view key) {
  std::optional<std::string_view> found;
  size_t start = 0;
  while (start <= datagram.size()) {
    size_t end = datagram.find('\n', start);
    if (end == std::string_view::npos) end = datagram.size();
    std::string_view line = datagram.substr(start, end - start);
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == '=') {
      found = line.substr(key.size() + 1);
    }
    start = end + 1;
  }
  return found;
}

bool flag(std::string_view datagram, std::string_view key) {
  auto v = last_value(datagram, key);
  return v && *v == "1";
}

}  // namespace

int fuzz_notify(const uint8_t* data, size_t size) {
  const std::string_view datagram(reinterpret_cast<const char*>(data), size);
  const supervisor::NotifyMessage m = supervisor::parse_notify_message(datagram);
  const std::string shown(datagram.substr(0, 200));
  FUZZ_CHECK(m.ready == flag(datagram, "READY"), "READY: " + shown);
  FUZZ_CHECK(m.watchdog == flag(datagram, "WATCHDOG"), "WATCHDOG: " + shown);
  FUZZ_CHECK(m.stopping == flag(datagram, "STOPPING"), "STOPPING: " + shown);
  FUZZ_CHECK(m.reloading == flag(datagram, "RELOADING"), "RELOADING: " + shown);
  const auto status = last_value(datagram, "STATUS");
  FUZZ_CHECK(m.status.has_value() == status.has_value(), "STATUS presence: " + shown);
  if (m.status) {
    FUZZ_CHECK(m.status->size() == std::min(status->size(), supervisor::kMaxStatusLength),
               "STATUS length: " + *m.status);
    for (char c : *m.status) {
      const auto u = static_cast<unsigned char>(c);
      FUZZ_CHECK(u >= 0x20 && u != 0x7f, "STATUS holds a control character: " + *m.status);
    }
  }
  return 0;
}

}  // namespace corral::fuzz
