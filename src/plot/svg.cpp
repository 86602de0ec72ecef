// SVG line charts without a plotting library: the figure is a few dozen elements, and
// writing them by hand keeps xgrad free of dependencies for one feature.
#include "xgrad/plot/svg.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <iomanip>
#include <locale>
#include <sstream>

#include "util/file.hpp"
#include "xgrad/error.hpp"

namespace xg::plot {
namespace {

// Ten colours that stay apart for most colour-blind readers (the "Tableau 10" set).
const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr std::size_t kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
// After the palette runs out, the colours repeat with these dash patterns.
const char* const kDashes[] = {"", "8 4", "2 3", "8 3 2 3"};

constexpr double kFontSize = 12;

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 forbids control characters other than tab, newline and return.
        out += (c < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') ? ' ' : ch;
    }
  }
  return out;
}

// Fixed-point text in the C locale: a German global locale must not write "1,5".
std::string fixed(double v, int decimals) {
  std::ostringstream out;
  out.imbue(std::locale::classic());
  out << std::fixed << std::setprecision(decimals) << v;
  return out.str();
}

std::string coord(double v) { return fixed(v, 2); }

// A tick label: as many decimals as the step needs, scientific for extreme magnitudes.
std::string tick_label(double v, double step) {
  if (std::abs(v) < step * 1e-9) v = 0;  // no "-0" from rounding
  const double largest = std::max(std::abs(v), step);
  if (step < 1e-4 || largest >= 1e7) {
    std::ostringstream out;
    out.imbue(std::locale::classic());
    out << std::setprecision(3) << v;
    return out.str();
  }
  // step = d × 10^k with d in {1, 2, 5}: k < 0 needs −k decimals.
  const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(step) + 1e-9)));
  return fixed(v, decimals);
}

// Characters, not bytes: a UTF-8 continuation byte (10xxxxxx) does not start one.
std::size_t utf8_length(const std::string& text) {
  std::size_t n = 0;
  for (char ch : text) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  return n;
}

// Width estimate: 0.6 em per character is a generous average for sans-serif.
double text_width(const std::string& text, double font_size = kFontSize) {
  return static_cast<double>(utf8_length(text)) * 0.6 * font_size;
}

// The first max_chars characters of text, "..." marking a cut; never splits a UTF-8 character
// (half a character would make the document invalid XML).
std::string shorten(const std::string& text, std::size_t max_chars) {
  if (utf8_length(text) <= max_chars) return text;
  const std::size_t keep = max_chars > 3 ? max_chars - 3 : 0;
  std::size_t chars = 0, end = 0;
  while (end < text.size()) {
    if ((static_cast<unsigned char>(text[end]) & 0xC0) != 0x80 && chars++ == keep) break;
    ++end;
  }
  return text.substr(0, end) + "...";
}

struct Point {
  double x, y;
};

// The finite points of a series split into runs broken at NaN/Inf.
std::vector<std::vector<Point>> finite_runs(const Series& s) {
  std::vector<std::vector<Point>> runs(1);
  for (std::size_t i = 0; i < s.y.size(); ++i) {
    const double x = s.x.empty() ? static_cast<double>(i + 1) : s.x[i];
    const double y = s.y[i];
    if (std::isfinite(x) && std::isfinite(y)) {
      runs.back().push_back({x, y});
    } else if (!runs.back().empty()) {
      runs.emplace_back();
    }
  }
  if (runs.back().empty()) runs.pop_back();
  return runs;
}

}  // namespace

Ticks nice_ticks(double lo, double hi, int target, bool integers) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || lo > hi || target < 1)
    throw value_error("plot::nice_ticks: expected finite lo <= hi and target >= 1, got lo " +
                      std::to_string(lo) + ", hi " + std::to_string(hi) + ", target " +
                      std::to_string(target));
  if (lo == hi) {  // one value: widen around it so it sits mid-axis
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  // Divide before subtracting so that hi − lo cannot overflow near the double's limit.
  const double raw = hi / target - lo / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / magnitude;
  const double fuzz = 1 + 1e-9;  // raw / magnitude may land a hair above 1, 2 or 5
  double step = (r <= fuzz ? 1 : r <= 2 * fuzz ? 2 : r <= 5 * fuzz ? 5 : 10) * magnitude;
  if (integers) step = std::max(1.0, std::round(step));
  Ticks t;
  t.step = step;
  const double first = std::floor(lo / step + 1e-9);
  const double last = std::ceil(hi / step - 1e-9);
  t.lo = first * step;
  t.hi = last * step;
  // Count with an integer: near 1e16, k + 1 == k in double and a float loop never ends.
  const auto intervals = static_cast<long>(std::min(last - first, 1000.0));
  for (long i = 0; i <= intervals; ++i) t.values.push_back((first + static_cast<double>(i)) * step);
  if (!(t.hi > t.lo)) t.hi = t.lo + step;  // precision loss must not give an empty axis
  return t;
}

