#pragma once
// The asan flavour (CCR_SANITIZE) and the processes that end with _exit.

namespace ccr::shared {

/// In a build with AddressSanitizer, runs LeakSanitizer's check now and dies with its report
/// when something leaked (the check at exit is skipped by `_exit`, which every forked child of
/// the master ends with). Does nothing in other builds, or with ASAN_OPTIONS=detect_leaks=0.
void check_leaks_before_exit();

}  // namespace ccr::shared
