#include "config/placeholders.h"

#include <gtest/gtest.h>

namespace corral::config {
namespace {

const std::vector<std::string> kSockets = {"http", "admin-api"};

std::string invalid(std::string_view text, const std::vector<std::string>& names = kSockets) {
  Status s = validate_placeholders(text, names);
  EXPECT_FALSE(s.ok()) << text;
  return s.ok() ? "" : s.error().message;
}

PlaceholderValues values() {
  PlaceholderValues v;
  v.worker_id = 7;
  v.fds["http"] = 3;
  v.fds["admin-api"] = 4;
  v.ports["http"] = 8080;
  v.ports["admin-api"] = 0;
  return v;
}

TEST(ValidatePlaceholders, KnownNamesPass) {
  EXPECT_TRUE(validate_placeholders("--fd={fd:http}", kSockets).ok());
  EXPECT_TRUE(validate_placeholders("{port:admin-api}/{id}/{fd:admin-api}", kSockets).ok());
  EXPECT_TRUE(validate_placeholders("no placeholders", {}).ok());
  EXPECT_TRUE(validate_placeholders("{id}", {}).ok());
}

TEST(ValidatePlaceholders, OtherBracesAreLeftAlone) {
  EXPECT_TRUE(validate_placeholders(R"({"fd": 3, "port": {"x": 1}})", {}).ok());
  EXPECT_TRUE(validate_placeholders("{fd}{port}{ID}{ id}{worker}{{", {}).ok());
  EXPECT_TRUE(validate_placeholders("{", {}).ok());
  EXPECT_TRUE(validate_placeholders("}{", {}).ok());
}

TEST(ValidatePlaceholders, UnknownSocketIsNamed) {
  EXPECT_EQ(invalid("--fd={fd:htp}"),
            "placeholder '{fd:htp}' names no socket; sockets: http, admin-api");
  EXPECT_EQ(invalid("{port:web}"),
            "placeholder '{port:web}' names no socket; sockets: http, admin-api");
  EXPECT_EQ(invalid("{fd:http}", {}),
            "placeholder '{fd:http}' names no socket; there are no sockets (add one with "
            "--listen or [[socket]])");
  EXPECT_EQ(invalid("{fd:HTTP}"),
            "placeholder '{fd:HTTP}' names no socket; sockets: http, admin-api");
}

TEST(ValidatePlaceholders, MalformedFormsAreErrors) {
  EXPECT_EQ(invalid("{fd:}"), "placeholder '{fd:}' needs a socket name");
  EXPECT_EQ(invalid("{port:}"), "placeholder '{port:}' needs a socket name");
  EXPECT_EQ(invalid("--fd={fd:http"), "placeholder '{fd:http' has no closing '}'; write {fd:NAME}");
  EXPECT_EQ(invalid("{port:"), "placeholder '{port:' has no closing '}'; write {port:NAME}");
  EXPECT_EQ(invalid("{fd:http }"),
            "placeholder '{fd:http }' names no socket; sockets: http, admin-api");
}

TEST(ValidatePlaceholders, ReportsTheFirstBadOne) {
  EXPECT_EQ(invalid("{fd:http}{fd:a}{fd:b}"),
            "placeholder '{fd:a}' names no socket; sockets: http, admin-api");
}

TEST(PortPlaceholderNames, InOrder) {
  EXPECT_EQ(port_placeholder_names("{port:a}{fd:b}{port:c}{id}"),
            (std::vector<std::string>{"a", "c"}));
  EXPECT_TRUE(port_placeholder_names("{fd:a}").empty());
}

TEST(ExpandPlaceholders, ReplacesEachForm) {
  const PlaceholderValues v = values();
  EXPECT_EQ(expand_placeholders("--fd={fd:http}", v), "--fd=3");
  EXPECT_EQ(expand_placeholders("{fd:admin-api}", v), "4");
  EXPECT_EQ(expand_placeholders("http://127.0.0.1:{port:http}/", v), "http://127.0.0.1:8080/");
  EXPECT_EQ(expand_placeholders("{port:admin-api}", v), "0");
  EXPECT_EQ(expand_placeholders("worker-{id}.log", v), "worker-7.log");
  EXPECT_EQ(expand_placeholders("{id}{id}{fd:http}{port:http}", v), "7738080");
}

TEST(ExpandPlaceholders, LeavesOtherTextAlone) {
  const PlaceholderValues v = values();
  EXPECT_EQ(expand_placeholders("", v), "");
  EXPECT_EQ(expand_placeholders("plain", v), "plain");
  const std::string json = R"({"id": {"fd": 1}, "x": "{ID}"})";
  EXPECT_EQ(expand_placeholders(json, v), json);
  EXPECT_EQ(expand_placeholders(R"({"worker": {id}})", v), R"({"worker": 7})");
  EXPECT_EQ(expand_placeholders("{{id}}", v), "{7}");
}

TEST(ExpandPlaceholders, UnknownNamesStayAsWritten) {
  const PlaceholderValues v = values();
  EXPECT_EQ(expand_placeholders("{fd:nope}-{fd:http}", v), "{fd:nope}-3");
  EXPECT_EQ(expand_placeholders("{fd:http", v), "{fd:http");
}

}  // namespace
}  // namespace corral::config
