#include <gtest/gtest.h>

#include "config/loader.h"

namespace corral::config {
namespace {

Config with_command(std::vector<std::string> command = {"./server"}) {
  Config c;
  c.worker.command = std::move(command);
  return c;
}

Config apply(Config base, const Overrides& flags) {
  auto c = apply_overrides(std::move(base), flags);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? *c : Config{};
}

std::string apply_error(Config base, const Overrides& flags) {
  auto c = apply_overrides(std::move(base), flags);
  EXPECT_FALSE(c.ok());
  return c.ok() ? "" : c.error().message;
}

Config file(const std::string& text) {
  auto c = load_toml(text, "web.toml");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? *c : Config{};
}

TEST(ApplyOverrides, FlagsAloneMakeAConfig) {
  Overrides flags;
  flags.command = {"./server", "--fd", "{fd:http}"};
  flags.listen = {":8080"};
  flags.workers = "3";
  flags.name = "api";
  const Config c = apply(Config{}, flags);
  EXPECT_EQ(c.name, "api");
  EXPECT_EQ(c.worker.count, 3);
  EXPECT_EQ(c.worker.command, flags.command);
  ASSERT_EQ(c.sockets.size(), 1u);
  EXPECT_EQ(c.sockets[0].name, "http");
  EXPECT_EQ(c.sockets[0].listen.to_string(), "0.0.0.0:8080");
  EXPECT_EQ(c.sockets[0].mode, SocketMode::kShared);
  EXPECT_EQ(c.sockets[0].backlog, 1024);
}

TEST(ApplyOverrides, NoFlagsKeepsTheFile) {
  const Config base = file("name = \"web\"\n[worker]\ncommand = [\"./s\"]\ncount = 2\n");
  EXPECT_EQ(apply(base, {}), base);
}

TEST(ApplyOverrides, Workers) {
  Overrides flags;
  flags.workers = "auto";
  Config base = with_command();
  base.worker.count = 4;
  EXPECT_EQ(apply(base, flags).worker.count, std::nullopt);
  flags.workers = "2048";
  EXPECT_EQ(apply(base, flags).worker.count, 2048);
  for (const char* bad : {"0", "2049", "-1", "", "two", "1.5", "99999"}) {
    flags.workers = bad;
    EXPECT_EQ(
        apply_error(base, flags),
        std::string("--workers must be a number from 1 to 2048 or \"auto\", not '") + bad + "'");
  }
}

TEST(ApplyOverrides, ListenReplacesANamedSocketKeepingItsSettings) {
  const Config base = file(
      "[worker]\ncommand = [\"./s\"]\n"
      "[[socket]]\nname = \"http\"\nlisten = \":80\"\nmode = \"reuseport\"\nbacklog = 64\n"
      "[[socket]]\nname = \"admin\"\nlisten = \"unix:/tmp/a.sock\"\n");
  Overrides flags;
  flags.listen = {"127.0.0.1:8080", "admin=unix:/tmp/b.sock", "metrics=:9464"};
  const Config c = apply(base, flags);
  ASSERT_EQ(c.sockets.size(), 3u);
  EXPECT_EQ(c.sockets[0].name, "http");
  EXPECT_EQ(c.sockets[0].listen.to_string(), "127.0.0.1:8080");
  EXPECT_EQ(c.sockets[0].mode, SocketMode::kReuseport);
  EXPECT_EQ(c.sockets[0].backlog, 64);
  EXPECT_EQ(c.sockets[1].listen.to_string(), "unix:/tmp/b.sock");
  EXPECT_EQ(c.sockets[2].name, "metrics");
  EXPECT_EQ(c.sockets[2].listen.to_string(), "0.0.0.0:9464");
}

TEST(ApplyOverrides, ListenAddressWithAnEqualsSign) {
  Overrides flags;
  flags.listen = {"unix:/tmp/a=b.sock", "x=unix:/tmp/c=d.sock"};
  const Config c = apply(with_command(), flags);
  ASSERT_EQ(c.sockets.size(), 2u);
  EXPECT_EQ(c.sockets[0].name, "http");
  EXPECT_EQ(c.sockets[0].listen.path, "/tmp/a=b.sock");
  EXPECT_EQ(c.sockets[1].name, "x");
  EXPECT_EQ(c.sockets[1].listen.path, "/tmp/c=d.sock");
}

TEST(ApplyOverrides, ListenErrors) {
  Overrides flags;
  flags.listen = {":80", "http=:81"};
  EXPECT_EQ(apply_error(with_command(), flags), "--listen given twice for socket 'http'");
  flags.listen = {"api=nope"};
  EXPECT_EQ(apply_error(with_command(), flags),
            "--listen 'api=nope': address 'nope' needs a port; write host:port, [v6]:port, :port "
            "or unix:/path");
  flags.listen = {"my api=:80"};
  EXPECT_EQ(apply_error(with_command(), flags),
            "--listen 'my api=:80': socket name 'my api' may use only letters, digits, '_' and "
            "'-' (at most 64)");
  flags.listen = {"a=:80", "b=:80"};
  EXPECT_EQ(apply_error(with_command(), flags), "sockets 'a' and 'b' both listen on 0.0.0.0:80");
  flags.listen = {"a=:0", "b=:0"};
  EXPECT_EQ(apply(with_command(), flags).sockets.size(), 2u);  // two ephemeral ports
}

TEST(ApplyOverrides, ListenOntoAReuseportSocketMustStayTcp) {
  const Config base =
      file("[worker]\ncommand = [\"./s\"]\n[[socket]]\nlisten = \":80\"\nmode = \"reuseport\"\n");
  Overrides flags;
  flags.listen = {"unix:/tmp/x.sock"};
  EXPECT_EQ(apply_error(base, flags),
            "socket 'http': mode \"reuseport\" needs a TCP address; a unix socket can only be "
            "\"shared\"");
}

TEST(ApplyOverrides, Name) {
  Overrides flags;
  flags.name = "web.v2_blue-1";
  EXPECT_EQ(apply(with_command(), flags).name, "web.v2_blue-1");
  for (const char* bad : {"", "a/b", "a b", "x:y"}) {
    flags.name = bad;
    EXPECT_EQ(apply_error(with_command(), flags),
              std::string("--name '") + bad +
                  "' may use only letters, digits, '_', '.' and '-' (at most 64)");
  }
  flags.name = std::string(65, 'n');
  EXPECT_FALSE(apply_overrides(with_command(), flags).ok());
  flags.name = std::string(64, 'n');
  EXPECT_TRUE(apply_overrides(with_command(), flags).ok());
}

TEST(ApplyOverrides, CommandAfterDashDashReplacesTheFiles) {
  Overrides flags;
  flags.command = {"/bin/other", "--x"};
  EXPECT_EQ(apply(with_command({"./server", "--a", "--b"}), flags).worker.command, flags.command);
}

TEST(ApplyOverrides, CommandIsRequired) {
  EXPECT_EQ(apply_error(Config{}, {}), "no command: give one after `--` or set [worker] command");
  Overrides flags;
  flags.command = {""};
  EXPECT_EQ(apply_error(Config{}, flags), "the command's program name is empty");
}

TEST(ApplyOverrides, PlaceholdersInFlagsCommand) {
  Overrides flags;
  flags.listen = {":0"};
  flags.command = {"./server", "--fd={fd:htp}"};
  EXPECT_EQ(apply_error(Config{}, flags),
            "command argument 1 ('--fd={fd:htp}'): placeholder '{fd:htp}' names no socket; "
            "sockets: http");
  flags.command = {"./server", "{port:http}", "{fd:http}", "{id}", R"({"json": true})"};
  EXPECT_TRUE(apply_overrides(Config{}, flags).ok());
}

TEST(ApplyOverrides, PlaceholdersInFileCommandAndEnv) {
  const Config base = file(
      "[worker]\ncommand = [\"./s\", \"{fd:api}\"]\nenv = { URL = \"http://x:{port:api}\" }\n");
  EXPECT_EQ(apply_error(base, {}),
            "web.toml: [worker] command[1]: placeholder '{fd:api}' names no socket; there are no "
            "sockets (add one with --listen or [[socket]])");
  // A socket given by a flag satisfies the file's placeholders.
  Overrides flags;
  flags.listen = {"api=:9000"};
  EXPECT_TRUE(apply_overrides(base, flags).ok());

  Config env_only = base;
  env_only.worker.command = {"./s"};
  EXPECT_EQ(apply_error(env_only, {}),
            "web.toml: [worker] env.URL: placeholder '{port:api}' names no socket; there are no "
            "sockets (add one with --listen or [[socket]])");
}

TEST(ApplyOverrides, PortPlaceholderNeedsATcpSocket) {
  Overrides flags;
  flags.listen = {"admin=unix:/tmp/a.sock"};
  flags.command = {"./s", "--port={port:admin}"};
  EXPECT_EQ(apply_error(Config{}, flags),
            "command argument 1 ('--port={port:admin}'): placeholder '{port:admin}': socket "
            "'admin' is a unix socket and has no port");
  flags.command = {"./s", "--fd={fd:admin}"};
  EXPECT_TRUE(apply_overrides(Config{}, flags).ok());
}

}  // namespace
}  // namespace corral::config
