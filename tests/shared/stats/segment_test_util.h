#pragma once
// A uniquely named stats segment for one test, removed at the end of it.

#include <unistd.h>

#include <atomic>
#include <string>

#include "shared/stats/segment.h"

namespace ccr::shared::stats::testing {

inline std::string unique_segment_name() {
    static std::atomic<int> n{0};
    return "/ccr-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

/// Owns a segment name: removes it on construction (a leftover of a crashed run) and destruction.
class ScopedName {
  public:
    ScopedName() : name_(unique_segment_name()) { Segment::remove(name_); }
    ~ScopedName() { Segment::remove(name_); }
    ScopedName(const ScopedName&) = delete;
    ScopedName& operator=(const ScopedName&) = delete;
    const std::string& get() const { return name_; }

  private:
    std::string name_;
};

}  // namespace ccr::shared::stats::testing
