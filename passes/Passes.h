//===- passes/Passes.h - Factories of every pass ------------------*- C++ -*-===//
#pragma once

#include "passes/Pass.h"

namespace gradc::passes {

#define PASS(Name, Class) std::unique_ptr<Pass> create##Class();
#include "passes/Passes.def"

} // namespace gradc::passes
