#include "app/guard.hpp"

#include <exception>

#include "core/error.hpp"
#include "core/logger.hpp"

namespace sedpost::app {

namespace {

/// Logs the exception `e` as this rank's failure; returns its exit code.
int log_failure(const Comm& comm, const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const Error& err) {
    logger().error(cat("rank ", comm.rank(), " of ", comm.size(), ": ", err.kind(), ": ", err.what()));
    return static_cast<int>(err.exit_code());
  } catch (const std::bad_alloc&) {
    logger().error(cat("rank ", comm.rank(), " of ", comm.size(), ": out of memory"));
  } catch (const std::exception& err) {
    logger().error(cat("rank ", comm.rank(), " of ", comm.size(), ": internal error: ", err.what()));
  }
  return static_cast<int>(ExitCode::kGeneric);
}

}  // namespace

int run_guarded(Comm& comm, const std::function<int()>& body) {
  int code = 0;
  try {
    return body();
  } catch (const std::exception&) {
    code = log_failure(comm, std::current_exception());
  }
  // Other ranks may be waiting in a collective for this one: end the whole job.
  if (comm.size() > 1) comm.abort(code);
  return code;
}

void run_or_abort(Comm& comm, const std::function<void()>& body) {
  if (comm.size() == 1) return body();
  try {
    body();
  } catch (const std::exception&) {
    comm.abort(log_failure(comm, std::current_exception()));
  }
}

}  // namespace sedpost::app
