// ChunkedDecoder: an upstream's chunked body decoded as it arrives. Compared with Beast's parser
// on the same bodies split at every byte, and refused where Beast refuses.

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "worker/upstream/chunked.h"

namespace ccr::worker::upstream {
namespace {

namespace http = boost::beast::http;

struct Decoded {
    std::string body;
    bool done = false;
    bool failed = false;
    std::size_t used = 0;  // of the whole input
};

// Feeds `wire` in pieces of `piece` bytes into an output of `room` bytes at a time, as the pump
// does (what is not used stays buffered and is offered again with the next piece).
Decoded decode(std::string_view wire, std::size_t piece, std::size_t room = 64 * 1024) {
    ChunkedDecoder d;
    Decoded r;
    std::string pending;
    std::vector<char> out(room);
    std::size_t fed = 0;
    while (!d.done() && !d.failed()) {
        if (fed < wire.size()) {
            const std::size_t n = std::min(piece, wire.size() - fed);
            pending.append(wire.substr(fed, n));
            fed += n;
        }
        const auto step = d.decode(pending, out);
        r.body.append(out.data(), step.produced);
        r.used += step.used;
        pending.erase(0, step.used);
        if (step.used == 0 && step.produced == 0 && fed == wire.size()) break;  // needs more than there is
    }
    r.done = d.done();
    r.failed = d.failed();
    return r;
}

// Beast's verdict on the same body, behind a minimal head.
struct BeastDecoded {
    bool ok = false;
    std::string body;
};
BeastDecoded beast_decode(std::string_view wire) {
    const std::string msg = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(wire);
    http::response_parser<http::string_body> p;
    p.eager(true);
    boost::beast::error_code ec;
    p.put(boost::asio::buffer(msg.data(), msg.size()), ec);
    return {!ec && p.is_done(), p.get().body()};
}

const char* kGood[] = {
    "0\r\n\r\n",
    "5\r\nhello\r\n0\r\n\r\n",
    "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    "16\r\nevent: ping\ndata: {}\n\n\r\n0\r\n\r\n",  // an SSE event, 22 bytes
    "A\r\n0123456789\r\n0\r\n\r\n",
    "00005\r\nhello\r\n000\r\n\r\n",
    "5;name=value\r\nhello\r\n0;last\r\n\r\n",
    "5 ;x\r\nhello\r\n0\r\n\r\n",
    "5\r\nhello\r\n0\r\nx-trailer: 1\r\nother: two\r\n\r\n",
    "3\r\n\r\n\r\r\n0\r\n\r\n",  // data may hold CR and LF
};

TEST(ChunkedDecoder, DecodesWhatBeastDecodesSplitAnywhere) {
    for (const char* wire : kGood) {
        const BeastDecoded want = beast_decode(wire);
        ASSERT_TRUE(want.ok) << wire;
        for (std::size_t piece = 1; piece <= std::string_view(wire).size(); ++piece) {
            for (std::size_t room : {std::size_t{1}, std::size_t{3}, std::size_t{64 * 1024}}) {
                const Decoded got = decode(wire, piece, room);
                EXPECT_TRUE(got.done) << wire << " in pieces of " << piece << ", room " << room;
                EXPECT_FALSE(got.failed);
                EXPECT_EQ(got.body, want.body) << wire;
                EXPECT_EQ(got.used, std::string_view(wire).size());
            }
        }
    }
}

TEST(ChunkedDecoder, StopsAtTheBodysEnd) {
    // What follows the last chunk is not the body's (the next answer on the connection, or junk).
    const Decoded got = decode("5\r\nhello\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n", 1000);
    EXPECT_TRUE(got.done);
    EXPECT_EQ(got.body, "hello");
    EXPECT_EQ(got.used, std::string_view("5\r\nhello\r\n0\r\n\r\n").size());
}

TEST(ChunkedDecoder, AnIncompleteBodyIsNeitherDoneNorFailed) {
    for (std::string_view wire : {"5\r\nhel", "5\r\nhello\r\n", "5\r\nhello\r\n0\r\n", "5;ext", "5\r\nhello\r\n0\r\nx: 1\r\n"}) {
        const Decoded got = decode(wire, 2);
        EXPECT_FALSE(got.done) << wire;
        EXPECT_FALSE(got.failed) << wire;
    }
}

TEST(ChunkedDecoder, RefusesWhatBeastRefuses) {
    const char* bad[] = {
        "g\r\nhello\r\n0\r\n\r\n",          // not hex
        "\r\n",                             // no size
        "5\nhello\r\n0\r\n\r\n",            // bare LF after the size
        "5\r\nhelloX\r\n0\r\n\r\n",         // data longer than its size
        "5\r\nhello\n0\r\n\r\n",            // bare LF after the data
        "5\r\nhello\r\n0\r\n\n",            // bare LF at the end
        "5\r\nhello\r\n0\r\nx: 1\n\r\n",    // bare LF in a trailer
        "5 x\r\nhello\r\n0\r\n\r\n",        // junk after the size
        "5 \r\nhello\r\n0\r\n\r\n",         // whitespace with no extension after it (fuzz finding)
        "10000000000000000\r\n",            // 17 hex digits: more than 64 bits
    };
    for (const char* wire : bad) {
        EXPECT_FALSE(beast_decode(wire).ok) << "Beast takes " << wire;
        for (std::size_t piece : {std::size_t{1}, std::size_t{1000}}) {
            const Decoded got = decode(wire, piece);
            EXPECT_TRUE(got.failed) << wire;
            EXPECT_FALSE(got.done) << wire;
        }
    }
}

TEST(ChunkedDecoder, ExtensionsAndTrailersAreBounded) {
    const std::string long_ext = "5;" + std::string(ChunkedDecoder::kMaxExtension + 1, 'x') + "\r\nhello\r\n0\r\n\r\n";
    EXPECT_TRUE(decode(long_ext, 4096).failed);
    const std::string ok_ext = "5;" + std::string(ChunkedDecoder::kMaxExtension - 1, 'x') + "\r\nhello\r\n0\r\n\r\n";
    EXPECT_TRUE(decode(ok_ext, 4096).done);
    std::string trailers = "0\r\n";
    while (trailers.size() < 2 * ChunkedDecoder::kMaxTrailers) trailers += "x-t: " + std::string(60, 'v') + "\r\n";
    trailers += "\r\n";
    EXPECT_TRUE(decode(trailers, 4096).failed);
}

}  // namespace
}  // namespace ccr::worker::upstream
