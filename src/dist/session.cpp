// The distributed session: starting and ending the transport, the build
// check every rank runs before exchanging raw Scalars, and the fault paths
// (abort_job, run) that keep a failed rank from leaving the others waiting.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <string>

#include "dist/backend.hpp"
#include "xgrad/dist.hpp"

#ifndef XGRAD_VERSION_MAJOR  // set by CMakeLists.txt from project(VERSION)
#error "XGRAD_VERSION_MAJOR/MINOR/PATCH must be defined by the build"
#endif

namespace xg::dist {

namespace {
bool session_alive = false;

std::string describe(const Fingerprint& f) {
  std::string scalar = f.scalar_bytes == 8   ? "double"
                       : f.scalar_bytes == 4 ? "float"
                                             : std::to_string(f.scalar_bytes) + "-byte";
  return "Scalar = " + scalar + ", xgrad " + std::to_string(f.version_major) + "." +
         std::to_string(f.version_minor) + "." + std::to_string(f.version_patch);
}

bool same(const Fingerprint& a, const Fingerprint& b) {
  return a.scalar_bytes == b.scalar_bytes && a.version_major == b.version_major &&
         a.version_minor == b.version_minor && a.version_patch == b.version_patch;
}
}  // namespace

bool built_with_mpi() { return backend::is_mpi(); }

Fingerprint local_fingerprint() {
  Fingerprint f;
  f.scalar_bytes = sizeof(Scalar);
  f.version_major = XGRAD_VERSION_MAJOR;
  f.version_minor = XGRAD_VERSION_MINOR;
  f.version_patch = XGRAD_VERSION_PATCH;
  return f;
}

void check_fingerprints(const std::vector<Fingerprint>& all) {
  for (std::size_t r = 1; r < all.size(); ++r)
    if (!same(all[r], all[0]))
      throw dist_error("dist: the ranks run different xgrad builds: rank 0 has " +
                       describe(all[0]) + ", rank " + std::to_string(r) + " has " +
                       describe(all[r]) +
                       "; build every rank from the same xgrad with the same XGRAD_FLOAT");
}

Session::Session() { start(nullptr, nullptr); }
Session::Session(int& argc, char**& argv) { start(&argc, &argv); }

void Session::start(int* argc, char*** argv) {
  if (session_alive) throw dist_error("dist: a Session already exists in this process");
  uncaught_at_start_ = std::uncaught_exceptions();
  if (!backend::start(argc, argv, owner_)) {
    session_alive = true;
    return;
  }
  // Every rank sees the same gathered table, so every rank throws the same
  // error (and none is left waiting) when the builds differ.
  std::vector<Fingerprint> all(static_cast<std::size_t>(backend::size()));
  const Fingerprint mine = local_fingerprint();
  try {
    backend::allgather(&mine, sizeof mine, all.data());
    check_fingerprints(all);
  } catch (...) {
    backend::stop(owner_);
    throw;
  }
  session_alive = true;
}

Session::~Session() {
  // A rank leaving by exception must not finalize: MPI_Finalize would wait
  // for ranks that are themselves waiting for this rank in a collective.
  if (std::uncaught_exceptions() > uncaught_at_start_ && size() > 1)
    abort_job("an exception left the dist::Session's scope (use dist::run to print it)");
  if (backend::active()) backend::stop(owner_);
  session_alive = false;
}

int rank() { return backend::active() ? backend::rank() : 0; }
int size() { return backend::active() ? backend::size() : 1; }
bool is_distributed() { return size() > 1; }

[[noreturn]] void abort_job(const std::string& why) {
  // One write, so that lines of ranks failing together do not interleave.
  const std::string line = "xgrad: rank " + std::to_string(rank()) + " of " +
                           std::to_string(size()) + " failed: " + why + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
  if (backend::active()) backend::abort(1);
  std::exit(1);
}

int run(int& argc, char**& argv, const std::function<int()>& body) {
  std::unique_ptr<Session> session;
  try {
    session = std::make_unique<Session>(argc, argv);
  } catch (const std::exception& e) {
    // Every rank failed the same way (mismatched builds): none is left waiting.
    std::cerr << "xgrad: error: " << e.what() << std::endl;
    return 1;
  }
  try {
    return body();
  } catch (const std::exception& e) {
    if (is_distributed()) abort_job(e.what());
    std::cerr << "xgrad: error: " << e.what() << std::endl;
  } catch (...) {
    if (is_distributed()) abort_job("an exception of unknown type");
    std::cerr << "xgrad: error: an exception of unknown type" << std::endl;
  }
  return 1;
}

}  // namespace xg::dist
