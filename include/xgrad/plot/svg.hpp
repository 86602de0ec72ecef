#pragma once
// A dependency-free SVG line chart for per-epoch curves, like the cost and accuracy
// figures of the book's chapter 3.
//
// What render_svg draws:
//  - one polyline (an SVG <path>) per series that has at least one value, in a distinct
//    colour (ten palette colours, then the same colours dashed), with a legend entry;
//  - x is 1, 2, ..., N (the epoch) unless the series carries its own x values;
//  - both axes span "nice" tick steps (1, 2 or 5 times a power of ten; whole numbers on
//    an axis whose data are all integers, such as epochs) with grid lines and labels;
//  - NaN and ±Inf values are left out: the line breaks there and resumes at the next
//    finite point; an isolated finite point is drawn as a dot;
//  - series with no values are skipped; a chart with no finite value at all is still a
//    valid SVG document, saying "no data";
//  - title, axis labels and legend labels are XML-escaped (& < > " ') and control
//    characters that XML 1.0 forbids are replaced by spaces.
// Numbers are written in the C locale whatever the program's global locale is.
//
// write_svg renders, then writes atomically: into a temporary file in the target's
// directory, renamed over the target only when complete, so a reader never sees half a
// chart. Any failure throws xg::io_error naming the path; no temporary file is left.
#include <string>
#include <vector>

namespace xg::plot {

/// One curve: y[i] is plotted at x[i], or at i + 1 (the epoch) when x is empty.
struct Series {
  std::string label;
  std::vector<double> y;
  std::vector<double> x = {};  ///< optional; when given, must have y.size() entries
};

/// A line chart of several series sharing both axes.
struct Chart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
  int width = 720;   ///< pixels
  int height = 450;  ///< pixels
};

/// Tick positions for an axis covering [lo, hi]: lo/hi widened to multiples of step,
/// step = 1, 2 or 5 × 10^k chosen to give about `target` intervals.
struct Ticks {
  double lo = 0;
  double hi = 1;
  double step = 1;
  std::vector<double> values;  ///< lo, lo + step, ..., hi
};

/// "Nice" ticks for [lo, hi] (finite, lo <= hi); a degenerate range is widened around
/// its value. integers = true keeps the step a whole number (an epoch axis).
/// Throws xg::value_error for non-finite bounds, lo > hi or target < 1.
Ticks nice_ticks(double lo, double hi, int target = 5, bool integers = false);

/// The chart as a complete SVG document (starts with "<svg").
/// Throws xg::value_error if a series' x and y lengths differ or the chart is smaller
/// than 200 × 150 pixels.
std::string render_svg(const Chart& chart);

/// render_svg(chart) written atomically to path; throws xg::io_error naming path on failure.
void write_svg(const std::string& path, const Chart& chart);

}  // namespace xg::plot
