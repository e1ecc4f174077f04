#include "core/comm.hpp"

#include <cstdlib>

namespace sedpost {

void Comm::broadcast(std::string& s, int root) {
  std::uint64_t n = s.size();
  broadcast_value(n, root);
  s.resize(n);
  if (n > 0) broadcast(s.data(), n, root);
}

void SerialComm::abort(int exit_code) { std::exit(exit_code); }

RowRange block_range(std::uint64_t n, int rank, int size) {
  const std::uint64_t p = static_cast<std::uint64_t>(size);
  const std::uint64_t r = static_cast<std::uint64_t>(rank);
  const std::uint64_t base = n / p;
  const std::uint64_t extra = n % p;
  RowRange range;
  range.begin = r * base + (r < extra ? r : extra);
  range.end = range.begin + base + (r < extra ? 1 : 0);
  return range;
}

}  // namespace sedpost
