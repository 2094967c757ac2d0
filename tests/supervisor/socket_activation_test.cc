// Socket activation: parsing systemd's LISTEN_* variables (pure), checking
// what an inherited fd is, and ListenSockets adopting inherited sockets in
// place of binding the configured ones (real sockets on 127.0.0.1).
#include "supervisor/socket_activation.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "base/unique_fd.h"
#include "supervisor/listen_sockets.h"

namespace corral::supervisor {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr pid_t kSelf = 4242;

Result<std::vector<InheritedSocket>> parse(std::optional<std::string> pid,
                                           std::optional<std::string> fds,
                                           std::optional<std::string> names) {
  return parse_listen_env(pid, fds, names, kSelf);
}

TEST(ParseListenEnv, NamedSocketsFromFdThreeOn) {
  auto s = parse("4242", "2", "http:admin");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_THAT(*s, ElementsAre(InheritedSocket{3, "http"}, InheritedSocket{4, "admin"}));
}

TEST(ParseListenEnv, NothingWhenUnsetOrForAnotherProcess) {
  for (auto pid : {std::optional<std::string>(), std::optional<std::string>("1")}) {
    auto s = parse(pid, "1", "http");
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_THAT(*s, IsEmpty());
  }
  auto none = parse("4242", std::nullopt, std::nullopt);
  ASSERT_TRUE(none);
  EXPECT_THAT(*none, IsEmpty());
  auto zero = parse("4242", "0", "");
  ASSERT_TRUE(zero);
  EXPECT_THAT(*zero, IsEmpty());
}

TEST(ParseListenEnv, UnnamedSocketsAreUnknownAsInLibsystemd) {
  auto s = parse("4242", "2", std::nullopt);
  ASSERT_TRUE(s);
  EXPECT_THAT(*s, ElementsAre(InheritedSocket{3, "unknown"}, InheritedSocket{4, "unknown"}));
}

TEST(ParseListenEnv, MalformedValuesAreErrorsNamingThem) {
  struct Case {
    std::optional<std::string> pid, fds, names;
    std::string says;
  };
  const Case cases[] = {
      {"42x", "1", "http", "LISTEN_PID is not a pid: '42x'"},
      {"4242", "one", "http", "LISTEN_FDS is not a socket count: 'one'"},
      {"4242", "-1", "http", "LISTEN_FDS is not a socket count"},
      {"4242", "100000", std::nullopt, "LISTEN_FDS is not a socket count"},
      {"4242", "2", "http", "'http' names 1 socket, LISTEN_FDS says 2"},
      {"4242", "1", "http:admin", "names 2 sockets, LISTEN_FDS says 1"},
      {"4242", "2", "http:", "empty name (fd 4)"},
  };
  for (const auto& c : cases) {
    auto s = parse(c.pid, c.fds, c.names);
    ASSERT_FALSE(s) << c.says;
    EXPECT_THAT(s.error().message, HasSubstr(c.says));
  }
}

TEST(CheckInheritedNames, UndeclaredNameListsBothSides) {
  EXPECT_TRUE(check_inherited_names({{3, "http"}}, {"http", "admin"}));
  EXPECT_TRUE(check_inherited_names({}, {}));
  auto bad = check_inherited_names({{3, "http"}, {4, "corral@web.socket"}}, {"http", "admin"});
  ASSERT_FALSE(bad);
  EXPECT_THAT(bad.error().message, HasSubstr("'corral@web.socket' (fd 4)"));
  EXPECT_THAT(bad.error().message, HasSubstr("systemd passed: http, corral@web.socket"));
  EXPECT_THAT(bad.error().message, HasSubstr("[[socket]] names: http, admin"));
  EXPECT_THAT(bad.error().message, HasSubstr("FileDescriptorName="));
  auto twice = check_inherited_names({{3, "http"}, {4, "http"}}, {"http"});
  ASSERT_FALSE(twice);
  EXPECT_THAT(twice.error().message, HasSubstr("two sockets named 'http' (fds 3 and 4)"));
  auto none = check_inherited_names({{3, "http"}}, {});
  ASSERT_FALSE(none);
  EXPECT_THAT(none.error().message, HasSubstr("[[socket]] names: none"));
}

config::Address addr(const std::string& text) {
  auto a = config::parse_address(text);
  EXPECT_TRUE(a) << text;
  return a ? *a : config::Address{};
}

TEST(AddressDiffers, PortZeroAcceptsAnyPortButNotAnotherHostOrFamily) {
  EXPECT_FALSE(address_differs(addr("127.0.0.1:8080"), addr("127.0.0.1:8080")));
  EXPECT_FALSE(address_differs(addr("127.0.0.1:0"), addr("127.0.0.1:41000")));
  EXPECT_TRUE(address_differs(addr("127.0.0.1:8080"), addr("127.0.0.1:8081")));
  EXPECT_TRUE(address_differs(addr("0.0.0.0:8080"), addr("127.0.0.1:8080")));
  EXPECT_TRUE(address_differs(addr("0.0.0.0:8080"), addr("[::]:8080")));
  EXPECT_FALSE(address_differs(addr("unix:/run/a.sock"), addr("unix:/run/a.sock")));
  EXPECT_TRUE(address_differs(addr("unix:/run/a.sock"), addr("unix:/run/b.sock")));
}

// A TCP listener on 127.0.0.1, an ephemeral port, as systemd would pass it.
UniqueFd tcp_listener(int type = SOCK_STREAM, bool listening = true) {
  UniqueFd fd(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&in), sizeof in), 0);
  if (listening) {
    EXPECT_EQ(::listen(fd.get(), 16), 0);
  }
  return fd;
}

