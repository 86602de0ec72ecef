// Atomic, durable file and directory writes, and bounded whole-file reads.
#include "util/file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <utility>
#include <vector>

#include "xgrad/error.hpp"

namespace xg::file {

namespace fs = std::filesystem;

namespace {

WriteHook& write_hook() {
  static WriteHook hook;
  return hook;
}

bool& atomic_exchange_enabled() {
  static bool enabled = true;
  return enabled;
}

// The temporary sits beside the target: rename is only atomic within one file system.
fs::path temporary_sibling(const fs::path& target) {
  return target.parent_path() / ("." + target.filename().string() + ".tmp-" + unique_suffix());
}

std::string parent_of(const fs::path& p) {
  return p.parent_path().empty() ? std::string(".") : p.parent_path().string();
}

void sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw io_error("cannot open '" + path + "' to flush it: " + errno_text(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw io_error("cannot flush (fsync) '" + path + "': " + errno_text(err));
}

}  // namespace

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

std::string unique_suffix() {
  static std::atomic<unsigned long> counter{0};
  const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
  return std::to_string(::getpid()) + "-" + std::to_string(++counter) + "-" +
         std::to_string(static_cast<unsigned long long>(now) % 1000000007ull);
}

std::string read_file(const std::string& path, std::size_t max_bytes) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw io_error(path + ": missing or not a regular file");
  const auto size = fs::file_size(path, ec);
  if (ec) throw io_error(path + ": cannot read its size: " + ec.message());
  if (size > max_bytes)
    throw io_error(path + ": " + std::to_string(size) + " bytes is more than the limit of " +
                   std::to_string(max_bytes));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io_error(path + ": cannot open: " + errno_text(errno));
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(in.gcount()) != size) throw io_error(path + ": read failed");
  return text;
}

namespace {

// Closes a descriptor on every path out.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

}  // namespace

