#pragma once
// Everything in the nn floor: modules, layers, activations, initialisation.
#include "xgrad/nn/activation.hpp"
#include "xgrad/nn/config.hpp"
#include "xgrad/nn/dropout.hpp"
#include "xgrad/nn/init.hpp"
#include "xgrad/nn/linear.hpp"
#include "xgrad/nn/module.hpp"
#include "xgrad/nn/registry.hpp"
#include "xgrad/nn/sequential.hpp"
#include "xgrad/nn/softmax.hpp"
