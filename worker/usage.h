#pragma once
// Token usage of one answer, as the upstream reported it (`usage` of a Message, or the SSE
// `message_start` / `message_delta` events). A neutral header: the tap fills it, the record and
// the stats read it.

#include <cstdint>

namespace ccr::worker {

struct Usage {
    std::int64_t input_tokens = 0;
    std::int64_t output_tokens = 0;
    std::int64_t cache_read_input_tokens = 0;
    std::int64_t cache_creation_input_tokens = 0;
};

}  // namespace ccr::worker
