#pragma once
// The order Beast's header container iterates a response head's fields in: a field whose name is
// already there goes after the last of that name (basic_fields::insert), so repeated names come
// together, while parse_simple_response_head keeps the wire order. For comparing the two (the unit
// tests and http_head_fuzz); both orders keep the order among fields of one name, which is all
// HTTP gives meaning to.

#include <strings.h>

#include <vector>

#include "worker/simple_head.h"

namespace ccr::worker::testing {

inline std::vector<ResponseHead::Field> in_beast_order(const ResponseHead& head) {
    std::vector<ResponseHead::Field> out;
    for (const ResponseHead::Field& f : head.fields) {
        auto at = out.end();
        for (auto it = out.begin(); it != out.end(); ++it) {
            if (it->name.size() == f.name.size() && ::strncasecmp(it->name.data(), f.name.data(), f.name.size()) == 0)
                at = it + 1;
        }
        out.insert(at, f);
    }
    return out;
}

}  // namespace ccr::worker::testing
