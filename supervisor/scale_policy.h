// What `corral scale`, SIGTTIN and SIGTTOU ask for, resolved against the
// current count: pure, so the limits are unit-tested without processes.
#pragma once

#include "base/result.h"

namespace corral::supervisor {

struct ScaleRequest {
  enum class Kind {
    kTo,    // exactly `value` workers (corral scale N)
    kBy,    // `value` more or fewer (corral scale +K / -K, TTIN, TTOU)
    kAuto,  // unpin: the configuration (later, the autoscaler) decides again
  } kind = Kind::kTo;
  int value = 0;
};

struct ScaleOutcome {
  int desired = 0;
  bool pinned = false;  // held until `corral scale auto`
};

// `current`: the desired count now; `configured`: what the configuration
// asks for (its count, or one per CPU); `max`: the most workers allowed.
Result<ScaleOutcome> resolve_scale(const ScaleRequest& request, int current, int configured,
                                   int max);

}  // namespace corral::supervisor
