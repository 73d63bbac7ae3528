#pragma once
// A client's request as the session hands it to the filters, routes and providers: its request
// line and header fields as views, in wire order, and its body (request_body.h).
//
// The views point into bytes the session keeps for the request's lifetime: its copy of a head
// that parse_simple_head read (simple_head.h), or the message of the Beast parser that read an
// unusual one. Beast's own header container took an allocation, a copy and a red-black-tree
// insert per field (~450 instructions a field by callgrind; Claude Code sends 21); here a field
// is three words in a vector with room for 24, and a lookup a scan of them (bench/analysis.md,
// row 32).

#include <cstddef>
#include <string_view>

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/container/small_vector.hpp>

#include "worker/request_body.h"

namespace ccr::worker {

/// One header field: Beast's enum for its name (`unknown` for a name Beast has none for), the
/// name as sent and the value without its surrounding whitespace.
struct HeadField {
    boost::beast::http::field known = boost::beast::http::field::unknown;
    std::string_view name;
    std::string_view value;
};

using HeadFields = boost::container::small_vector<HeadField, 24>;

/// The first field of this known name, or null.
inline const HeadField* find_field(const HeadFields& fields, boost::beast::http::field known) {
    for (const HeadField& f : fields) {
        if (f.known == known) return &f;
    }
    return nullptr;
}

/// The first field of this name, compared without regard to case, or null.
const HeadField* find_field(const HeadFields& fields, std::string_view name);

/// `v`, which pointed at `from` + k, pointing at `to` + k.
inline std::string_view rebased(std::string_view v, const char* from, const char* to) {
    return {to + (v.data() - from), v.size()};
}

/// Every view of `fields` that pointed at `from` + k now points at `to` + k.
void rebase_fields(HeadFields& fields, const char* from, const char* to);

class ClientRequest {
public:
    boost::beast::http::verb method() const { return verb_; }
    /// As sent (also for a method Beast has no verb for).
    std::string_view method_string() const { return method_; }
    std::string_view target() const { return target_; }
    unsigned version() const { return version_; }  // 10 or 11
    /// Whether the client asked to keep the connection: HTTP/1.1 unless its first Connection field
    /// lists `close`, HTTP/1.0 only when it lists `keep-alive` (Beast's rule).
    bool keep_alive() const { return keep_alive_; }

    const HeadFields& fields() const { return fields_; }
    HeadFields::const_iterator begin() const { return fields_.begin(); }
    HeadFields::const_iterator end() const { return fields_.end(); }
    const HeadField* find(boost::beast::http::field known) const { return find_field(fields_, known); }
    const HeadField* find(std::string_view name) const { return find_field(fields_, name); }
    /// The first field's value, or empty.
    std::string_view value(boost::beast::http::field known) const {
        const HeadField* f = find(known);
        return f != nullptr ? f->value : std::string_view{};
    }
    std::string_view value(std::string_view name) const {
        const HeadField* f = find(name);
        return f != nullptr ? f->value : std::string_view{};
    }

    RequestBody::value_type& body() { return body_; }
    const RequestBody::value_type& body() const { return body_; }

    // For the parsers (simple_head.cc, the session's adoption of a Beast-parsed head).
    void set_request_line(boost::beast::http::verb verb, std::string_view method, std::string_view target,
                          unsigned version) {
        verb_ = verb;
        method_ = method;
        target_ = target;
        version_ = version;
    }
    void add(boost::beast::http::field known, std::string_view name, std::string_view value) {
        fields_.push_back({known, name, value});
    }
    void set_keep_alive(bool keep) { keep_alive_ = keep; }
    /// The views pointed into bytes now at `to` that were at `from`.
    void rebase(const char* from, const char* to);

private:
    boost::beast::http::verb verb_ = boost::beast::http::verb::unknown;
    std::string_view method_;
    std::string_view target_;
    unsigned version_ = 11;
    bool keep_alive_ = false;
    HeadFields fields_;
    RequestBody::value_type body_;
};

}  // namespace ccr::worker
