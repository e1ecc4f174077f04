#include "io/h5_file.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.hpp"

namespace sedpost::io {

hid_t native_type(DType t) {
  switch (t) {
    case DType::kFloat32: return H5T_NATIVE_FLOAT;
    case DType::kFloat64: return H5T_NATIVE_DOUBLE;
    case DType::kInt64: return H5T_NATIVE_INT64;
    case DType::kUInt32: return H5T_NATIVE_UINT32;
    case DType::kUInt8: return H5T_NATIVE_UINT8;
  }
  return H5T_NATIVE_FLOAT;
}

namespace {

/// Storage type: IEEE little-endian, so files are identical across machines.
hid_t file_type(DType t) {
  switch (t) {
    case DType::kFloat32: return H5T_IEEE_F32LE;
    case DType::kFloat64: return H5T_IEEE_F64LE;
    case DType::kInt64: return H5T_STD_I64LE;
    case DType::kUInt32: return H5T_STD_U32LE;
    case DType::kUInt8: return H5T_STD_U8LE;
  }
  return H5T_IEEE_F32LE;
}

std::size_t type_size(DType t) {
  switch (t) {
    case DType::kFloat32: case DType::kUInt32: return 4;
    case DType::kFloat64: case DType::kInt64: return 8;
    case DType::kUInt8: return 1;
  }
  return 4;
}

Handle variable_string_type() {
  Handle t = make_type(h5_check_id(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  h5_check(H5Tset_size(t.id(), H5T_VARIABLE), "H5Tset_size");
  h5_check(H5Tset_cset(t.id(), H5T_CSET_UTF8), "H5Tset_cset");
  return t;
}

Handle copy_plist(const Handle& p) {
  if (!p.valid()) return {};
  return make_plist(h5_check_id(H5Pcopy(p.id()), "H5Pcopy"));
}

}  // namespace

H5File::H5File(std::string path, Handle file, const FileAccess& access)
    : path_(std::move(path)), file_(std::move(file)), dxpl_(copy_plist(access.dxpl)),
      parallel_(access.parallel) {}

H5File H5File::create(const std::string& path, const FileAccess& access) {
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.fapl_id());
  return H5File(path, make_file(h5_check_id(id, "cannot create HDF5 file '" + path + "'")), access);
}

H5File H5File::open(const std::string& path, Mode mode, const FileAccess& access) {
  const unsigned flags = mode == Mode::kRead ? H5F_ACC_RDONLY : H5F_ACC_RDWR;
  hid_t id = H5Fopen(path.c_str(), flags, access.fapl_id());
  if (id < 0) {
    h5_check_id(id, "cannot open HDF5 file '" + path + "' (missing, not HDF5, or locked by another process)");
  }
  return H5File(path, make_file(id), access);
}

bool H5File::has(const std::string& name) const {
  // Check every prefix of a/b/c: H5Lexists fails if an intermediate group is missing.
  std::size_t pos = 0;
  while (true) {
    pos = name.find('/', pos + 1);
    const std::string prefix = name.substr(0, pos);
    if (!h5_check_tri(H5Lexists(file_.id(), prefix.c_str(), H5P_DEFAULT), "H5Lexists " + prefix)) {
      return false;
    }
    if (pos == std::string::npos) return true;
  }
}

Handle H5File::open_dataset(const std::string& name) const {
  if (!has(name)) throw DataError(path_ + ": dataset '/" + name + "' is missing");
  return make_dataset(h5_check_id(H5Dopen2(file_.id(), name.c_str(), H5P_DEFAULT),
                                  path_ + ": cannot open dataset '" + name + "'"));
}

Handle H5File::open_object(const std::string& object) const {
  const std::string name = object.empty() ? "/" : object;
  if (!object.empty() && !has(object)) {
    throw DataError(path_ + ": object '/" + object + "' is missing");
  }
  return make_object(h5_check_id(H5Oopen(file_.id(), name.c_str(), H5P_DEFAULT),
                                 path_ + ": cannot open '" + name + "'"));
}

std::vector<std::uint64_t> H5File::shape(const std::string& name) const {
  Handle ds = open_dataset(name);
  Handle space = make_space(h5_check_id(H5Dget_space(ds.id()), "H5Dget_space"));
  const int rank = H5Sget_simple_extent_ndims(space.id());
  h5_check(rank, "H5Sget_simple_extent_ndims");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  h5_check(H5Sget_simple_extent_dims(space.id(), dims.data(), nullptr), "H5Sget_simple_extent_dims");
  return {dims.begin(), dims.end()};
}

void H5File::create_group(const std::string& name) {
  Handle lcpl = make_plist(h5_check_id(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate"));
  h5_check(H5Pset_create_intermediate_group(lcpl.id(), 1), "H5Pset_create_intermediate_group");
  Handle g = make_group(h5_check_id(H5Gcreate2(file_.id(), name.c_str(), lcpl.id(), H5P_DEFAULT, H5P_DEFAULT),
                                    path_ + ": cannot create group '" + name + "'"));
  g.close();
}

void H5File::create_dataset(const std::string& name, DType type,
                            const std::vector<std::uint64_t>& dims, std::uint64_t chunk_rows) {
  if (dims.empty()) throw IoError("create_dataset '" + name + "': no dimensions");
  std::vector<hsize_t> hdims(dims.begin(), dims.end());
  Handle space = make_space(h5_check_id(
      H5Screate_simple(static_cast<int>(hdims.size()), hdims.data(), nullptr), "H5Screate_simple"));
  Handle dcpl = make_plist(h5_check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
  std::uint64_t row_elems = 1;
  for (std::size_t i = 1; i < dims.size(); ++i) row_elems *= dims[i];
  if (dims[0] > 0 && row_elems > 0) {
    if (chunk_rows == 0) {
      const std::uint64_t row_bytes = row_elems * type_size(type);
      chunk_rows = std::max<std::uint64_t>(1, (1u << 20) / std::max<std::uint64_t>(1, row_bytes));
    }
    std::vector<hsize_t> chunk(hdims);
    chunk[0] = std::min<hsize_t>(chunk_rows, hdims[0]);
    h5_check(H5Pset_chunk(dcpl.id(), static_cast<int>(chunk.size()), chunk.data()), "H5Pset_chunk");
  }
  // Fill with NaN for floats so rows never written are recognisable, not silent zeros.
  if (type == DType::kFloat32) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    h5_check(H5Pset_fill_value(dcpl.id(), H5T_NATIVE_FLOAT, &nan), "H5Pset_fill_value");
  } else if (type == DType::kFloat64) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    h5_check(H5Pset_fill_value(dcpl.id(), H5T_NATIVE_DOUBLE, &nan), "H5Pset_fill_value");
  }
  // No modification times in object headers: identical runs give identical bytes.
  h5_check(H5Pset_obj_track_times(dcpl.id(), false), "H5Pset_obj_track_times");
  if (parallel_) {
    // Parallel HDF5 requires space allocated at creation when chunks are written collectively.
    h5_check(H5Pset_alloc_time(dcpl.id(), H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time");
  }
  Handle ds = make_dataset(h5_check_id(
      H5Dcreate2(file_.id(), name.c_str(), file_type(type), space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
      path_ + ": cannot create dataset '" + name + "'"));
  ds.close();
}

void H5File::create_string_dataset(const std::string& name, std::uint64_t n, std::uint64_t width) {
  Handle type = make_type(h5_check_id(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  h5_check(H5Tset_size(type.id(), std::max<std::uint64_t>(1, width)), "H5Tset_size");
  h5_check(H5Tset_strpad(type.id(), H5T_STR_NULLPAD), "H5Tset_strpad");
  hsize_t dims[1] = {n};
  Handle space = make_space(h5_check_id(H5Screate_simple(1, dims, nullptr), "H5Screate_simple"));
  Handle dcpl = make_plist(h5_check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate"));
  if (n > 0) {
    hsize_t chunk[1] = {std::min<hsize_t>(n, 65536)};
    h5_check(H5Pset_chunk(dcpl.id(), 1, chunk), "H5Pset_chunk");
  }
  h5_check(H5Pset_obj_track_times(dcpl.id(), false), "H5Pset_obj_track_times");
  if (parallel_) h5_check(H5Pset_alloc_time(dcpl.id(), H5D_ALLOC_TIME_EARLY), "H5Pset_alloc_time");
  Handle ds = make_dataset(h5_check_id(
      H5Dcreate2(file_.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
      path_ + ": cannot create dataset '" + name + "'"));
  ds.close();
}

void H5File::write_rows_impl(const std::string& name, std::uint64_t row0, std::uint64_t count,
                             hid_t mem_type, const void* data) {
  Handle ds = open_dataset(name);
  Handle fspace = make_space(h5_check_id(H5Dget_space(ds.id()), "H5Dget_space"));
  const int rank = H5Sget_simple_extent_ndims(fspace.id());
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  h5_check(H5Sget_simple_extent_dims(fspace.id(), dims.data(), nullptr), "H5Sget_simple_extent_dims");
  if (row0 + count > dims[0]) {
    throw IoError(cat_rows(name, row0, count, dims[0]));
  }
  std::vector<hsize_t> start(dims.size(), 0), extent(dims);
  start[0] = row0;
  extent[0] = count;
  Handle mspace;
  if (count == 0) {
    h5_check(H5Sselect_none(fspace.id()), "H5Sselect_none");
    mspace = make_space(h5_check_id(H5Screate(H5S_NULL), "H5Screate"));
    h5_check(H5Sselect_none(mspace.id()), "H5Sselect_none");
  } else {
    h5_check(H5Sselect_hyperslab(fspace.id(), H5S_SELECT_SET, start.data(), nullptr, extent.data(), nullptr),
             "H5Sselect_hyperslab");
    mspace = make_space(h5_check_id(H5Screate_simple(rank, extent.data(), nullptr), "H5Screate_simple"));
  }
  h5_check(H5Dwrite(ds.id(), mem_type, mspace.id(), fspace.id(), dxpl(), data),
           path_ + ": writing rows of '" + name + "'");
}

std::string H5File::cat_rows(const std::string& name, std::uint64_t row0, std::uint64_t count,
                             std::uint64_t n_rows) const {
  return path_ + ": rows [" + std::to_string(row0) + ", " + std::to_string(row0 + count) +
         ") are outside dataset '" + name + "' of " + std::to_string(n_rows) + " rows";
}

void H5File::read_rows_impl(const std::string& name, std::uint64_t row0, std::uint64_t count,
                            hid_t mem_type, void* out) const {
  Handle ds = open_dataset(name);
  Handle fspace = make_space(h5_check_id(H5Dget_space(ds.id()), "H5Dget_space"));
  const int rank = H5Sget_simple_extent_ndims(fspace.id());
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  h5_check(H5Sget_simple_extent_dims(fspace.id(), dims.data(), nullptr), "H5Sget_simple_extent_dims");
  if (rank == 0) {
    h5_check(H5Dread(ds.id(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), "H5Dread");
    return;
  }
  if (row0 + count > dims[0]) throw DataError(cat_rows(name, row0, count, dims[0]));
  if (count == 0) return;
  std::vector<hsize_t> start(dims.size(), 0), extent(dims);
  start[0] = row0;
  extent[0] = count;
  h5_check(H5Sselect_hyperslab(fspace.id(), H5S_SELECT_SET, start.data(), nullptr, extent.data(), nullptr),
           "H5Sselect_hyperslab");
  Handle mspace = make_space(h5_check_id(H5Screate_simple(rank, extent.data(), nullptr), "H5Screate_simple"));
  // Reads are independent (H5P_DEFAULT): ranks read different amounts at different times.
  h5_check(H5Dread(ds.id(), mem_type, mspace.id(), fspace.id(), H5P_DEFAULT, out),
           path_ + ": reading rows of '" + name + "'");
}

#define SEDPOST_ROWS(T, H5T)                                                                        \
  void H5File::write_rows(const std::string& name, std::uint64_t row0, std::uint64_t count,        \
                          const T* data) {                                                          \
    write_rows_impl(name, row0, count, H5T, data);                                                  \
  }                                                                                                 \
  void H5File::read_rows(const std::string& name, std::uint64_t row0, std::uint64_t count, T* out) \
      const {                                                                                       \
    read_rows_impl(name, row0, count, H5T, out);                                                    \
  }
SEDPOST_ROWS(float, H5T_NATIVE_FLOAT)
SEDPOST_ROWS(double, H5T_NATIVE_DOUBLE)
SEDPOST_ROWS(std::int64_t, H5T_NATIVE_INT64)
SEDPOST_ROWS(std::uint32_t, H5T_NATIVE_UINT32)
SEDPOST_ROWS(std::uint8_t, H5T_NATIVE_UINT8)
#undef SEDPOST_ROWS

void H5File::write_string_rows(const std::string& name, std::uint64_t row0,
                               const std::vector<std::string>& values) {
  Handle ds = open_dataset(name);
  Handle type = make_type(h5_check_id(H5Dget_type(ds.id()), "H5Dget_type"));
  const std::size_t width = H5Tget_size(type.id());
  std::vector<char> buffer(values.size() * width, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::memcpy(buffer.data() + i * width, values[i].data(), std::min(width, values[i].size()));
  }
  write_rows_impl(name, row0, values.size(), type.id(), buffer.data());
}

std::vector<double> H5File::read_all_double(const std::string& name, std::vector<std::uint64_t>* dims) const {
  const auto d = shape(name);
  std::uint64_t n = 1;
  for (auto v : d) n *= v;
  std::vector<double> out(n);
  read_rows_impl(name, 0, d.empty() ? 0 : d[0], H5T_NATIVE_DOUBLE, out.data());
  if (dims) *dims = d;
  return out;
}

std::vector<float> H5File::read_all_float(const std::string& name, std::vector<std::uint64_t>* dims) const {
  const auto d = shape(name);
  std::uint64_t n = 1;
  for (auto v : d) n *= v;
  std::vector<float> out(n);
  read_rows_impl(name, 0, d.empty() ? 0 : d[0], H5T_NATIVE_FLOAT, out.data());
  if (dims) *dims = d;
  return out;
}

std::vector<std::string> H5File::read_strings(const std::string& name) const {
  Handle ds = open_dataset(name);
  Handle type = make_type(h5_check_id(H5Dget_type(ds.id()), "H5Dget_type"));
  if (H5Tget_class(type.id()) != H5T_STRING) throw DataError(path_ + ": '" + name + "' is not a string dataset");
  const auto d = shape(name);
  const std::size_t n = d.empty() ? 1 : d[0];
  std::vector<std::string> out(n);
  if (h5_check_tri(H5Tis_variable_str(type.id()), "H5Tis_variable_str")) {
    Handle mt = variable_string_type();
    std::vector<char*> ptrs(n, nullptr);
    h5_check(H5Dread(ds.id(), mt.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), "H5Dread strings");
    for (std::size_t i = 0; i < n; ++i) out[i] = ptrs[i] ? ptrs[i] : "";
    Handle space = make_space(h5_check_id(H5Dget_space(ds.id()), "H5Dget_space"));
    H5Dvlen_reclaim(mt.id(), space.id(), H5P_DEFAULT, ptrs.data());
  } else {
    const std::size_t width = H5Tget_size(type.id());
    std::vector<char> buffer(n * width);
    h5_check(H5Dread(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()), "H5Dread strings");
    for (std::size_t i = 0; i < n; ++i) {
      const char* p = buffer.data() + i * width;
      out[i].assign(p, strnlen(p, width));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------- attributes

void H5File::write_attr(const std::string& object, const std::string& name, hid_t type,
                        hid_t space, const void* data) {
  Handle obj = open_object(object);
  if (h5_check_tri(H5Aexists(obj.id(), name.c_str()), "H5Aexists")) {
    h5_check(H5Adelete(obj.id(), name.c_str()), "H5Adelete " + name);
  }
  Handle attr = make_attr(h5_check_id(H5Acreate2(obj.id(), name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                                      path_ + ": cannot create attribute '" + name + "'"));
  h5_check(H5Awrite(attr.id(), type, data), path_ + ": writing attribute '" + name + "'");
}

void H5File::set_attr(const std::string& object, const std::string& name, const std::string& value) {
  Handle type = variable_string_type();
  Handle space = make_space(h5_check_id(H5Screate(H5S_SCALAR), "H5Screate"));
  const char* p = value.c_str();
  write_attr(object, name, type.id(), space.id(), &p);
}

void H5File::set_attr(const std::string& object, const std::string& name,
                      const std::vector<std::string>& values) {
  Handle type = variable_string_type();
  hsize_t dims[1] = {values.size()};
  Handle space = make_space(h5_check_id(H5Screate_simple(1, dims, nullptr), "H5Screate_simple"));
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  write_attr(object, name, type.id(), space.id(), ptrs.data());
}

void H5File::set_attr(const std::string& object, const std::string& name, const std::vector<double>& values) {
  hsize_t dims[1] = {values.size()};
  Handle space = make_space(h5_check_id(H5Screate_simple(1, dims, nullptr), "H5Screate_simple"));
  write_attr(object, name, H5T_NATIVE_DOUBLE, space.id(), values.data());
}

void H5File::set_attr(const std::string& object, const std::string& name, double value) {
  Handle space = make_space(h5_check_id(H5Screate(H5S_SCALAR), "H5Screate"));
  write_attr(object, name, H5T_NATIVE_DOUBLE, space.id(), &value);
}

void H5File::set_attr(const std::string& object, const std::string& name, std::int64_t value) {
  Handle space = make_space(h5_check_id(H5Screate(H5S_SCALAR), "H5Screate"));
  write_attr(object, name, H5T_NATIVE_INT64, space.id(), &value);
}

bool H5File::has_attr(const std::string& object, const std::string& name) const {
  Handle obj = open_object(object);
  return h5_check_tri(H5Aexists(obj.id(), name.c_str()), "H5Aexists");
}

#define SEDPOST_OPEN_ATTR(obj, name)                                                           \
  Handle obj_h = open_object(obj);                                                             \
  if (!h5_check_tri(H5Aexists(obj_h.id(), name.c_str()), "H5Aexists"))                        \
    throw DataError(path_ + ": attribute '" + name + "' is missing on '/" + obj + "'");        \
  Handle attr = make_attr(h5_check_id(H5Aopen(obj_h.id(), name.c_str(), H5P_DEFAULT), "H5Aopen")); \
  Handle type = make_type(h5_check_id(H5Aget_type(attr.id()), "H5Aget_type"));                 \
  Handle space = make_space(h5_check_id(H5Aget_space(attr.id()), "H5Aget_space"));             \
  const hssize_t n = H5Sget_simple_extent_npoints(space.id());

std::vector<std::string> H5File::attr_strings(const std::string& object, const std::string& name) const {
  SEDPOST_OPEN_ATTR(object, name)
  if (H5Tget_class(type.id()) != H5T_STRING) {
    throw DataError(path_ + ": attribute '" + name + "' is not a string");
  }
  std::vector<std::string> out(static_cast<std::size_t>(n));
  if (h5_check_tri(H5Tis_variable_str(type.id()), "H5Tis_variable_str")) {
    Handle mt = variable_string_type();
    std::vector<char*> ptrs(out.size(), nullptr);
    h5_check(H5Aread(attr.id(), mt.id(), ptrs.data()), "H5Aread");
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = ptrs[i] ? ptrs[i] : "";
    H5Dvlen_reclaim(mt.id(), space.id(), H5P_DEFAULT, ptrs.data());
  } else {
    const std::size_t width = H5Tget_size(type.id());
    std::vector<char> buffer(out.size() * width);
    h5_check(H5Aread(attr.id(), type.id(), buffer.data()), "H5Aread");
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i].assign(buffer.data() + i * width, strnlen(buffer.data() + i * width, width));
    }
  }
  return out;
}

std::string H5File::attr_string(const std::string& object, const std::string& name) const {
  auto v = attr_strings(object, name);
  if (v.size() != 1) throw DataError(path_ + ": attribute '" + name + "' is not a single string");
  return v[0];
}

std::vector<double> H5File::attr_doubles(const std::string& object, const std::string& name) const {
  SEDPOST_OPEN_ATTR(object, name)
  const H5T_class_t cls = H5Tget_class(type.id());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
    throw DataError(path_ + ": attribute '" + name + "' is not numeric");
  }
  std::vector<double> out(static_cast<std::size_t>(n));
  h5_check(H5Aread(attr.id(), H5T_NATIVE_DOUBLE, out.data()), "H5Aread " + name);
  return out;
}

double H5File::attr_double(const std::string& object, const std::string& name) const {
  auto v = attr_doubles(object, name);
  if (v.size() != 1) throw DataError(path_ + ": attribute '" + name + "' is not a scalar");
  return v[0];
}

std::int64_t H5File::attr_int(const std::string& object, const std::string& name) const {
  SEDPOST_OPEN_ATTR(object, name)
  if (H5Tget_class(type.id()) != H5T_INTEGER || n != 1) {
    throw DataError(path_ + ": attribute '" + name + "' is not an integer scalar");
  }
  std::int64_t v = 0;
  h5_check(H5Aread(attr.id(), H5T_NATIVE_INT64, &v), "H5Aread " + name);
  return v;
}
#undef SEDPOST_OPEN_ATTR

void H5File::flush() { h5_check(H5Fflush(file_.id(), H5F_SCOPE_GLOBAL), path_ + ": flush"); }

void H5File::close() {
  if (file_.valid()) file_.close();
}

}  // namespace sedpost::io
