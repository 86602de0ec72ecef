#pragma once
// Everything at once. Include single headers for faster builds.
#include <xtensor/xio.hpp>  // printing Arrays with <<

#include "xgrad/cost.hpp"
#include "xgrad/data/dataset.hpp"
#include "xgrad/data/idx.hpp"
#include "xgrad/data/mnist.hpp"
#include "xgrad/error.hpp"
#include "xgrad/functional.hpp"
#include "xgrad/gradcheck.hpp"
#include "xgrad/io/checkpoint.hpp"
#include "xgrad/io/model.hpp"
#include "xgrad/memory.hpp"
#include "xgrad/nn.hpp"
#include "xgrad/ops.hpp"
#include "xgrad/optim.hpp"
#include "xgrad/random.hpp"
#include "xgrad/scalar.hpp"
#include "xgrad/tensor.hpp"
#include "xgrad/train/fit.hpp"
#include "xgrad/train/progress.hpp"
#include "xgrad/train/report.hpp"
