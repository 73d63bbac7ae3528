// The upstream's chunked bodies (worker/upstream/chunked.h, ChunkedDecoder) on any bytes, against
// Beast's parser on the same bytes behind a chunked response head.
// Asserts: the same result whether the body arrives whole or cut at input-chosen points, into a
// roomy or a 7-byte output; and, within the decoder's bounds on size lines, extensions and
// trailers: a body Beast decodes whole is decoded whole, to the same bytes, using the same number
// of input bytes; a body the decoder refuses, Beast refuses; and what the decoder produced before
// refusing is what Beast produced before refusing. (The decoder may finish a body Beast refuses:
// it skips extensions and trailer lines without judging their grammar, as nothing reads them.)

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "tests/fuzz/check.h"
#include "tests/fuzz/splits.h"
#include "worker/upstream/chunked.h"

namespace {

namespace http = boost::beast::http;
using ccr::worker::upstream::ChunkedDecoder;

struct Result {
    std::string body;
    std::size_t used = 0;
    bool done = false;
    bool failed = false;
};

Result ours(const std::vector<std::string_view>& parts, std::size_t room) {
    ChunkedDecoder d;
    Result r;
    std::string pending;
    std::vector<char> out(room);
    for (std::size_t i = 0; i < parts.size() && !d.done() && !d.failed(); ++i) {
        pending.append(parts[i]);
        for (;;) {
            const auto step = d.decode(pending, out);
            r.body.append(out.data(), step.produced);
            r.used += step.used;
            pending.erase(0, step.used);
            if (d.done() || d.failed() || (step.used == 0 && step.produced == 0)) break;
        }
    }
    r.done = d.done();
    r.failed = d.failed();
    return r;
}

constexpr std::string_view kHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

Result beasts(std::string_view in) {
    const std::string msg = std::string(kHead) + std::string(in);
    http::response_parser<http::string_body> p;
    p.eager(true);
    p.body_limit(boost::none);
    boost::beast::error_code ec;
    const std::size_t used = p.put(boost::asio::buffer(msg.data(), msg.size()), ec);
    Result r;
    r.body = p.get().body();
    r.done = !ec && p.is_done();
    r.failed = ec && ec != http::error::need_more;
    r.used = used >= kHead.size() ? used - kHead.size() : 0;
    return r;
}

bool within_bounds(std::string_view in) {
    // The decoder's own limits, which Beast does not have: extensions per chunk and trailers.
    std::size_t line = 0;
    for (char c : in) {
        line = c == '\n' ? 0 : line + 1;
        if (line > ChunkedDecoder::kMaxExtension) return false;
    }
    return in.size() < ChunkedDecoder::kMaxTrailers;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const Result whole = ours({in}, 64 * 1024);
    const auto parts = ccr::fuzz::pieces(in, ccr::fuzz::cut_points(in, 6));
    for (std::size_t room : {std::size_t{64 * 1024}, std::size_t{7}}) {
        const Result cut = ours(parts, room);
        FUZZ_CHECK(cut.done == whole.done && cut.failed == whole.failed && cut.body == whole.body &&
                       cut.used == whole.used,
                   "cut into %zu pieces, room %zu: a different result", parts.size(), room);
    }
    const Result b = beasts(in);
    if (!within_bounds(in)) return 0;
    if (b.done) {
        FUZZ_CHECK(whole.done, "Beast decodes the body whole, the decoder does not (failed: %d)", whole.failed);
        FUZZ_CHECK(whole.body == b.body, "bodies differ");
        FUZZ_CHECK(whole.used == b.used, "used %zu, Beast %zu", whole.used, b.used);
    }
    if (whole.failed) FUZZ_CHECK(!b.done, "the decoder refuses a body Beast decodes");
    // Extensions are skipped unread, so Beast may refuse one earlier than the decoder stops.
    if (whole.failed && b.failed && in.find(';') == std::string_view::npos)
        FUZZ_CHECK(whole.body == b.body, "different bodies before the failure");
    return 0;
}
