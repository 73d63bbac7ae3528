#pragma once
// `cc-relay top`: a live view of the running instance from its shared-memory segment (read
// access only, like `stats`): providers (req/s, in flight, error rate, time to first byte,
// tokens/s, circuit), clients, workers. The frame is a pure function of two snapshots, so it is
// tested without a terminal.

#include <string>
#include <vector>

#include "shared/stats/snapshot.h"

namespace ccr::cli {

enum class TopView { providers, clients, workers };

struct TopFrame {
    TopView view = TopView::providers;
    int sort = 0;       // column the rows are sorted by (0: as configured); see top_sort_columns()
    int width = 80;     // terminal columns
    bool paused = false;
};

/// The names of the columns `s` cycles through in a view.
const std::vector<std::string>& top_sort_columns(TopView view);

/// The lines of one frame: a header, the view's table (rates from the difference between `prev`
/// and `now`; over the uptime without `prev`), and the key help. Each line at most `width` wide.
std::vector<std::string> render_top(const shared::stats::Snapshot& now,
                                    const shared::stats::Snapshot* prev,
                                    const TopFrame& frame);

}  // namespace ccr::cli
