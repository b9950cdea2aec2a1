#include "core/stage.h"

#include <stdexcept>

namespace wmgeom {

const Artifact& StageInputs::one(const std::string& port) const {
  auto it = ports_.find(port);
  if (it == ports_.end() || it->second.empty()) {
    throw std::logic_error("input port \"" + port + "\" is not connected");
  }
  return *it->second.front().artifact;
}

const std::vector<InputItem>& StageInputs::many(const std::string& port) const {
  static const std::vector<InputItem> kNone;
  auto it = ports_.find(port);
  return it == ports_.end() ? kNone : it->second;
}

const std::filesystem::path& RunContext::work_dir() {
  std::filesystem::create_directories(work_dir_);
  return work_dir_;
}

void RunContext::progress(std::int64_t done, std::int64_t total) {
  items_ = total;
  if (on_progress) on_progress(done, total);
}

void RunContext::info(const std::string& line) const {
  if (on_log) on_log(line, false);
}

void RunContext::warn(const std::string& line) const {
  if (on_log) on_log(line, true);
}

}  // namespace wmgeom
