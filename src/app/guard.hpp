#pragma once
/// Runs a rank's work so that a failure on any rank ends the whole job promptly.
#include <functional>

#include "core/comm.hpp"

namespace sedpost::app {

/// Calls `body`; returns its exit code. If it throws, logs "rank R: <kind>: <message>" on the
/// failing rank and, when the job has more than one rank, calls comm.abort(code) so the other
/// ranks (possibly blocked in a collective) are ended instead of hanging.
int run_guarded(Comm& comm, const std::function<int()>& body);

}  // namespace sedpost::app
