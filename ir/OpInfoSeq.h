//===- ir/OpInfoSeq.h - Attribute schemas of the sequence-model ops -*- C++ -*-===//
//
// The attribute schemas of the ops added for sequence models (activations,
// selection, losses, embedding, slicing, layers), kept apart from
// ir/OpInfo.cpp so that op families added in parallel merge without
// touching each other's lists. OpInfo.cpp consults this first.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/OpInfo.h"

#include <optional>

namespace gradc::ir {

/// The schema of `k` when it is one of this family's ops, else nullopt.
std::optional<llvm::ArrayRef<AttrSpec>> seqOpAttrs(OpKind k);

/// The unary activations activation_grad can differentiate ("leaky_relu",
/// "gelu", "gaussian", "elu", "softplus"); nullopt for any other name.
std::optional<OpKind> activationByName(llvm::StringRef name);

} // namespace gradc::ir
