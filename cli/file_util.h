#pragma once
// File helpers for the commands that write the user's files (config init, config cc).
// Failures throw std::runtime_error naming the path and the system call; main.cc prints them.

#include <sys/types.h>

#include <string>

namespace ccr::cli {

/// $HOME, else the passwd entry; throws when neither is known.
std::string home_dir();
/// Expands a leading "~/" (or a lone "~") to the home directory.
std::string expand_home(const std::string& path);
/// The directory part of `path` ("." when it has none).
std::string parent_dir(const std::string& path);

/// Whether `path` exists (following symlinks).
bool path_exists(const std::string& path);
/// Reads a whole file; throws on failure.
std::string read_file(const std::string& path);
/// Creates `dir` and its missing parents with `mode` (before the umask); throws on failure.
void make_dirs(const std::string& dir, mode_t mode);

/// Replaces `path` atomically: writes a temporary file in the same directory, sets `mode`,
/// fsyncs it, renames it over `path` and fsyncs the directory. A reader sees the old or the
/// new content, never a mix; on failure the temporary file is removed and `path` is unchanged.
void write_file_atomic(const std::string& path, const std::string& content, mode_t mode);

}  // namespace ccr::cli
