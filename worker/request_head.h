#pragma once

// The common case of a client's request head, parsed in one pass over bytes already buffered.
//
// Beast's request parser walks a head a byte at a time through a general state machine and was
// ~20 % of a small request's instructions (bench/analysis.md, row 20). What SDKs and Claude Code
// send is a narrow subset of HTTP/1.1: a token method, an ASCII target, HTTP/1.1 or 1.0, fields
// named by tokens with CRLF line ends, at most one decimal Content-Length, no Transfer-Encoding.
// `parse_simple_head` parses exactly that subset into the message Beast would have built (the
// same verb, target, version and fields in the same order, inserted the same way), and answers
// `not_simple` for anything else: the caller then hands the same bytes to Beast's parser, so
// every unusual or hostile head (obs-fold, bare LF, chunked bodies, smuggling attempts, oversized
// heads) is judged by Beast exactly as before. The fuzz harness http_head_fuzz checks on every
// input that a head this function completes is one Beast parses to the same message.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "worker/request_body.h"

namespace ccr::worker {

struct SimpleHead {
    enum class Result {
        complete,    // `req` holds the head; `size` bytes of the input were it
        incomplete,  // no complete head in the input yet (`req` is unspecified)
        not_simple,  // outside the subset: let Beast's parser judge the bytes (`req` is unspecified)
    };
    Result result = Result::incomplete;
    std::size_t size = 0;
    std::optional<std::uint64_t> content_length;
};

// `limit` is the parser's header limit (server.max_header_bytes): a head that does not end
// within it is `not_simple`, for Beast to refuse with its own error. `req` must be empty.
SimpleHead parse_simple_head(std::string_view bytes, std::size_t limit, ClientRequest& req);

}  // namespace ccr::worker