uint16_t port_of(int fd) {
  sockaddr_in in{};
  socklen_t len = sizeof in;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&in), &len);
  return ntohs(in.sin_port);
}

TEST(InspectListeningSocket, TcpAndUnixListenersWithTheirAddresses) {
  UniqueFd tcp = tcp_listener();
  auto a = inspect_listening_socket(tcp.get(), "http");
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->kind, config::Address::Kind::kTcp4);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, port_of(tcp.get()));

  UniqueFd un(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  const std::string abstract = "corral-test-" + std::to_string(::getpid());
  std::memcpy(sa.sun_path + 1, abstract.data(), abstract.size());
  ASSERT_EQ(::bind(un.get(), reinterpret_cast<sockaddr*>(&sa),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract.size())),
            0);
  ASSERT_EQ(::listen(un.get(), 4), 0);
  auto u = inspect_listening_socket(un.get(), "admin");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->kind, config::Address::Kind::kUnix);
  EXPECT_EQ(u->path, "@" + abstract);
}

TEST(InspectListeningSocket, RefusesWhatCannotServe) {
  UniqueFd not_listening = tcp_listener(SOCK_STREAM, false);
  auto a = inspect_listening_socket(not_listening.get(), "http");
  ASSERT_FALSE(a);
  EXPECT_THAT(a.error().message, HasSubstr("socket 'http' from systemd (fd "));
  EXPECT_THAT(a.error().message, HasSubstr("is not listening"));

  UniqueFd datagram = tcp_listener(SOCK_DGRAM, false);
  auto d = inspect_listening_socket(datagram.get(), "http");
  ASSERT_FALSE(d);
  EXPECT_THAT(d.error().message, HasSubstr("not a stream socket"));

  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  auto f = inspect_listening_socket(r.get(), "http");
  ASSERT_FALSE(f);
  EXPECT_THAT(f.error().message, HasSubstr("is not a socket"));
}

config::SocketConfig socket_config(const std::string& name, const std::string& listen,
                                   config::SocketMode mode = config::SocketMode::kShared) {
  config::SocketConfig sc;
  sc.name = name;
  sc.listen = addr(listen);
  sc.mode = mode;
  return sc;
}

TEST(ListenSocketsInherited, SystemdsSocketReplacesTheConfiguredOneForEverySlot) {
  UniqueFd from_systemd = tcp_listener();
  const uint16_t port = port_of(from_systemd.get());
  const int fd = from_systemd.release();  // bind_all owns it now
  auto sockets = ListenSockets::bind_all(
      {socket_config("http", "127.0.0.1:" + std::to_string(port), config::SocketMode::kReuseport),
       socket_config("other", "127.0.0.1:0")},
      2, {{fd, "http"}});
  ASSERT_TRUE(sockets) << sockets.error().message;
  EXPECT_EQ(sockets->port("http"), port);
  auto slot0 = sockets->fds_for_slot(0);
  auto slot1 = sockets->fds_for_slot(1);
  ASSERT_TRUE(slot0 && slot1);
  EXPECT_EQ((*slot0)[0], fd);  // the one inherited fd, shared by both slots
  EXPECT_EQ((*slot1)[0], fd);
  EXPECT_NE((*slot0)[1], fd);  // "other" bound by corral as usual
  EXPECT_THAT(sockets->describe(),
              HasSubstr("http=127.0.0.1:" + std::to_string(port) + " (shared, from systemd)"));
  ASSERT_EQ(sockets->warnings().size(), 1u);  // reuseport cannot be honoured
  EXPECT_THAT(sockets->warnings()[0], HasSubstr("mode \"reuseport\""));
}

