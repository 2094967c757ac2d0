// What [worker] user, group and rlimits name, resolved against this
// machine: user and group names to ids (the user database, via NSS), and
// resource-limit names to RLIMIT_* numbers. The loader uses these to refuse
// an unknown name with its position; the supervisor resolves again for each
// launch, in the parent, because getpwnam_r and friends are not
// async-signal-safe and must never run between fork and exec.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "config/config.h"

namespace corral::config {

// Who a worker runs as.
struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, for setgroups()

  bool operator==(const Credentials&) const = default;
};

struct UserEntry {
  uid_t uid = 0;
  gid_t gid = 0;       // primary group; meaningful only when `known`
  std::string name;    // as in the database; empty when not `known`
  bool known = false;  // false for a bare number without a database entry
};

// A name in the user database, or a decimal uid ("1000", which need not
// have an entry). Errors: "no user 'nosuch' in the user database".
Result<UserEntry> lookup_user(std::string_view text);
// A name in the group database, or a decimal gid.
Result<gid_t> lookup_group(std::string_view text);

// [worker] user and group as credentials; nullopt when both are empty (the
// worker keeps corral's). With a user: its primary group unless `group`
// names one, and its supplementary groups from the group database. With a
// group alone: corral's uid, that gid, and no supplementary group.
Result<std::optional<Credentials>> resolve_credentials(const WorkerConfig& worker);

// Why corral, running with effective ids (`euid`, `egid`), cannot start
// workers as `c`; nullopt when it can (it is root, or `c` is itself).
std::optional<std::string> credentials_refusal(const Credentials& c, uid_t euid, gid_t egid);

// The resource limits [worker] rlimits may set: "core", "nofile", ...
struct RlimitInfo {
  std::string_view name;
  int resource;       // RLIMIT_*
  bool bytes;         // its value is a size: "512MiB" is accepted
  bool may_be_unlimited;
};
const RlimitInfo* find_rlimit(std::string_view name);
// Every name, in the order of the table, for messages: "as, core, cpu, ...".
std::string rlimit_names();

// "0027" <-> 027; nullopt unless 1 to 4 octal digits of at most 0777.
std::optional<unsigned> parse_umask(std::string_view text);
std::string format_umask(unsigned mask);

}  // namespace corral::config
