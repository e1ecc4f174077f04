#pragma once
/// Runs a rank's work so that a failure on any rank ends the whole job promptly.
#include <functional>

#include "core/comm.hpp"

namespace sedpost::app {

/// Calls `body`; returns its exit code. If it throws, logs "rank R: <kind>: <message>" on the
/// failing rank and, when the job has more than one rank, calls comm.abort(code) so the other
/// ranks (possibly blocked in a collective) are ended instead of hanging.
int run_guarded(Comm& comm, const std::function<int()>& body);

/// Calls `body`, work of this rank alone (no collective call) made inside a scope whose objects
/// close collectively (e.g. a parallel HDF5 file): an exception unwinding into those closes would
/// wait for ranks that are elsewhere. So with more than one rank a throw is logged and the job
/// aborted at once with the error's exit code; with one rank the exception propagates.
void run_or_abort(Comm& comm, const std::function<void()>& body);

}  // namespace sedpost::app
