// [worker] user, group, umask, no_new_privs and rlimits: reading,
// validation with positions, and the round trip through to_toml.

#include "config/privileges.h"

#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "config/loader.h"

namespace corral::config {
namespace {

Result<Config> load(const std::string& worker_lines) {
  return load_toml("[worker]\ncommand = [\"/bin/true\"]\n" + worker_lines, "web.toml");
}

std::string error_of(const std::string& worker_lines) {
  auto c = load(worker_lines);
  EXPECT_FALSE(c.ok()) << worker_lines;
  return c.ok() ? "" : c.error().message;
}

TEST(PrivilegeKeys, AllReadAndRoundTrip) {
  auto c = load(
      "umask = \"0027\"\nno_new_privs = true\n"
      "rlimits = { nofile = 4096, core = 0, stack = \"8MiB\", cpu = \"unlimited\" }\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->worker.umask, 027u);
  EXPECT_TRUE(c->worker.no_new_privs);
  EXPECT_EQ(c->worker.rlimits.at("nofile"), 4096u);
  EXPECT_EQ(c->worker.rlimits.at("core"), 0u);
  EXPECT_EQ(c->worker.rlimits.at("stack"), 8u << 20);
  EXPECT_EQ(c->worker.rlimits.at("cpu"), std::nullopt);

  const std::string text = to_toml(*c);
  EXPECT_NE(text.find("umask = \"0027\"\n"), std::string::npos) << text;
  EXPECT_NE(text.find("no_new_privs = true\n"), std::string::npos) << text;
  EXPECT_NE(text.find("rlimits = { core = 0, cpu = \"unlimited\", nofile = 4096, stack = \"8MiB\" }"),
            std::string::npos)
      << text;
  auto again = load_toml(text, "web.toml");
  ASSERT_TRUE(again.ok()) << again.error().message << "\n" << text;
  EXPECT_EQ(*again, *c);
}

TEST(PrivilegeKeys, DefaultsChangeNothing) {
  auto c = load("");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->worker.user.empty());
  EXPECT_TRUE(c->worker.group.empty());
  EXPECT_EQ(c->worker.umask, std::nullopt);
  EXPECT_FALSE(c->worker.no_new_privs);
  EXPECT_TRUE(c->worker.rlimits.empty());
  auto credentials = resolve_credentials(c->worker);
  ASSERT_TRUE(credentials.ok());
  EXPECT_EQ(*credentials, std::nullopt);
}

TEST(PrivilegeKeys, UnknownUserAndGroupAreErrorsWithTheirPosition) {
  EXPECT_EQ(error_of("user = \"no-such-user-corral\"\n"),
            "web.toml:3:8: [worker] user: no user 'no-such-user-corral' in the user database");
  EXPECT_EQ(error_of("group = \"no-such-group-corral\"\n"),
            "web.toml:3:9: [worker] group: no group 'no-such-group-corral' in the group database");
  EXPECT_EQ(error_of("user = \"\"\n"), "web.toml:3:8: [worker] user: must not be empty");
  EXPECT_EQ(error_of("user = 0\n"), "web.toml:3:8: [worker] user must be a string, not an integer 0");
}

TEST(PrivilegeKeys, BadValuesAreErrors) {
  EXPECT_EQ(error_of("umask = \"0829\"\n"),
            "web.toml:3:9: [worker] umask must be octal digits from \"0000\" to \"0777\", like "
            "\"0027\", not a string \"0829\"");
  EXPECT_EQ(error_of("umask = 27\n"),
            "web.toml:3:9: [worker] umask must be a string of octal digits like \"0027\" (an "
            "integer cannot say whether it is octal), not an integer 27");
  EXPECT_EQ(error_of("no_new_privs = \"yes\"\n"),
            "web.toml:3:16: [worker] no_new_privs must be true or false, not a string \"yes\"");
  EXPECT_EQ(error_of("rlimits = { files = 10 }\n"),
            "web.toml:3:13: [worker] rlimits: unknown limit 'files'; known: as, core, cpu, data, "
            "fsize, memlock, nofile, nproc, stack");
  EXPECT_EQ(error_of("rlimits = { nofile = \"unlimited\" }\n"),
            "web.toml:3:22: [worker] rlimits.nofile cannot be \"unlimited\": the kernel caps open "
            "files at fs.nr_open; give a number");
  EXPECT_EQ(error_of("rlimits = { nofile = 0 }\n"),
            "web.toml:3:22: [worker] rlimits.nofile must be at least 1, not 0");
  EXPECT_EQ(error_of("rlimits = { core = -1 }\n"),
            "web.toml:3:20: [worker] rlimits.core must be at least 0, not -1");
  EXPECT_EQ(error_of("rlimits = { nproc = \"8MiB\" }\n"),
            "web.toml:3:21: [worker] rlimits.nproc must be a number or \"unlimited\", not a "
            "string \"8MiB\"");
  EXPECT_EQ(error_of("rlimits = 5\n"),
            "web.toml:3:11: [worker] rlimits must be a table like { nofile = 65536, core = 0 }, "
            "not an integer 5");
}

TEST(PrivilegeKeys, OwnUserIsAcceptedWithoutRoot) {
  auto self = lookup_user(std::to_string(::geteuid()));
  ASSERT_TRUE(self.ok());
  auto c = load("user = \"" + std::to_string(::geteuid()) + "\"\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto credentials = resolve_credentials(c->worker);
  ASSERT_TRUE(credentials.ok());
  ASSERT_TRUE(credentials->has_value());
  EXPECT_EQ((*credentials)->uid, ::geteuid());
}

TEST(PrivilegeKeys, NobodyResolvesToItsIdsAndGroups) {
  auto nobody = lookup_user("nobody");
  if (!nobody.ok()) GTEST_SKIP() << "no user 'nobody' here";
  auto c = load("user = \"nobody\"\n");
  if (::geteuid() != 0) {
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("web.toml:3:8: [worker] user 'nobody': corral runs as uid"),
              std::string::npos)
        << c.error().message;
    return;
  }
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto credentials = resolve_credentials(c->worker);
  ASSERT_TRUE(credentials.ok()) << credentials.error().message;
  ASSERT_TRUE(credentials->has_value());
  EXPECT_EQ((*credentials)->uid, nobody->uid);
  EXPECT_EQ((*credentials)->gid, nobody->gid);
  EXPECT_FALSE((*credentials)->groups.empty());
  EXPECT_NE(to_toml(*c).find("user = \"nobody\"\n"), std::string::npos);
}

TEST(Credentials, NonRootMayOnlyKeepItsOwnIds) {
  const Credentials self{1000, 1000, {1000}};
  EXPECT_EQ(credentials_refusal(self, 0, 0), std::nullopt);
  EXPECT_EQ(credentials_refusal(self, 1000, 1000), std::nullopt);
  EXPECT_NE(credentials_refusal(self, 1001, 1000), std::nullopt);
  EXPECT_NE(credentials_refusal(self, 1000, 1001), std::nullopt);
}

TEST(Credentials, NumericUserWithoutEntryNeedsAGroup) {
  WorkerConfig w;
  w.user = "4000123";
  auto alone = resolve_credentials(w);
  ASSERT_FALSE(alone.ok());
  EXPECT_EQ(alone.error().message,
            "user '4000123' has no entry in the user database, so no primary group: set "
            "[worker] group too");
  w.group = "4000124";
  auto both = resolve_credentials(w);
  ASSERT_TRUE(both.ok()) << both.error().message;
  EXPECT_EQ(**both, (Credentials{4000123, 4000124, {4000124}}));
}

TEST(Umask, ParsesAndFormatsOctal) {
  EXPECT_EQ(parse_umask("0027"), 027u);
  EXPECT_EQ(parse_umask("077"), 077u);
  EXPECT_EQ(parse_umask("0"), 0u);
  EXPECT_EQ(parse_umask(""), std::nullopt);
  EXPECT_EQ(parse_umask("1777"), std::nullopt);
  EXPECT_EQ(parse_umask("00027"), std::nullopt);
  EXPECT_EQ(parse_umask("8"), std::nullopt);
  EXPECT_EQ(format_umask(027), "0027");
}

TEST(Rlimits, NamesMapToTheKernelsResources) {
  ASSERT_NE(find_rlimit("nofile"), nullptr);
  EXPECT_EQ(find_rlimit("nofile")->resource, RLIMIT_NOFILE);
  EXPECT_EQ(find_rlimit("core")->resource, RLIMIT_CORE);
  EXPECT_EQ(find_rlimit("NOFILE"), nullptr);
}

}  // namespace
}  // namespace corral::config
