#include "io/h5_handle.hpp"

#include <mutex>

#include "core/error.hpp"

namespace sedpost::io {

namespace {

/// Collect HDF5's error stack into one string ("H5Dwrite: ... ; H5D__write: ...").
herr_t append_error(unsigned n, const H5E_error2_t* err, void* client) {
  auto* out = static_cast<std::string*>(client);
  if (n > 0) *out += "; ";
  *out += err->func_name ? err->func_name : "?";
  *out += ": ";
  *out += err->desc ? err->desc : "";
  return 0;
}

void silence_default_printer() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

[[noreturn]] void throw_h5(const std::string& what) {
  std::string stack;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, append_error, &stack);
  H5Eclear2(H5E_DEFAULT);
  throw IoError(what + (stack.empty() ? "" : " (HDF5: " + stack + ")"));
}

}  // namespace

herr_t h5_check(herr_t status, const std::string& what) {
  silence_default_printer();
  if (status < 0) throw_h5(what);
  return status;
}

hid_t h5_check_id(hid_t id, const std::string& what) {
  silence_default_printer();
  if (id < 0) throw_h5(what);
  return id;
}

bool h5_check_tri(htri_t value, const std::string& what) {
  silence_default_printer();
  if (value < 0) throw_h5(what);
  return value > 0;
}

void Handle::close() {
  if (id_ >= 0 && closer_) {
    const hid_t id = std::exchange(id_, H5I_INVALID_HID);
    h5_check(closer_(id), "closing HDF5 object");
  }
}

void Handle::reset() noexcept {
  if (id_ >= 0 && closer_) closer_(id_);
  id_ = H5I_INVALID_HID;
}

}  // namespace sedpost::io