std::string read_file_in(const std::string& dir, const std::string& relative,
                         std::size_t max_bytes) {
  const std::string path = (fs::path(dir) / relative).string();
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    const std::size_t slash = relative.find('/', start);
    parts.push_back(relative.substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  for (const auto& part : parts)
    if (!is_plain_file_name(part))
      throw io_error(path + ": '" + part + "' is not a plain file name");
  Fd at(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (at.fd < 0) throw io_error(dir + ": cannot open the directory: " + errno_text(errno));
  auto refuse = [&](int err, const std::string& part) {
    struct stat link;
    if ((err == ELOOP || err == ENOTDIR) &&
        ::fstatat(at.fd, part.c_str(), &link, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(link.st_mode))
      throw io_error(path + ": '" + part +
                     "' is a symbolic link; refusing to follow links inside a saved directory");
    if (err == ENOENT) throw io_error(path + ": missing");
    throw io_error(path + ": cannot open: " + errno_text(err));
  };
  for (std::size_t k = 0; k + 1 < parts.size(); ++k) {
    const int sub =
        ::openat(at.fd, parts[k].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) refuse(errno, parts[k]);
    ::close(at.fd);
    at.fd = sub;
  }
  // O_NONBLOCK: opening a FIFO planted in the directory must not hang.
  Fd f(::openat(at.fd, parts.back().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (f.fd < 0) refuse(errno, parts.back());
  struct stat st;
  if (::fstat(f.fd, &st) != 0) throw io_error(path + ": cannot stat: " + errno_text(errno));
  if (!S_ISREG(st.st_mode)) throw io_error(path + ": not a regular file");
  const auto size = static_cast<std::uintmax_t>(st.st_size);
  if (size > max_bytes)
    throw io_error(path + ": " + std::to_string(size) + " bytes is more than the limit of " +
                   std::to_string(max_bytes));
  std::string bytes(static_cast<std::size_t>(size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(f.fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw io_error(path + ": read failed: " + errno_text(errno));
    }
    if (n == 0) throw io_error(path + ": read failed: the file shrank while it was read");
    done += static_cast<std::size_t>(n);
  }
  return bytes;
}

bool is_plain_file_name(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (unsigned char c : name)
    if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) return false;
  return true;
}

void set_write_hook(WriteHook hook) { write_hook() = std::move(hook); }
void set_atomic_exchange(bool enabled) { atomic_exchange_enabled() = enabled; }

void write_new_file(const std::string& path, const std::string& bytes) {
  if (write_hook()) write_hook()(path);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw io_error("cannot create '" + path + "': " + errno_text(errno));
  auto fail_with = [&](const char* what, int err) {
    ::close(fd);
    ::unlink(path.c_str());
    throw io_error(std::string("cannot ") + what + " '" + path + "': " + errno_text(err));
  };
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_with("write", errno);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail_with("flush (fsync)", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(path.c_str());
    throw io_error("cannot close '" + path + "': " + errno_text(err));
  }
}

void sync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    throw io_error("cannot open directory '" + dir + "' to sync it: " + errno_text(errno));
  // Some file systems refuse fsync on directories (EINVAL); the data is
  // already on disk then, so only real I/O errors count.
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL && err != EROFS)
    throw io_error("cannot sync directory '" + dir + "': " + errno_text(err));
}

void write_atomically_with(const std::string& path,
                           const std::function<void(const std::string& tmp_path)>& write) {
  if (path.empty()) throw io_error("cannot write a file: expected a path, got an empty string");
  const fs::path target(path);
  const fs::path tmp = temporary_sibling(target);
  try {
    write(tmp.string());
    sync_file(tmp.string());
    if (std::rename(tmp.c_str(), target.c_str()) != 0)
      throw io_error("cannot write '" + path + "': cannot rename '" + tmp.string() +
                     "' to it: " + errno_text(errno));
  } catch (...) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw;
  }
  sync_directory(parent_of(target));
}

void write_atomically(const std::string& path, const std::string& bytes) {
  write_atomically_with(path, [&](const std::string& tmp) {
    try {
      write_new_file(tmp, bytes);
    } catch (const io_error& e) {
      throw io_error("cannot write '" + path + "': " + e.what());
    }
  });
}

namespace {

struct Target {
  fs::path target, parent;
  std::string name;
  bool replacing = false;
};

// Where `dir` would go, and whether a save may put it there: the checks of
// check_directory_target without touching the disk.
Target examine(const std::string& dir, const std::string& marker, const std::string& what) {
  Target t;
  t.target = fs::path(dir);
  if (!t.target.has_filename()) t.target = t.target.parent_path();  // "runs/model/"
  t.name = t.target.filename().string();
  if (t.name.empty() || t.name == "." || t.name == "..")
    throw value_error(what + ": '" + dir + "' does not name a directory to create");
  t.parent = t.target.parent_path().empty() ? fs::path(".") : t.target.parent_path();
  std::error_code ec;
  // The nearest existing ancestor must be a directory, or creating the parents fails.
  for (fs::path p = t.parent; !p.empty(); p = p.parent_path()) {
    const auto st = fs::status(p, ec);
    if (fs::exists(st)) {
      if (!fs::is_directory(st))
        throw io_error(what + ": cannot save to '" + dir + "': '" + p.string() +
                       "' is not a directory");
      break;
    }
    if (p == p.parent_path()) break;
  }
  const auto st = fs::symlink_status(t.target, ec);
  t.replacing = fs::exists(st);
  if (t.replacing) {
    if (fs::is_symlink(st))
      throw io_error(what + ": '" + dir + "' is a symbolic link; refusing to replace it");
    if (!fs::is_directory(st))
      throw io_error(what + ": '" + dir +
                     "' exists and is not a directory; refusing to replace it");
    if (!fs::is_empty(t.target, ec) && !fs::exists(t.target / marker, ec))
      throw io_error(what + ": '" + dir + "' is a non-empty directory without " + marker +
                     "; refusing to replace something that is not a saved xgrad directory");
  }
  return t;
}

// Temporaries ".<name>.tmp-<pid>-…" and ".<name>.old-<pid>-…" whose process is
// gone were left by a killed save; the next save into the same place removes them.
void remove_stale_temporaries(const fs::path& parent, const std::string& name) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    const std::string f = entry.path().filename().string();
    for (const char* kind : {".tmp-", ".old-"}) {
      const std::string prefix = "." + name + kind;
      if (f.compare(0, prefix.size(), prefix) != 0) continue;
      const std::string rest = f.substr(prefix.size());
      char* end = nullptr;
      const long pid = std::strtol(rest.c_str(), &end, 10);
      if (pid <= 0 || end == rest.c_str() || *end != '-') continue;
      if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
        std::error_code ignored;
        fs::remove_all(entry.path(), ignored);
      }
    }
  }
}

}  // namespace