namespace {

void validate(const Chart& chart) {
  if (chart.width < 200 || chart.height < 150)
    throw value_error("plot::render_svg: expected a chart of at least 200 × 150 pixels, got " +
                      std::to_string(chart.width) + " × " + std::to_string(chart.height));
  for (const Series& s : chart.series)
    if (!s.x.empty() && s.x.size() != s.y.size())
      throw value_error("plot::render_svg: series '" + s.label + "' has " +
                        std::to_string(s.x.size()) + " x values but " + std::to_string(s.y.size()) +
                        " y values");
}

// A series that is drawn keeps its position in chart.series for a stable colour.
struct Drawn {
  std::size_t index;
  std::vector<std::vector<Point>> runs;
};

// The series with values, and the range of their finite points.
struct Data {
  std::vector<Drawn> drawn;
  double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
  bool integer_x = true;
  bool empty() const { return !std::isfinite(x_min); }
};

Data collect(const Chart& chart) {
  Data data;
  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    if (chart.series[i].y.empty()) continue;
    Drawn d{i, finite_runs(chart.series[i])};
    for (const auto& run : d.runs)
      for (const Point& p : run) {
        data.x_min = std::min(data.x_min, p.x), data.x_max = std::max(data.x_max, p.x);
        data.y_min = std::min(data.y_min, p.y), data.y_max = std::max(data.y_max, p.y);
        data.integer_x = data.integer_x && p.x == std::round(p.x);
      }
    data.drawn.push_back(std::move(d));
  }
  return data;
}

const char* colour_of(const Drawn& d) { return kPalette[d.index % kPaletteSize]; }
std::string dash_of(const Drawn& d) {
  const char* dash = kDashes[(d.index / kPaletteSize) % 4];
  return *dash ? std::string(" stroke-dasharray=\"") + dash + "\"" : std::string();
}

// The plot area in pixels and the axes' ticks.
struct Frame {
  double left, right, top, bottom;
  Ticks x_ticks, y_ticks;
  double px(double x) const {
    return left + (x - x_ticks.lo) / (x_ticks.hi - x_ticks.lo) * (right - left);
  }
  double py(double y) const {
    return bottom - (y - y_ticks.lo) / (y_ticks.hi - y_ticks.lo) * (bottom - top);
  }
};

Frame frame_for(const Chart& chart, const Data& data, double top, double right) {
  Frame f{0,
          right,
          top,
          0,
          nice_ticks(data.x_min, data.x_max, 6, data.integer_x),
          nice_ticks(data.y_min, data.y_max, 5, false)};
  double label_width = 0;
  for (double v : f.y_ticks.values)
    label_width = std::max(label_width, text_width(tick_label(v, f.y_ticks.step)));
  f.left = 8 + (chart.y_label.empty() ? 0 : 22) + label_width + 8;
  f.bottom = chart.height - (chart.x_label.empty() ? 30 : 50);
  return f;
}

// Grid, ticks, tick labels, the frame and the axis labels.
void draw_axes(std::ostream& svg, const Chart& chart, const Frame& f) {
  svg << "<g stroke=\"#e5e5e5\" stroke-width=\"1\">\n";
  for (double v : f.x_ticks.values)
    svg << "<line x1=\"" << coord(f.px(v)) << "\" y1=\"" << coord(f.top) << "\" x2=\""
        << coord(f.px(v)) << "\" y2=\"" << coord(f.bottom) << "\"/>\n";
  for (double v : f.y_ticks.values)
    svg << "<line x1=\"" << coord(f.left) << "\" y1=\"" << coord(f.py(v)) << "\" x2=\""
        << coord(f.right) << "\" y2=\"" << coord(f.py(v)) << "\"/>\n";
  svg << "</g>\n<g fill=\"#333\">\n";
  for (double v : f.x_ticks.values)
    svg << "<text x=\"" << coord(f.px(v)) << "\" y=\"" << coord(f.bottom + 16)
        << "\" text-anchor=\"middle\">" << tick_label(v, f.x_ticks.step) << "</text>\n";
  for (double v : f.y_ticks.values)
    svg << "<text x=\"" << coord(f.left - 6) << "\" y=\"" << coord(f.py(v) + 4)
        << "\" text-anchor=\"end\">" << tick_label(v, f.y_ticks.step) << "</text>\n";
  svg << "</g>\n";
  svg << "<rect x=\"" << coord(f.left) << "\" y=\"" << coord(f.top) << "\" width=\""
      << coord(f.right - f.left) << "\" height=\"" << coord(f.bottom - f.top)
      << "\" fill=\"none\" stroke=\"#333\"/>\n";
  if (!chart.x_label.empty())
    svg << "<text x=\"" << coord((f.left + f.right) / 2) << "\" y=\"" << coord(chart.height - 12)
        << "\" text-anchor=\"middle\">" << xml_escape(chart.x_label) << "</text>\n";
  if (!chart.y_label.empty())
    svg << "<text transform=\"translate(16 " << coord((f.top + f.bottom) / 2)
        << ") rotate(-90)\" text-anchor=\"middle\">" << xml_escape(chart.y_label) << "</text>\n";
}

