#include "app/guard.hpp"

#include <exception>

#include "core/error.hpp"
#include "core/logger.hpp"

namespace sedpost::app {

int run_guarded(Comm& comm, const std::function<int()>& body) {
  int code = 0;
  try {
    return body();
  } catch (const Error& e) {
    logger().error(cat("rank ", comm.rank(), " of ", comm.size(), ": ", e.kind(), ": ", e.what()));
    code = static_cast<int>(e.exit_code());
  } catch (const std::bad_alloc&) {
    logger().error(cat("rank ", comm.rank(), " of ", comm.size(), ": out of memory"));
    code = static_cast<int>(ExitCode::kGeneric);
  } catch (const std::exception& e) {
    logger().error(cat("rank ", comm.rank(), " of ", comm.size(), ": internal error: ", e.what()));
    code = static_cast<int>(ExitCode::kGeneric);
  }
  // Other ranks may be waiting in a collective for this one: end the whole job.
  if (comm.size() > 1) comm.abort(code);
  return code;
}

}  // namespace sedpost::app
