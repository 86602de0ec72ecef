// Grey-scale image grids as SVG (see include/xgrad/plot/image_grid.hpp).
#include "xgrad/plot/image_grid.hpp"

#include <cmath>
#include <cstdio>
#include <locale>
#include <sstream>

#include "util/file.hpp"
#include "xgrad/error.hpp"

namespace xg::plot {

namespace {

constexpr int kLevels = 16;  // grey levels; level 0 (no ink) is the white cell itself
constexpr int kGap = 6;      // screen pixels between cells
constexpr int kTitleHeight = 28;
constexpr int kLabelHeight = 20;

std::string escaped(const std::string& s) {
  std::string out;
  for (const char c : s) {
    if (c == '&')
      out += "&amp;";
    else if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '"')
      out += "&quot;";
    else if (c == '\'')
      out += "&apos;";
    // Control characters other than tab and line breaks are not allowed in XML 1.0.
    else if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r')
      out += ' ';
    else
      out += c;
  }
  return out;
}

void check(const ImageGrid& g) {
  if (g.column_labels.empty()) throw value_error("render_image_grid: no columns (column_labels)");
  if (g.image_height == 0 || g.image_width == 0)
    throw value_error("render_image_grid: images of " + std::to_string(g.image_height) + "×" +
                      std::to_string(g.image_width) + " pixels");
  if (g.scale < 1 || g.scale > 32)
    throw value_error("render_image_grid: scale " + std::to_string(g.scale) +
                      " outside 1..32 screen pixels per image pixel");
  const std::size_t cols = g.column_labels.size();
  if (g.images.empty() || g.images.size() % cols != 0)
    throw value_error("render_image_grid: " + std::to_string(g.images.size()) +
                      " images do not fill rows of " + std::to_string(cols) + " columns");
  const std::size_t n = g.image_height * g.image_width;
  for (std::size_t i = 0; i < g.images.size(); ++i) {
    if (g.images[i].size() != n)
      throw value_error("render_image_grid: image " + std::to_string(i) + " has " +
                        std::to_string(g.images[i].size()) + " values, expected " +
                        std::to_string(n));
    for (std::size_t j = 0; j < n; ++j) {
      const double v = g.images[i][j];
      if (!std::isfinite(v) || v < 0 || v > 1)
        throw value_error("render_image_grid: image " + std::to_string(i) + " pixel " +
                          std::to_string(j) + " is " + std::to_string(v) +
                          ", expected a value in [0, 1]");
    }
  }
}

/// One image at (left, top) in screen pixels: a white cell with a thin frame
/// and one path per grey level, in image-pixel units scaled by the group.
void draw_image(std::ostringstream& svg, const ImageGrid& g, const std::vector<double>& img,
                int left, int top) {
  const std::size_t h = g.image_height, w = g.image_width;
  svg << "<g transform=\"translate(" << left << ' ' << top << ") scale(" << g.scale << ")\">\n";
  svg << "<rect width=\"" << w << "\" height=\"" << h
      << "\" fill=\"#fff\" stroke=\"#bbb\" stroke-width=\"" << 1.0 / g.scale << "\"/>\n";
  std::vector<int> level(h * w);
  for (std::size_t i = 0; i < h * w; ++i)
    level[i] = static_cast<int>(std::lround(img[i] * (kLevels - 1)));
  for (int lv = 1; lv < kLevels; ++lv) {
    std::string d;
    for (std::size_t y = 0; y < h; ++y)
      for (std::size_t x = 0; x < w;) {
        if (level[y * w + x] != lv) {
          ++x;
          continue;
        }
        std::size_t run = 1;
        while (x + run < w && level[y * w + x + run] == lv) ++run;
        d += "M" + std::to_string(x) + ' ' + std::to_string(y) + 'h' + std::to_string(run) +
             "v1h-" + std::to_string(run) + 'z';
        x += run;
      }
    if (d.empty()) continue;
    const int grey = static_cast<int>(std::lround(255.0 * (1.0 - double(lv) / (kLevels - 1))));
    char colour[8];
    std::snprintf(colour, sizeof colour, "#%02x%02x%02x", grey, grey, grey);
    svg << "<path fill=\"" << colour << "\" d=\"" << d << "\"/>\n";
  }
  svg << "</g>\n";
}

}  // namespace

std::string render_image_grid(const ImageGrid& g) {
  check(g);
  const std::size_t cols = g.column_labels.size(), rows = g.images.size() / cols;
  const int cell_w = static_cast<int>(g.image_width) * g.scale;
  const int cell_h = static_cast<int>(g.image_height) * g.scale;
  // Columns at least wide enough for a short heading.
  const int col_w = std::max(cell_w, 96) + kGap;
  const int width = static_cast<int>(cols) * col_w + kGap;
  const int top = kTitleHeight + kLabelHeight;
  const int height = top + static_cast<int>(rows) * (cell_h + kGap) + kGap;

  std::ostringstream svg;
  svg.imbue(std::locale::classic());  // no "1,5" or "1.234" from a global locale
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
      << "\" viewBox=\"0 0 " << width << ' ' << height
      << "\" font-family=\"sans-serif\" font-size=\"12\" shape-rendering=\"crispEdges\">\n";
  svg << "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
  svg << "<text x=\"" << width / 2 << "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">"
      << escaped(g.title) << "</text>\n";
  for (std::size_t c = 0; c < cols; ++c)
    svg << "<text x=\"" << kGap + static_cast<int>(c) * col_w + cell_w / 2 << "\" y=\""
        << kTitleHeight + 12 << "\" text-anchor=\"middle\">" << escaped(g.column_labels[c])
        << "</text>\n";
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c)
      draw_image(svg, g, g.images[r * cols + c], kGap + static_cast<int>(c) * col_w,
                 top + static_cast<int>(r) * (cell_h + kGap));
  svg << "</svg>\n";
  return svg.str();
}

void write_image_grid(const std::string& path, const ImageGrid& grid) {
  if (path.empty()) throw io_error("plot::write_image_grid: expected a file path, got ''");
  file::write_atomically(path, render_image_grid(grid));
}

}  // namespace xg::plot
