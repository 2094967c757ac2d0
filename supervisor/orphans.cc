#include "supervisor/orphans.h"

#include <charconv>
#include <string>

namespace corral::supervisor {
namespace {

template <typename T>
bool parse_number(std::string_view text, T& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::optional<Origin> parse_origin(std::string_view environ) {
  constexpr std::string_view kKey = "CORRAL_ORIGIN=";
  std::optional<std::string_view> last;
  size_t start = 0;
  while (start < environ.size()) {
    size_t end = environ.find('\0', start);
    if (end == std::string_view::npos) end = environ.size();
    const std::string_view entry = environ.substr(start, end - start);
    if (entry.substr(0, kKey.size()) == kKey) last = entry.substr(kKey.size());
    start = end + 1;
  }
  if (!last) return std::nullopt;
  const size_t colon = last->find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  Origin origin;
  if (!parse_number(last->substr(0, colon), origin.corral) ||
      !parse_number(last->substr(colon + 1), origin.worker) || origin.corral <= 0 ||
      origin.worker <= 0) {
    return std::nullopt;
  }
  return origin;
}

std::optional<StatFacts> parse_stat(std::string_view line) {
  const size_t close = line.rfind(')');
  if (close == std::string_view::npos || close + 2 > line.size()) return std::nullopt;
  // Fields from the 3rd (state): 4 ppid, 5 pgrp, 22 starttime.
  StatFacts facts;
  size_t pos = close + 2;
  for (int index = 3; index <= 22; ++index) {
    if (pos >= line.size()) return std::nullopt;
    size_t end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    const std::string_view field = line.substr(pos, end - pos);
    bool ok = true;
    if (index == 3) {
      ok = field.size() == 1;
      facts.state = field.empty() ? '?' : field[0];
    } else if (index == 4) {
      ok = parse_number(field, facts.ppid);
    } else if (index == 5) {
      ok = parse_number(field, facts.pgid);
    } else if (index == 22) {
      ok = parse_number(field, facts.start_ticks);
    }
    if (!ok) return std::nullopt;
    pos = end + 1;
  }
  return facts;
}

OrphanVerdict judge_orphan(pid_t pid, uint64_t start_ticks, const std::optional<Origin>& origin,
                           pid_t self, std::optional<uint64_t> worker_start) {
  if (!origin || origin->corral != self || origin->worker == pid) return OrphanVerdict::kNotOurs;
  // A worker younger than the orphan only inherited a pid its true worker had.
  if (worker_start && *worker_start <= start_ticks) return OrphanVerdict::kOwned;
  return OrphanVerdict::kOrphaned;
}

}  // namespace corral::supervisor
