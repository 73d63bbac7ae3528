#pragma once
// Process titles, so `ps` tells the master and its workers apart ("cc-relay: master",
// "cc-relay: worker 3 gen 7"), as nginx does: the title is written over the memory that held
// argv (and the environment strings after it, moved to the heap first), which is what
// /proc/<pid>/cmdline shows. The short name (comm) stays "cc-relay".

#include <string_view>

namespace ccr::shared {

/// Call once, first thing in main, before anything keeps pointers into argv or the environment.
void init_proc_title(int argc, char** argv);

/// Replaces the process title (truncated to the space argv had). No-op before init.
void set_proc_title(std::string_view title);

}  // namespace ccr::shared
