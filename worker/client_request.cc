#include "worker/client_request.h"

#include "worker/request.h"

namespace ccr::worker {

const HeadField* find_field(const HeadFields& fields, std::string_view name) {
    for (const HeadField& f : fields) {
        if (f.name.size() == name.size() && iequals(f.name, name)) return &f;
    }
    return nullptr;
}

void rebase_fields(HeadFields& fields, const char* from, const char* to) {
    for (HeadField& f : fields) {
        f.name = std::string_view(to + (f.name.data() - from), f.name.size());
        f.value = std::string_view(to + (f.value.data() - from), f.value.size());
    }
}

void ClientRequest::rebase(const char* from, const char* to) {
    method_ = std::string_view(to + (method_.data() - from), method_.size());
    target_ = std::string_view(to + (target_.data() - from), target_.size());
    rebase_fields(fields_, from, to);
}

}  // namespace ccr::worker
