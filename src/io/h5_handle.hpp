#pragma once
/// Checked, RAII access to the HDF5 C API. Every HDF5 call goes through h5_check(), which
/// throws sedpost::IoError carrying HDF5's own error stack text.
#include <hdf5.h>

#include <string>
#include <utility>

namespace sedpost::io {

/// Throws IoError("<what>: <HDF5 error stack>") when `status` < 0; returns `status`.
herr_t h5_check(herr_t status, const std::string& what);
/// Same for functions returning identifiers (hid_t < 0 is failure).
hid_t h5_check_id(hid_t id, const std::string& what);
/// Same for tri-state functions (htri_t: >0 true, 0 false, <0 error).
bool h5_check_tri(htri_t value, const std::string& what);

/// Owns one HDF5 identifier and closes it with the matching H5?close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() { reset(); }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), closer_(o.closer_) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
      closer_ = o.closer_;
    }
    return *this;
  }
  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  /// Close now; errors on close are checked (a failed close can mean lost data).
  void close();
  /// Forget the identifier without closing it (for a close that cannot happen safely, such as a
  /// collective one that the other ranks will never join).
  void release() noexcept { id_ = H5I_INVALID_HID; }

 private:
  void reset() noexcept;
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

inline Handle make_file(hid_t id) { return Handle(id, H5Fclose); }
inline Handle make_dataset(hid_t id) { return Handle(id, H5Dclose); }
inline Handle make_space(hid_t id) { return Handle(id, H5Sclose); }
inline Handle make_type(hid_t id) { return Handle(id, H5Tclose); }
inline Handle make_plist(hid_t id) { return Handle(id, H5Pclose); }
inline Handle make_attr(hid_t id) { return Handle(id, H5Aclose); }
inline Handle make_group(hid_t id) { return Handle(id, H5Gclose); }
inline Handle make_object(hid_t id) { return Handle(id, H5Oclose); }

}  // namespace sedpost::io
