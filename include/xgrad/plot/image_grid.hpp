#pragma once
// A grid of grey-scale images as a dependency-free SVG: e.g. MNIST digits in
// rows beside their distorted versions in columns (docs/data-augmentation.md).
//
// Pixels in [0, 1] are ink (0 white, 1 black), quantised to 16 grey levels;
// each image becomes one <path> per level whose horizontal runs of equal
// pixels are merged, so a 28×28 digit costs a few kilobytes, not 784 shapes.
// Titles are XML-escaped. Written atomically like plot::write_svg.
#include <cstddef>
#include <string>
#include <vector>

namespace xg::plot {

struct ImageGrid {
  std::string title;
  std::size_t image_height = 28;
  std::size_t image_width = 28;
  /// One heading per column; their number is the number of columns.
  std::vector<std::string> column_labels;
  /// The cells row by row (rows × columns), each image_height × image_width
  /// values, row-major.
  std::vector<std::vector<double>> images;
  int scale = 4;  ///< screen pixels per image pixel
};

/// The grid as a complete SVG document. Throws xg::value_error for no
/// columns, a cell count that is not a whole number of rows (or zero), an
/// image of the wrong size, a value that is not finite or outside [0, 1],
/// image sides of 0, or a scale outside 1..32.
std::string render_image_grid(const ImageGrid& grid);

/// render_image_grid(grid) written atomically to path (a temporary file in
/// the same directory renamed over it); xg::io_error naming path on failure.
void write_image_grid(const std::string& path, const ImageGrid& grid);

}  // namespace xg::plot