void check_directory_target(const std::string& dir, const std::string& marker,
                            const std::string& what) {
  examine(dir, marker, what);
}

void write_directory_atomically(const std::string& dir, const std::string& marker,
                                const std::function<void(const std::string& tmp_dir)>& write,
                                const std::string& what) {
  const Target t = examine(dir, marker, what);
  const fs::path& target = t.target;
  const fs::path& parent = t.parent;
  const std::string& name = t.name;
  const bool replacing = t.replacing;
  std::error_code ec;
  // Parents this save creates are removed again if it fails.
  std::vector<fs::path> created;
  for (fs::path p = parent; !p.empty() && !fs::exists(p, ec); p = p.parent_path()) {
    created.push_back(p);
    if (p == p.parent_path()) break;
  }
  auto remove_created = [&] {
    std::error_code ignored;
    for (const fs::path& p : created) fs::remove(p, ignored);  // innermost first; only if empty
  };
  fs::create_directories(parent, ec);
  if (ec) {
    remove_created();
    throw io_error(what + ": cannot create the parent directory '" + parent.string() + "' of '" +
                   dir + "': " + ec.message());
  }
  remove_stale_temporaries(parent, name);

  const fs::path tmp = parent / ("." + name + ".tmp-" + unique_suffix());
  if (!fs::create_directory(tmp, ec) || ec) {
    remove_created();
    throw io_error(what + ": cannot create the temporary directory '" + tmp.string() +
                   "': " + (ec ? ec.message() : "it already exists"));
  }
  auto discard_tmp = [&] {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
  };
  try {
    write(tmp.string());
    sync_directory(tmp.string());
  } catch (...) {
    discard_tmp();
    remove_created();
    throw;
  }

  if (!replacing) {
    if (std::rename(tmp.c_str(), target.c_str()) == 0) {
      sync_directory(parent.string());
      return;
    }
    const int err = errno;
    // A concurrent save created the directory meanwhile: replace it as any
    // earlier save (the last save to finish is what the path holds).
    const bool raced = (err == ENOTEMPTY || err == EEXIST) && fs::exists(target / marker, ec) &&
                       !fs::is_symlink(fs::symlink_status(target, ec));
    if (!raced) {
      discard_tmp();
      remove_created();
      throw io_error(what + ": cannot rename '" + tmp.string() + "' to '" + dir +
                     "': " + errno_text(err));
    }
  }
#if defined(__linux__) && defined(RENAME_EXCHANGE)
  // One atomic step: the path always names a complete directory.
  if (atomic_exchange_enabled() &&
      ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, target.c_str(), RENAME_EXCHANGE) == 0) {
    sync_directory(parent.string());
    discard_tmp();  // now holds the old directory
    return;
  }
#endif
  // Portable fallback: the old directory is moved aside, not deleted, until
  // the new one is in place.
  const fs::path aside = parent / ("." + name + ".old-" + unique_suffix());
  if (std::rename(target.c_str(), aside.c_str()) != 0) {
    const int err = errno;
    discard_tmp();
    throw io_error(what + ": cannot move the old '" + dir + "' aside: " + errno_text(err));
  }
  if (std::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    std::rename(aside.c_str(), target.c_str());
    discard_tmp();
    throw io_error(what + ": cannot rename '" + tmp.string() + "' to '" + dir +
                   "': " + errno_text(err));
  }
  sync_directory(parent.string());
  fs::remove_all(aside, ec);  // a leftover hidden ".old-" directory is harmless
}

}  // namespace xg::file
