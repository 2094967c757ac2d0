#include "supervisor/scale_policy.h"

#include <fmt/format.h>

namespace corral::supervisor {

Result<ScaleOutcome> resolve_scale(const ScaleRequest& request, int current, int configured,
                                   int max) {
  switch (request.kind) {
    case ScaleRequest::Kind::kAuto:
      return ScaleOutcome{std::min(configured, max), false};
    case ScaleRequest::Kind::kTo:
      if (request.value < 1 || request.value > max) {
        return Error{fmt::format("cannot scale to {} workers: the count must be from 1 to {}",
                                 request.value, max)};
      }
      return ScaleOutcome{request.value, true};
    case ScaleRequest::Kind::kBy: {
      if (request.value == 0) return Error{"scale by 0 changes nothing; give +K or -K"};
      const long long target = static_cast<long long>(current) + request.value;
      if (target < 1) {
        return Error{fmt::format("cannot remove {} of {} worker{}: at least 1 must stay",
                                 -static_cast<long long>(request.value), current,
                                 current == 1 ? "" : "s")};
      }
      if (target > max) {
        return Error{fmt::format("cannot add {} to {} workers: at most {}", request.value,
                                 current, max)};
      }
      return ScaleOutcome{static_cast<int>(target), true};
    }
  }
  return Error{"unknown scale request"};
}

}  // namespace corral::supervisor
