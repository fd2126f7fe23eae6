//===- ir/Printer.h - The text form of a graph -------------------*- C++ -*-===//
//
// The text IR (file extension .gir), one declaration or node a line:
//
//   graph @mlp_mnist {
//     input %x : f32[N,784]
//     input %lr : f32[] hyper
//     input %adam_step : f32[] hyper(adam_step_size)
//     param %W1 : f32[784,256] init=kaiming_normal(gain=1.5)
//     param %b1 : f32[256] init=zeros frozen
//     param %W1.m : f32[784,256] init=zeros frozen state
//     %h = matmul(%x, %W1) {transpose_b=1} : f32[N,256] loc("mlp.pbtxt":12 "fc1")
//     %d = relu_grad(%h, %g) : f32[N,256] loc("mlp.pbtxt":13 "act" autodiff of %h)
//     %y = relu(%a) : f32[N,256] fused g3
//     output %logits
//     loss %loss
//     grad %W1 = %d.W1
//     update %W1 = %W1.next
//     train optimizer="sgd" lr=0.1 batch=64 epochs=10 seed=0 features=%x labels=%y
//   }
//
// `fused gN` marks a member of fusion group N (pass `fuse`, ir/Fusion.h).
// `hyper` alone is the learning rate; `hyper(kind)` names another value the
// runtime computes each step (ir::HyperKind). `state` marks optimizer state.
// The train line lists optimizer constants (momentum=, beta1=, nesterov=1,
// ...) only where they differ from TrainingConfig's defaults.
//
// A result type of `?` means "not inferred yet". Attributes are sorted by
// name. The parser (ir/Parser.h) reads exactly this form back: print, parse,
// print gives the same text.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Graph.h"

#include "llvm/Support/raw_ostream.h"

namespace gradc::ir {

struct PrintOptions {
  bool locations = true; // print loc(...) suffixes
};

void printGraph(const Graph &g, llvm::raw_ostream &os, PrintOptions opts = {});
std::string graphToString(const Graph &g, PrintOptions opts = {});

} // namespace gradc::ir
