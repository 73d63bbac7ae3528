#pragma once
// Private to the worker's JSON readers (body.cc, thinking.cc): what stands behind the opaque
// JsonParser, and the padding rule. Include it only from .cc files compiled with the simdjson
// flags that worker/CMakeLists.txt sets: simdjson picks its kernel namespace from those flags, so
// a file compiled without them would see a different JsonParser.

#include <simdjson.h>

#include <cstddef>
#include <string_view>
#include <vector>

#include "worker/body.h"
#include "worker/json_check.h"

namespace ccr::worker {

class JsonParser {
  public:
    simdjson::ondemand::parser parser;
    std::vector<JsonMember> members;  // inspect_body's, kept to reuse its memory
};

/// simdjson needs readable padding after the input; copies only when the buffer has none. Offsets
/// into view.data() equal offsets into the body either way.
struct PaddedJson {
    simdjson::padded_string copy;
    simdjson::padded_string_view view;
    PaddedJson(std::string_view body, std::size_t capacity) {
        if (capacity >= body.size() + kJsonPadding) {
            view = simdjson::padded_string_view(body.data(), body.size(), capacity);
        } else {
            copy = simdjson::padded_string(body);
            view = copy;
        }
    }
};

}  // namespace ccr::worker
