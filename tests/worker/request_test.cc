// The request-smuggling rules a head must pass before its body is read (RFC 9112 §6).

#include <gtest/gtest.h>

#include <initializer_list>
#include <utility>

#include "worker/request.h"

namespace ccr::worker {
namespace {

namespace http = boost::beast::http;

std::string problem(unsigned version, std::initializer_list<std::pair<http::field, const char*>> fields) {
    HeadFields f;
    for (const auto& [name, value] : fields) f.push_back({name, http::to_string(name), value});
    return framing_problem(version, f);
}

TEST(FramingProblem, AnOrdinaryHeadPasses) {
    EXPECT_EQ(problem(11, {{http::field::host, "x"}, {http::field::content_length, "12"}}), "");
    EXPECT_EQ(problem(11, {{http::field::host, "x"}, {http::field::transfer_encoding, " Chunked "}}), "");
    EXPECT_EQ(problem(10, {{http::field::content_length, "12"}}), "");  // Host is HTTP/1.1's rule
}

TEST(FramingProblem, TransferEncodingMustBeOneChunked) {
    EXPECT_NE(problem(11, {{http::field::host, "x"}, {http::field::transfer_encoding, "gzip"}}), "");
    EXPECT_NE(problem(11, {{http::field::host, "x"}, {http::field::transfer_encoding, "identity, chunked"}}), "");
    EXPECT_NE(problem(11, {{http::field::host, "x"}, {http::field::transfer_encoding, "chunked"},
                           {http::field::transfer_encoding, "chunked"}}), "");
    EXPECT_EQ(problem(10, {{http::field::transfer_encoding, "chunked"}}), "Transfer-Encoding on an HTTP/1.0 request");
}

TEST(FramingProblem, OneContentLengthAndOneHost) {
    EXPECT_EQ(problem(11, {{http::field::host, "x"}, {http::field::content_length, "3"}, {http::field::content_length, "3"}}),
              "more than one Content-Length");
    EXPECT_EQ(problem(11, {{http::field::content_length, "3"}}), "missing Host header");
    EXPECT_EQ(problem(11, {{http::field::host, "a"}, {http::field::host, "b"}}), "more than one Host header");
}

}  // namespace
}  // namespace ccr::worker
