#include "supervisor/descriptor_limit.h"

namespace corral::supervisor {

std::optional<DescriptorLimits> raise_descriptor_limit() {
  DescriptorLimits limits;
  if (::getrlimit(RLIMIT_NOFILE, &limits.started_with) != 0) return std::nullopt;
  if (limits.started_with.rlim_cur >= limits.started_with.rlim_max) return std::nullopt;
  limits.now = {limits.started_with.rlim_max, limits.started_with.rlim_max};
  if (::setrlimit(RLIMIT_NOFILE, &limits.now) != 0) return std::nullopt;
  return limits;
}

}  // namespace corral::supervisor
