#pragma once
// The one place xgrad writes and reads whole files (internal, not installed).
// Every file the library creates goes through write_atomically() or
// write_directory_atomically(): the bytes go to a uniquely named temporary
// sibling, are flushed to disk (fsync of the file, then of the directory),
// and the finished file or directory is renamed into place. A crash, a full
// disk or an error therefore never leaves half a file under the real name,
// and a concurrent writer never shares our temporary.
#include <cstddef>
#include <functional>
#include <string>

namespace xg::file {

/// The system's text for an errno value ("No such file or directory").
std::string errno_text(int err);

/// A name no other save in this process or another one uses at the moment:
/// "<pid>-<counter>-<clock>".
std::string unique_suffix();

/// The whole file as bytes; io_error naming the path if it is missing, not a
/// regular file, larger than `max_bytes` or unreadable.
std::string read_file(const std::string& path, std::size_t max_bytes);

/// The whole file `relative` ("model.json", "model/0.weight.npy") inside the
/// directory `dir`, opened without following symbolic links: `dir` itself
/// is the caller's choice, but a saved directory is untrusted input, and a
/// link inside it could make a load read any file on the machine. io_error
/// naming the path for a link ("is a symbolic link; refusing to follow it"),
/// a missing or non-regular file, more than `max_bytes`, or a read error.
/// Each component of `relative` must be a plain file name.
std::string read_file_in(const std::string& dir, const std::string& relative,
                         std::size_t max_bytes);

/// Whether `name` can be a file name inside a saved directory: one path
/// component, not "." or "..", no '/', '\\' or control characters.
bool is_plain_file_name(const std::string& name);

/// Creates `path` (which must not exist), writes `bytes`, fsyncs and closes
/// it; io_error naming the path and the system's reason otherwise (the
/// partial file is removed). For files inside a temporary directory that
/// write_directory_atomically() renames as a whole.
void write_new_file(const std::string& path, const std::string& bytes);

/// fsyncs a directory so renames and new entries in it survive a crash.
void sync_directory(const std::string& dir);

/// Replaces `path` with `bytes` atomically (see the top of this file). On
/// error `path` is unchanged, no temporary remains, and io_error names `path`.
void write_atomically(const std::string& path, const std::string& bytes);

/// The same for writers that need a path of their own (a gzip stream):
/// `write(tmp_path)` must create tmp_path; it is then fsynced and renamed
/// over `path`. Exceptions from `write` propagate after the cleanup.
void write_atomically_with(const std::string& path,
                           const std::function<void(const std::string& tmp_path)>& write);

/// Writes a new directory with `write(tmp_dir)` into a fresh temporary sibling
/// of `dir` (".<name>.tmp-<unique>"), flushes it, then puts it in place of
/// `dir`: with an atomic exchange where the file system supports it, else by
/// renaming the old directory aside, renaming the new one in and removing the
/// old one. An existing `dir` must be empty or contain `marker` (io_error
/// otherwise). On any error the temporary directory is removed and `dir` is
/// as it was, and parent directories it created are removed again.
/// Concurrent saves to one path each complete; the last to finish is what
/// the path holds (one that finds the directory created by another meanwhile
/// replaces it like an existing save).
/// Temporaries of earlier saves to the same place whose process is gone
/// (".<name>.tmp-<pid>-…", ".<name>.old-<pid>-…") are removed first.
/// `what` starts error messages ("save", "save_checkpoint").
void write_directory_atomically(const std::string& dir, const std::string& marker,
                                const std::function<void(const std::string& tmp_dir)>& write,
                                const std::string& what = "save");

/// Throws what write_directory_atomically(dir, marker, …) would throw before
/// writing anything (a target that is a file, a link or a foreign directory;
/// a parent path through a file), so a program can refuse a bad output path
/// before hours of work. Touches nothing.
void check_directory_target(const std::string& dir, const std::string& marker,
                            const std::string& what = "save");

// ------------------------------------------------------------------ test hooks

/// When set, called with each path just before write_new_file() or
/// write_atomically() writes it; throwing from it simulates a failure midway
/// through a save. Not thread-safe; pass nullptr to clear.
using WriteHook = std::function<void(const std::string& path)>;
void set_write_hook(WriteHook hook);

/// false makes write_directory_atomically use its portable fallback (rename
/// aside, rename in, remove) even where an atomic exchange exists.
void set_atomic_exchange(bool enabled);

}  // namespace xg::file
