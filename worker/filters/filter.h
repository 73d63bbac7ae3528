#pragma once
/// Step 2 of the request path: the filters. Each one looks at a request and either answers it
/// (returns a Rejection, which the session writes in Anthropic's error shape) or passes it on
/// (returns nothing). They run in one order, in chain.h: request id, auth on the head; admission
/// and client limits once the body is in.

#include <optional>
#include <string>
#include <string_view>

#include "shared/error/error.h"

namespace ccr::worker::filters {

struct Rejection {
    shared::Errc code;
    std::string message;
    std::string extra_headers = {};  // "Name: value\r\n"..., e.g. Retry-After
};

using Verdict = std::optional<Rejection>;

}  // namespace ccr::worker::filters
