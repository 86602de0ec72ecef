#pragma once
// The named data transforms xgrad-book offers (--augment NAME): one place
// for the parameters the grid shows, training uses and the docs cite.
#include <memory>
#include <string>
#include <vector>

#include "xgrad/data/transforms.hpp"

namespace book_cli {

/// "shift", "rotate", "affine", "elastic", in that order.
const std::vector<std::string>& augmentation_names();
/// A one-line description of the named transform's parameters.
std::string describe_augmentation(const std::string& name);
/// The named transform for 28×28 MNIST images; xg::value_error listing the
/// names for anything else.
std::unique_ptr<xg::data::Transform> make_augmentation(const std::string& name);

}  // namespace book_cli