// The curves: one path each; a run of a single point would be invisible, so it gets a dot.
void draw_curves(std::ostream& svg, const std::vector<Drawn>& drawn, const Frame& f) {
  for (const Drawn& d : drawn) {
    if (d.runs.empty()) continue;  // only NaN/Inf values: a legend entry, nothing to draw
    svg << "<path fill=\"none\" stroke=\"" << colour_of(d) << "\" stroke-width=\"2\"" << dash_of(d)
        << " stroke-linejoin=\"round\" d=\"";
    for (const auto& run : d.runs)
      for (std::size_t k = 0; k < run.size(); ++k)
        svg << (k == 0 ? "M" : " L") << coord(f.px(run[k].x)) << ',' << coord(f.py(run[k].y))
            << (k + 1 == run.size() ? " " : "");
    svg << "\"/>\n";
    for (const auto& run : d.runs)
      if (run.size() == 1)
        svg << "<circle cx=\"" << coord(f.px(run[0].x)) << "\" cy=\"" << coord(f.py(run[0].y))
            << "\" r=\"3\" fill=\"" << colour_of(d) << "\"/>\n";
  }
}

// Legend entries, one per series with values, in the series' order.
void draw_legend(std::ostream& svg, const std::vector<Drawn>& drawn,
                 const std::vector<std::string>& labels, double lx, double top) {
  double ly = top + 8;
  for (std::size_t k = 0; k < drawn.size(); ++k) {
    svg << "<line x1=\"" << coord(lx) << "\" y1=\"" << coord(ly) << "\" x2=\"" << coord(lx + 22)
        << "\" y2=\"" << coord(ly) << "\" stroke=\"" << colour_of(drawn[k])
        << "\" stroke-width=\"2\"" << dash_of(drawn[k]) << "/>\n";
    svg << "<text x=\"" << coord(lx + 28) << "\" y=\"" << coord(ly + 4) << "\">"
        << xml_escape(labels[k]) << "</text>\n";
    ly += 20;
  }
}

}  // namespace

std::string render_svg(const Chart& chart) {
  validate(chart);
  const Data data = collect(chart);
  const double W = chart.width, H = chart.height;
  std::ostringstream svg;
  svg.imbue(std::locale::classic());
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << chart.width << "\" height=\""
      << chart.height << "\" viewBox=\"0 0 " << chart.width << ' ' << chart.height
      << "\" font-family=\"sans-serif\" font-size=\"" << kFontSize << "\">\n";
  svg << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  const double top = chart.title.empty() ? 20 : 44;
  if (!chart.title.empty())
    svg << "<text x=\"" << coord(W / 2) << "\" y=\"26\" text-anchor=\"middle\" font-size=\"16\">"
        << xml_escape(chart.title) << "</text>\n";

  // Legend on the right, outside the plot, so it never hides a curve.
  // Labels too long for 35% of the width are shortened rather than run off the canvas.
  const auto max_label_chars = static_cast<std::size_t>((0.35 * W - 34) / (0.6 * kFontSize));
  std::vector<std::string> legend_labels;
  double legend_width = 0;
  for (const Drawn& d : data.drawn) {
    legend_labels.push_back(shorten(chart.series[d.index].label, max_label_chars));
    legend_width = std::max(legend_width, 34 + text_width(legend_labels.back()));
  }
  const double right = W - (legend_width > 0 ? legend_width + 16 : 20);

  if (data.empty()) {
    svg << "<text x=\"" << coord(right / 2 + 10) << "\" y=\"" << coord(H / 2)
        << "\" text-anchor=\"middle\" fill=\"#666\">no data</text>\n";
  } else {
    const Frame frame = frame_for(chart, data, top, right);
    draw_axes(svg, chart, frame);
    draw_curves(svg, data.drawn, frame);
  }
  draw_legend(svg, data.drawn, legend_labels, right + 12, top);
  svg << "</svg>\n";
  return svg.str();
}

void write_svg(const std::string& path, const Chart& chart) {
  const std::string text = render_svg(chart);
  if (path.empty()) throw io_error("plot::write_svg: expected a file path, got an empty string");
  try {
    file::write_atomically(path, text);
  } catch (const io_error& e) {
    throw io_error(std::string("plot::write_svg: ") + e.what());
  }
}

}  // namespace xg::plot
