// The torch device handling of every stage, for the engine (core/device.h),
// in a header without LibTorch: stages/register_all.cpp installs it in the
// registry, and no stage validates, keys or claims its device itself.
#pragma once

#include "core/device.h"

namespace wmgeom::nets {

// "auto" | "cpu" | "cuda" | "cuda:N" checked at plan time (no device touched);
// key extras "torch <version>\ndevice <cpu|cuda>"; resource "cuda:N" on a GPU.
DeviceSupport device_support();

}  // namespace wmgeom::nets
