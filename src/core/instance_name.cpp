#include "core/instance_name.h"

namespace wmgeom {

std::string instance_folder_name(const std::string& instance) {
  std::string s;
  for (char c : instance) {
    if (c == '[' || c == ',')
      s += '.';
    else if (c == '/' || c == '\\' || c == ' ')
      s += '_';  // a sweep value is never a path
    else if (c != ']')
      s += c;
  }
  return s;
}

}  // namespace wmgeom
