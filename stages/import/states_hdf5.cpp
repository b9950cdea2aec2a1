// HDF5 sources through Debian's HDF5 C library: one file, the meta.json
// document as the root attribute `meta` (a string, as h5py writes
// `f.attrs["meta"] = json.dumps(doc)`), one root dataset per array.
#include <hdf5.h>

#include <vector>

#include "core/error.h"
#include "import/states.h"

namespace wmgeom::imports {

namespace fs = std::filesystem;

namespace {

// Closes an HDF5 handle on scope exit.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(Handle&& other) noexcept : id_(other.id_), close_(other.close_) { other.id_ = -1; }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle& operator=(Handle&&) = delete;
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

// HDF5 prints its error stack to stderr by default; our messages say it.
void quiet() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

Handle open_file(const fs::path& file) {
  quiet();
  if (H5Fis_hdf5(file.c_str()) <= 0) throw InputError(file.string() + ": not an HDF5 file");
  Handle f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!f.ok()) throw InputError(file.string() + ": cannot open as HDF5");
  return f;
}

std::string read_string_attribute(hid_t object, const char* name, const std::string& where) {
  if (H5Aexists(object, name) <= 0) {
    throw InputError(where + ": the root attribute \"" + name +
                     "\" (the meta.json document, a string) is missing");
  }
  Handle a(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(a.get()), H5Tclose);
  Handle space(H5Aget_space(a.get()), H5Sclose);
  if (H5Tget_class(type.get()) != H5T_STRING || H5Sget_simple_extent_npoints(space.get()) != 1) {
    throw InputError(where + ": the root attribute \"" + name + "\" must be one string");
  }
  Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
  if (H5Tis_variable_str(type.get()) > 0) {
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));
    char* text = nullptr;
    if (H5Aread(a.get(), mem.get(), &text) < 0 || text == nullptr)
      throw InputError(where + ": cannot read the root attribute \"" + name + "\"");
    std::string out(text);
    H5free_memory(text);
    return out;
  }
  const std::size_t size = H5Tget_size(type.get());
  std::string out(size, '\0');
  H5Tset_size(mem.get(), size);
  if (H5Aread(a.get(), mem.get(), out.data()) < 0)
    throw InputError(where + ": cannot read the root attribute \"" + name + "\"");
  out.resize(out.find('\0') == std::string::npos ? size : out.find('\0'));
  return out;
}

// The DType an HDF5 dataset type is read as (HDF5 converts on read): float32
// stays, other floats become float64; int32 and uint8 stay, other integers
// become int64.
DType dtype_of_type(hid_t type, const std::string& where) {
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  if (cls == H5T_FLOAT) return size == 4 ? DType::kF32 : DType::kF64;
  if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    if (is_signed && size == 4) return DType::kI32;
    if (!is_signed && size == 1) return DType::kU8;
    return DType::kI64;
  }
  throw InputError(where + ": unsupported HDF5 type (expected a float or integer dataset)");
}

hid_t memory_type(DType d) {
  switch (d) {
    case DType::kF32:
      return H5T_NATIVE_FLOAT;
    case DType::kF64:
      return H5T_NATIVE_DOUBLE;
    case DType::kI32:
      return H5T_NATIVE_INT32;
    case DType::kU8:
      return H5T_NATIVE_UINT8;
    default:
      return H5T_NATIVE_INT64;
  }
}

herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}

Entry describe(hid_t file, const std::string& name, const fs::path& path) {
  const std::string where = path.string() + ":/" + name;
  H5O_info_t info;
  if (H5Oget_info_by_name(file, name.c_str(), &info, H5P_DEFAULT) < 0 ||
      info.type != H5O_TYPE_DATASET) {
    throw InputError(where + ": not a dataset (the file's root holds one dataset per array)");
  }
  Handle d(H5Dopen2(file, name.c_str(), H5P_DEFAULT), H5Dclose);
  Handle type(H5Dget_type(d.get()), H5Tclose);
  Handle space(H5Dget_space(d.get()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (!d.ok() || rank < 0) throw InputError(where + ": cannot read the dataset's shape");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  Entry e;
  e.dtype = dtype_of_type(type.get(), where);
  for (hsize_t v : dims) e.shape.push_back(static_cast<std::int64_t>(v));
  e.where = where;
  return e;
}

}  // namespace

Inventory hdf5_inventory(const fs::path& file) {
  Handle f = open_file(file);
  Inventory inv;
  inv.source = file;
  inv.format = Format::kHdf5;
  inv.meta_where = file.string() + ": attribute meta";
  const std::string text = read_string_attribute(f.get(), "meta", file.string());
  try {
    inv.document = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error; out_of_range: a number too large
    throw InputError(inv.meta_where + ": not valid JSON (" + e.what() + ")");
  }
  std::vector<std::string> names;
  if (H5Literate(f.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_name, &names) < 0)
    throw InputError(file.string() + ": cannot list the file's datasets");
  for (const auto& name : names) inv.arrays[name] = describe(f.get(), name, file);
  return inv;
}

Array hdf5_read(const fs::path& file, const std::string& name) {
  Handle f = open_file(file);
  const Entry e = describe(f.get(), name, file);
  if (!checked_nbytes(e.dtype, e.shape)) throw InputError(e.where + ": shape too large");
  Array a(e.dtype, e.shape);
  Handle d(H5Dopen2(f.get(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (a.numel() > 0 &&
      H5Dread(d.get(), memory_type(e.dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, a.raw()) < 0) {
    throw InputError(e.where + ": cannot read the dataset (damaged file?)");
  }
  return a;
}

}  // namespace wmgeom::imports
