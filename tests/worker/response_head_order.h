#pragma once
// The order Beast's header container iterates a head's fields in: a field whose name is already
// there goes after the last of that name (basic_fields::insert), so repeated names come together,
// while parse_simple_head and parse_simple_response_head keep the wire order. For comparing the two (the unit
// tests and http_head_fuzz); both orders keep the order among fields of one name, which is all
// HTTP gives meaning to.

#include <strings.h>

#include <vector>

#include "worker/simple_head.h"

namespace ccr::worker::testing {

inline std::vector<HeadField> in_beast_order(const HeadFields& fields) {
    std::vector<HeadField> out;
    for (const HeadField& f : fields) {
        auto at = out.end();
        for (auto it = out.begin(); it != out.end(); ++it) {
            if (it->name.size() == f.name.size() && ::strncasecmp(it->name.data(), f.name.data(), f.name.size()) == 0)
                at = it + 1;
        }
        out.insert(at, f);
    }
    return out;
}

inline std::vector<HeadField> in_beast_order(const ResponseHead& head) { return in_beast_order(head.fields); }

}  // namespace ccr::worker::testing