TEST(ListenSocketsInherited, AnotherAddressIsServedWithAWarning) {
  UniqueFd from_systemd = tcp_listener();
  const uint16_t port = port_of(from_systemd.get());
  auto sockets = ListenSockets::bind_all({socket_config("http", "0.0.0.0:1")}, 1,
                                         {{from_systemd.release(), "http"}});
  ASSERT_TRUE(sockets) << sockets.error().message;
  EXPECT_EQ(sockets->port("http"), port);
  ASSERT_EQ(sockets->warnings().size(), 1u);
  EXPECT_THAT(sockets->warnings()[0],
              HasSubstr("systemd passed 127.0.0.1:" + std::to_string(port) +
                        ", the configuration says 0.0.0.0:1; serving systemd's"));
}

TEST(ListenSocketsInherited, UndeclaredNameOrWrongKindFailsAndClosesTheFds) {
  UniqueFd a = tcp_listener();
  const int fd_a = a.release();
  auto undeclared =
      ListenSockets::bind_all({socket_config("http", "127.0.0.1:0")}, 1, {{fd_a, "web"}});
  ASSERT_FALSE(undeclared);
  EXPECT_THAT(undeclared.error().message, HasSubstr("'web' (fd "));
  EXPECT_EQ(::fcntl(fd_a, F_GETFD), -1);  // closed

  UniqueFd b = tcp_listener();
  const int fd_b = b.release();
  auto wrong_kind =
      ListenSockets::bind_all({socket_config("http", "unix:/tmp/never.sock")}, 1, {{fd_b, "http"}});
  ASSERT_FALSE(wrong_kind);
  EXPECT_THAT(wrong_kind.error().message, HasSubstr("same kind (TCP or unix)"));
  EXPECT_EQ(::fcntl(fd_b, F_GETFD), -1);
}

TEST(TakeInheritedSockets, UnsetsTheVariablesAndMarksTheFdsCloseOnExec) {
  // systemd's sockets start at fd 3: put a listener there (whatever the
  // test process had at fd 3 is put back at the end).
  struct RestoreFdThree {
    UniqueFd saved{::fcntl(3, F_DUPFD_CLOEXEC, 10)};
    ~RestoreFdThree() {
      if (saved) {
        ::dup2(saved.get(), 3);
      } else {
        ::close(3);
      }
    }
  } restore;
  UniqueFd s = tcp_listener();
  if (s.get() == 3) {
    s.release();  // `restore` closes it
  } else {
    ASSERT_EQ(::dup2(s.get(), 3), 3);
  }
  ASSERT_EQ(::fcntl(3, F_SETFD, 0), 0);  // as systemd passes it: inheritable
  ASSERT_EQ(::fcntl(3, F_GETFD) & FD_CLOEXEC, 0);
  ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
  ::setenv("LISTEN_FDS", "1", 1);
  ::setenv("LISTEN_FDNAMES", "http", 1);
  auto taken = take_inherited_sockets();
  ASSERT_TRUE(taken) << taken.error().message;
  EXPECT_THAT(*taken, ElementsAre(InheritedSocket{3, "http"}));
  EXPECT_EQ(std::getenv("LISTEN_PID"), nullptr);
  EXPECT_EQ(std::getenv("LISTEN_FDS"), nullptr);
  EXPECT_EQ(std::getenv("LISTEN_FDNAMES"), nullptr);
  EXPECT_NE(::fcntl(3, F_GETFD) & FD_CLOEXEC, 0);

  // Variables for another process are dropped too, and describe nothing.
  ::setenv("LISTEN_PID", "1", 1);
  ::setenv("LISTEN_FDS", "1", 1);
  auto other = take_inherited_sockets();
  ASSERT_TRUE(other);
  EXPECT_THAT(*other, IsEmpty());
  EXPECT_EQ(std::getenv("LISTEN_PID"), nullptr);
  EXPECT_EQ(std::getenv("LISTEN_FDS"), nullptr);
}

}  // namespace
}  // namespace corral::supervisor
