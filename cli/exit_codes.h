// corral's exit codes, a contract (docs/cli.md): scripts and systemd units
// act on them.
#pragma once

namespace corral::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;      // the service failed at run time
inline constexpr int kExitUsage = 2;        // bad command line
inline constexpr int kExitUnavailable = 69; // EX_UNAVAILABLE: admin socket unreachable
inline constexpr int kExitConfig = 78;      // EX_CONFIG: invalid configuration

}  // namespace corral::cli
