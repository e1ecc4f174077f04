#include "core/config.hpp"

#include <cctype>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

#include "core/error.hpp"

namespace sedpost {

struct Config::Impl {
  toml::table table;
};

Config::Config() : impl_(std::make_unique<Impl>()) {}
Config::~Config() = default;
Config::Config(const Config& o) : impl_(std::make_unique<Impl>(*o.impl_)), source_(o.source_) {}
Config& Config::operator=(const Config& o) {
  if (this != &o) {
    impl_ = std::make_unique<Impl>(*o.impl_);
    source_ = o.source_;
  }
  return *this;
}
Config::Config(Config&&) noexcept = default;
Config& Config::operator=(Config&&) noexcept = default;

Config Config::from_text(const std::string& text, const std::string& source) {
  Config cfg;
  cfg.source_ = source;
  try {
    cfg.impl_->table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw ConfigError(cat_error(source, where.line, where.column, e.description()));
  }
  return cfg;
}

std::string Config::cat_error(const std::string& source, std::size_t line, std::size_t column,
                              std::string_view what) {
  std::ostringstream os;
  os << source << ":" << line << ":" << column << ": invalid TOML: " << what;
  return os.str();
}

std::string Config::read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot read config file '" + path + "'");
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

Config Config::from_file(const std::string& path) { return from_text(read_text(path), path); }

namespace {

const toml::node* find_node(const toml::table& t, const std::string& path) {
  return t.at_path(path).node();
}

[[noreturn]] void wrong_type(const std::string& source, const std::string& path,
                             const char* expected, const toml::node& node) {
  std::ostringstream os;
  os << (source.empty() ? "config" : source) << ": key '" << path << "' must be " << expected
     << ", got " << node.type();
  throw ConfigError(os.str());
}

[[noreturn]] void missing(const std::string& source, const std::string& path) {
  throw ConfigError((source.empty() ? std::string("config") : source) + ": required key '" +
                    path + "' is missing");
}

}  // namespace

bool Config::has(const std::string& path) const {
  return find_node(impl_->table, path) != nullptr;
}

void Config::erase_top_level(const std::string& key) { impl_->table.erase(key); }

bool Config::is_table(const std::string& path) const {
  const toml::node* n = find_node(impl_->table, path);
  return n != nullptr && n->is_table();
}

std::int64_t Config::get_int(const std::string& path, std::int64_t fallback) const {
  const toml::node* n = find_node(impl_->table, path);
  if (!n) return fallback;
  if (auto v = n->value_exact<std::int64_t>()) return *v;
  wrong_type(source_, path, "an integer", *n);
}

double Config::get_double(const std::string& path, double fallback) const {
  const toml::node* n = find_node(impl_->table, path);
  if (!n) return fallback;
  if (n->is_number()) return *n->value<double>();
  wrong_type(source_, path, "a number", *n);
}

bool Config::get_bool(const std::string& path, bool fallback) const {
  const toml::node* n = find_node(impl_->table, path);
  if (!n) return fallback;
  if (auto v = n->value_exact<bool>()) return *v;
  wrong_type(source_, path, "true or false", *n);
}

std::string Config::get_string(const std::string& path, const std::string& fallback) const {
  const toml::node* n = find_node(impl_->table, path);
  if (!n) return fallback;
  if (auto v = n->value_exact<std::string>()) return *v;
  wrong_type(source_, path, "a string", *n);
}

std::vector<std::string> Config::get_strings(const std::string& path,
                                             const std::vector<std::string>& fallback) const {
  const toml::node* n = find_node(impl_->table, path);
  if (!n) return fallback;
  const toml::array* arr = n->as_array();
  if (!arr) wrong_type(source_, path, "an array of strings", *n);
  std::vector<std::string> out;
  for (const auto& el : *arr) {
    auto v = el.value_exact<std::string>();
    if (!v) wrong_type(source_, path, "an array of strings", el);
    out.push_back(*v);
  }
  return out;
}

std::vector<double> Config::get_doubles(const std::string& path,
                                        const std::vector<double>& fallback) const {
  const toml::node* n = find_node(impl_->table, path);
  if (!n) return fallback;
  const toml::array* arr = n->as_array();
  if (!arr) wrong_type(source_, path, "an array of numbers", *n);
  std::vector<double> out;
  for (const auto& el : *arr) {
    if (!el.is_number()) wrong_type(source_, path, "an array of numbers", el);
    out.push_back(*el.value<double>());
  }
  return out;
}

std::int64_t Config::require_int(const std::string& path) const {
  if (!has(path)) missing(source_, path);
  return get_int(path, 0);
}
double Config::require_double(const std::string& path) const {
  if (!has(path)) missing(source_, path);
  return get_double(path, 0.0);
}
std::string Config::require_string(const std::string& path) const {
  if (!has(path)) missing(source_, path);
  return get_string(path, "");
}
std::vector<std::string> Config::require_strings(const std::string& path) const {
  if (!has(path)) missing(source_, path);
  return get_strings(path, {});
}

namespace {

std::string scalar_text(const toml::node& n) {
  if (auto s = n.value_exact<std::string>()) return *s;
  if (auto b = n.value_exact<bool>()) return *b ? "true" : "false";
  if (auto i = n.value_exact<std::int64_t>()) return std::to_string(*i);
  if (auto d = n.value_exact<double>()) {
    std::ostringstream os;
    os.precision(17);
    os << *d;
    return os.str();
  }
  return {};
}

/// Parse command-line text into the most specific TOML value type.
void insert_scalar(toml::table& t, const std::string& key, const std::string& v) {
  if (v == "true" || v == "false") {
    t.insert_or_assign(key, v == "true");
    return;
  }
  char* end = nullptr;
  const long long i = std::strtoll(v.c_str(), &end, 10);
  if (!v.empty() && end && *end == '\0') {
    t.insert_or_assign(key, static_cast<std::int64_t>(i));
    return;
  }
  const double d = std::strtod(v.c_str(), &end);
  if (!v.empty() && end && *end == '\0') {
    t.insert_or_assign(key, d);
    return;
  }
  t.insert_or_assign(key, v);
}

}  // namespace

std::optional<std::string> Config::get_as_text(const std::string& path) const {
  const toml::node* n = find_node(impl_->table, path);
  if (!n) return std::nullopt;
  if (const toml::array* arr = n->as_array()) {
    std::string out;
    for (const auto& el : *arr) {
      if (!out.empty()) out += ",";
      out += scalar_text(el);
    }
    return out;
  }
  if (n->is_table()) wrong_type(source_, path, "a value (not a table)", *n);
  return scalar_text(*n);
}

void Config::set_from_text(const std::string& path, const std::string& value, bool is_list) {
  toml::table* t = &impl_->table;
  std::string rest = path;
  for (std::size_t dot; (dot = rest.find('.')) != std::string::npos;) {
    const std::string head = rest.substr(0, dot);
    rest = rest.substr(dot + 1);
    toml::node* child = t->get(head);
    if (!child || !child->is_table()) {
      t->insert_or_assign(head, toml::table{});
      child = t->get(head);
    }
    t = child->as_table();
  }
  if (!is_list) {
    insert_scalar(*t, rest, value);
    return;
  }
  toml::table scratch;
  toml::array arr;
  std::stringstream ss(value);
  for (std::string item; std::getline(ss, item, ',');) {
    insert_scalar(scratch, "v", item);
    arr.push_back(*scratch.get("v"));
  }
  t->insert_or_assign(rest, std::move(arr));
}

std::string Config::to_toml() const {
  std::ostringstream os;
  os << impl_->table;
  return os.str();
}

}  // namespace sedpost
