// Process-wide allocator tuning, called once at the start of main().
//
// glibc serves allocations above its mmap threshold (128 KiB at first) with
// fresh mmap()s and returns them with munmap(), so every large temporary
// tensor (CNN activations, RNN gate buffers) costs a round of page faults.
// Measured on the features stage's CNN: 1,027 -> 1,861 images/s at 2
// threads. Keeping such blocks in the heap (threshold 32 MiB, trim at
// 256 MiB) removes that; memory is still returned above the trim threshold.
#pragma once

namespace wmgeom {

void tune_allocator();

}  // namespace wmgeom
