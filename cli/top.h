#pragma once
// `cc-relay top`: a live view of the running instance from its shared-memory segment (read
// access only, like `stats`): providers (requests, req/s, in flight, error rate, time to first
// byte, tokens/s, circuit), clients, workers. A frame is a pure function of two snapshots and the
// view state (top_render.cc), and so are the keys; the terminal loop is in top.cc.

#include <string>
#include <vector>

#include "shared/stats/snapshot.h"

namespace ccr::cli {

enum class TopView { providers, clients, workers };

struct TopFrame {
    TopView view = TopView::providers;
    int sort = 0;    // index into top_sort_columns(view); 0 keeps the configured order
    int width = 80;  // terminal columns: no line is longer
    int height = 0;  // terminal rows: no more lines than this (0: no limit)
    bool paused = false;
    bool keys = true;  // the key help at the bottom (not in plain frames)
};

/// The names of the columns `s` cycles through in a view (the first: as configured).
const std::vector<std::string>& top_sort_columns(TopView view);

enum class TopKey { ignored, redraw, quit };
/// What a key press does to the view: `q` quits, `v` or Tab the next view (sort reset), `s` the
/// next sort column, `p` pause on/off.
TopKey top_key(char key, TopFrame& frame);

/// The lines of one frame: a header, the view's table, and the key help. Rates and the TTFB
/// quantiles are over the time between `prev` and `now` (over the uptime without `prev`). At
/// most `frame.width` wide and, with a height, `frame.height` lines (rows left out are counted).
std::vector<std::string> render_top(const shared::stats::Snapshot& now,
                                    const shared::stats::Snapshot* prev,
                                    const TopFrame& frame);

}  // namespace ccr::cli
