// An instance's name as a file or folder name: "gru[rnn=gru,seed=1]" ->
// "gru.rnn=gru.seed=1" ('/', '\\' and ' ' of a sweep value become '_').
// Export folders, a cluster job's run folder and log,
// and the analyze stage's per-instance run outputs use it, so one instance
// has one name on disk.
#pragma once

#include <string>

namespace wmgeom {

std::string instance_folder_name(const std::string& instance);

}  // namespace wmgeom
