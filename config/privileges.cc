#include "config/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace corral::config {
namespace {

using namespace std::string_view_literals;

constexpr std::array kRlimits = {
    RlimitInfo{"as"sv, RLIMIT_AS, true, true},
    RlimitInfo{"core"sv, RLIMIT_CORE, true, true},
    RlimitInfo{"cpu"sv, RLIMIT_CPU, false, true},  // seconds
    RlimitInfo{"data"sv, RLIMIT_DATA, true, true},
    RlimitInfo{"fsize"sv, RLIMIT_FSIZE, true, true},
    RlimitInfo{"memlock"sv, RLIMIT_MEMLOCK, true, true},
    // The kernel refuses an infinite RLIMIT_NOFILE (the cap is fs.nr_open).
    RlimitInfo{"nofile"sv, RLIMIT_NOFILE, false, false},
    RlimitInfo{"nproc"sv, RLIMIT_NPROC, false, true},
    RlimitInfo{"stack"sv, RLIMIT_STACK, true, true},
};

std::optional<uint64_t> parse_id(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  // (uid_t)-1 means "unchanged" to setresuid and friends.
  if (ec != std::errc() || end != text.data() + text.size() || value >= 0xffffffffULL) {
    return std::nullopt;
  }
  return value;
}

// The buffer getpw*_r and getgr*_r fill, grown on ERANGE.
size_t initial_buffer(int name) {
  const long hint = ::sysconf(name);
  return hint > 0 ? static_cast<size_t>(hint) : 1024;
}

constexpr size_t kMaxBuffer = 1 << 20;

}  // namespace

Result<UserEntry> lookup_user(std::string_view text) {
  const std::optional<uint64_t> number = parse_id(text);
  const std::string name(text);
  UserEntry entry;
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(initial_buffer(_SC_GETPW_R_SIZE_MAX));
  int rc = 0;
  for (;;) {
    rc = number ? ::getpwuid_r(static_cast<uid_t>(*number), &pw, buf.data(), buf.size(), &found)
                : ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc != ERANGE || buf.size() >= kMaxBuffer) break;
    buf.resize(buf.size() * 2);
  }
  if (found != nullptr) {
    entry.uid = pw.pw_uid;
    entry.gid = pw.pw_gid;
    entry.name = pw.pw_name;
    entry.known = true;
    return entry;
  }
  if (rc != 0 && rc != ENOENT && rc != ESRCH && rc != EBADF && rc != EPERM) {
    return Error{fmt::format("cannot look up user '{}': {}", name, std::strerror(rc))};
  }
  if (number) {
    entry.uid = static_cast<uid_t>(*number);
    return entry;
  }
  return Error{fmt::format("no user '{}' in the user database", name)};
}

Result<gid_t> lookup_group(std::string_view text) {
  const std::optional<uint64_t> number = parse_id(text);
  if (number) return static_cast<gid_t>(*number);
  const std::string name(text);
  group gr{};
  group* found = nullptr;
  std::vector<char> buf(initial_buffer(_SC_GETGR_R_SIZE_MAX));
  int rc = 0;
  for (;;) {
    rc = ::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found);
    if (rc != ERANGE || buf.size() >= kMaxBuffer) break;
    buf.resize(buf.size() * 2);
  }
  if (found != nullptr) return gr.gr_gid;
  if (rc != 0 && rc != ENOENT && rc != ESRCH && rc != EBADF && rc != EPERM) {
    return Error{fmt::format("cannot look up group '{}': {}", name, std::strerror(rc))};
  }
  return Error{fmt::format("no group '{}' in the group database", name)};
}

Result<std::optional<Credentials>> resolve_credentials(const WorkerConfig& worker) {
  if (worker.user.empty() && worker.group.empty()) return std::optional<Credentials>();
  Credentials c;
  std::optional<gid_t> group;
  if (!worker.group.empty()) {
    auto g = lookup_group(worker.group);
    if (!g) return g.error();
    group = *g;
  }
  if (worker.user.empty()) {
    c.uid = ::geteuid();
    c.gid = *group;
    c.groups = {*group};
    return std::optional<Credentials>(std::move(c));
  }
  auto user = lookup_user(worker.user);
  if (!user) return user.error();
  c.uid = user->uid;
  if (!user->known && !group) {
    return Error{fmt::format("user '{}' has no entry in the user database, so no primary group: "
                             "set [worker] group too",
                             worker.user)};
  }
  c.gid = group ? *group : user->gid;
  c.groups = {c.gid};
  if (user->known) {
    int count = 32;
    std::vector<gid_t> groups;
    for (int attempt = 0; attempt < 8; ++attempt) {
      groups.resize(static_cast<size_t>(count));
      const int want = count;
      if (::getgrouplist(user->name.c_str(), c.gid, groups.data(), &count) >= 0) {
        groups.resize(static_cast<size_t>(count));
        c.groups = std::move(groups);
        break;
      }
      if (count <= want) count = want * 2;  // some NSS modules do not say how many
    }
  }
  return std::optional<Credentials>(std::move(c));
}

std::optional<std::string> credentials_refusal(const Credentials& c, uid_t euid, gid_t egid) {
  if (euid == 0) return std::nullopt;
  if (c.uid != euid) {
    return fmt::format("corral runs as uid {}, not as root, and cannot start workers as uid {}; "
                       "run corral as root, or remove the key",
                       euid, c.uid);
  }
  if (c.gid != egid) {
    return fmt::format("corral runs as uid {} (gid {}), not as root, and cannot start workers "
                       "with gid {}; run corral as root, or remove the key",
                       euid, egid, c.gid);
  }
  return std::nullopt;
}

const RlimitInfo* find_rlimit(std::string_view name) {
  for (const RlimitInfo& info : kRlimits) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

std::string rlimit_names() {
  std::string out;
  for (const RlimitInfo& info : kRlimits) {
    if (!out.empty()) out += ", ";
    out += info.name;
  }
  return out;
}

std::optional<unsigned> parse_umask(std::string_view text) {
  if (text.empty() || text.size() > 4) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return std::nullopt;
    value = value * 8 + static_cast<unsigned>(c - '0');
  }
  if (value > 0777) return std::nullopt;
  return value;
}

std::string format_umask(unsigned mask) { return fmt::format("{:04o}", mask); }

}  // namespace corral::config
