// The SVG line-chart writer: document structure, escaping, NaN handling, ticks, files.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <locale>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "xgrad/error.hpp"
#include "xgrad/plot/svg.hpp"

using xg::plot::Chart;
using xg::plot::nice_ticks;
using xg::plot::render_svg;
using xg::plot::Series;
using xg::plot::write_svg;

namespace {

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

// A small structural check, enough to catch the ways hand-written XML goes wrong:
// unbalanced or crossed tags, an unclosed attribute quote, a raw '<' or '&' in text.
// Returns "" when the document looks well-formed, else what is wrong.
std::string xml_problem(const std::string& doc) {
  std::vector<std::string> open;
  std::size_t i = 0;
  while (i < doc.size()) {
    if (doc[i] == '&') {
      const auto semi = doc.find(';', i);
      const std::string entity = semi == std::string::npos ? "" : doc.substr(i, semi - i + 1);
      static const std::set<std::string> known = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
      if (!known.count(entity)) return "raw '&' at " + std::to_string(i);
      i = semi + 1;
      continue;
    }
    if (doc[i] != '<') {
      if (doc[i] == '>') return "raw '>' at " + std::to_string(i);
      ++i;
      continue;
    }
    // Inside a tag: find its end, skipping quoted attribute values.
    std::size_t j = i + 1;
    bool quoted = false;
    for (; j < doc.size() && (quoted || doc[j] != '>'); ++j) {
      if (doc[j] == '"') quoted = !quoted;
      if (quoted && (doc[j] == '<' || doc[j] == '&') && doc.compare(j, 5, "&amp;") != 0 &&
          doc.compare(j, 4, "&lt;") != 0 && doc.compare(j, 4, "&gt;") != 0 &&
          doc.compare(j, 6, "&quot;") != 0)
        return "raw '<' or '&' in an attribute at " + std::to_string(j);
    }
    if (j == doc.size()) return "unterminated tag at " + std::to_string(i);
    const std::string tag = doc.substr(i + 1, j - i - 1);
    const bool closing = !tag.empty() && tag[0] == '/';
    const bool self_closing = !tag.empty() && tag.back() == '/';
    std::string name = tag.substr(closing ? 1 : 0);
    name = name.substr(0, name.find_first_of(" \t\n/"));
    if (name.empty()) return "empty tag name at " + std::to_string(i);
    if (closing) {
      if (open.empty() || open.back() != name) return "</" + name + "> does not close the open tag";
      open.pop_back();
      if (open.empty() && doc.find('<', j) != std::string::npos) return "content after the root";
    } else if (!self_closing) {
      if (open.empty() && i != 0) return "second root element <" + name + ">";
      open.push_back(name);
    }
    i = j + 1;
  }
  return open.empty() ? "" : "<" + open.back() + "> never closed";
}

Chart two_curves() {
  Chart c;
  c.title = "Accuracy per epoch";
  c.x_label = "epoch";
  c.y_label = "accuracy (%)";
  c.series = {{"training", {90.1, 93.5, 95.0, 95.9}}, {"test", {89.0, 92.0, 93.1, 93.4}}};
  return c;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A fresh directory under the build tree, removed when the test ends.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& name)
      : path(std::filesystem::path(XGRAD_BINARY_DIR) / "test-tmp" / name) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

// Decimal comma and digit grouping, as a German locale would have, without needing one installed.
struct CommaDecimal : std::numpunct<char> {
  char do_decimal_point() const override { return ','; }
  char do_thousands_sep() const override { return '.'; }
  std::string do_grouping() const override { return "\3"; }
};

}  // namespace

TEST_CASE("svg chart: a well-formed document with one path per curve and a legend", "[plot]") {
  const std::string svg = render_svg(two_curves());
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(xml_problem(svg) == "");
  CHECK(count(svg, "<path") == 2);
  CHECK(svg.find(">training</text>") != std::string::npos);
  CHECK(svg.find(">test</text>") != std::string::npos);
  CHECK(svg.find(">Accuracy per epoch</text>") != std::string::npos);
  CHECK(svg.find(">epoch</text>") != std::string::npos);
  CHECK(svg.find(">accuracy (%)</text>") != std::string::npos);
  // Epochs 1..4 on a whole-number axis; accuracies 89..95.9 on steps of 2 from 88 to 96.
  CHECK(svg.find(">4</text>") != std::string::npos);
  CHECK(svg.find(">88</text>") != std::string::npos);
  CHECK(svg.find(">96</text>") != std::string::npos);
  CHECK(svg.find(">2.5</text>") == std::string::npos);
}

TEST_CASE("svg chart: the self-check of well-formedness rejects broken documents", "[plot]") {
  CHECK(xml_problem("<svg><g></svg>") != "");
  CHECK(xml_problem("<svg><text>a < b</text></svg>") != "");
  CHECK(xml_problem("<svg><text>a & b</text></svg>") != "");
  CHECK(xml_problem("<svg><rect x=\"1/></svg>") != "");
  CHECK(xml_problem("<svg><text>a &amp; b</text><rect/></svg>") == "");
}

TEST_CASE("svg chart: labels are XML-escaped", "[plot]") {
  Chart c;
  c.title = "cost <quadratic> & \"cross-entropy\"";
  c.x_label = "it's";
  c.y_label = "bell\x07";
  c.series = {{"a<b & c>d", {1, 2, 3}}};
  const std::string svg = render_svg(c);
  CHECK(xml_problem(svg) == "");
  CHECK(svg.find("a&lt;b &amp; c&gt;d") != std::string::npos);
  CHECK(svg.find("cost &lt;quadratic&gt; &amp; &quot;cross-entropy&quot;") != std::string::npos);
  CHECK(svg.find("it&apos;s") != std::string::npos);
  CHECK(svg.find("a<b") == std::string::npos);
  CHECK(svg.find('\x07') == std::string::npos);
}

TEST_CASE("svg chart: over-long legend labels are shortened between characters", "[plot]") {
  std::string label;
  for (int i = 0; i < 60; ++i) label += "\xc3\xa9";  // 60 × "é", two bytes each
  Chart c;
  c.series = {{label, {1, 2}}, {"short", {2, 1}}};
  const std::string svg = render_svg(c);
  CHECK(xml_problem(svg) == "");
  CHECK(svg.find(label) == std::string::npos);
  CHECK(svg.find("\xc3\xa9...</text>") != std::string::npos);  // cut after a whole "é"
  CHECK(svg.find(">short</text>") != std::string::npos);
}

TEST_CASE("svg chart: NaN and Inf break the line instead of the document", "[plot]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  Chart c;
  c.series = {{"cost", {1.0, nan, 3.0, inf, 5.0, 6.0, -inf}}};
  const std::string svg = render_svg(c);
  CHECK(xml_problem(svg) == "");
  CHECK(count(svg, "<path") == 1);
  const auto d = svg.find(" d=\"");
  REQUIRE(d != std::string::npos);
  const std::string path = svg.substr(d, svg.find('"', d + 4) - d);
  // Runs {1}, {3}, {5, 6}: three moves, one line segment; the lone points become dots.
  CHECK(count(path, "M") == 3);
  CHECK(count(path, "L") == 1);
  CHECK(count(svg, "<circle") == 2);
  for (const char* bad : {"nan", "NaN", "inf", "Inf"}) CHECK(svg.find(bad) == std::string::npos);
  // The axis covers the finite values only: y from 1 to 6.
  CHECK(svg.find(">6</text>") != std::string::npos);
}

TEST_CASE("svg chart: single points, empty series and no data at all", "[plot]") {
  SECTION("a single point is a dot on a valid axis") {
    Chart c;
    c.series = {{"only", {0.25}}};
    const std::string svg = render_svg(c);
    CHECK(xml_problem(svg) == "");
    CHECK(count(svg, "<path") == 1);
    CHECK(count(svg, "<circle") == 1);
    CHECK(svg.find("no data") == std::string::npos);
  }
  SECTION("empty series are skipped, legend included") {
    Chart c;
    c.series = {{"empty", {}}, {"full", {1, 2}}};
    const std::string svg = render_svg(c);
    CHECK(xml_problem(svg) == "");
    CHECK(count(svg, "<path") == 1);
    CHECK(svg.find("empty") == std::string::npos);
    CHECK(svg.find(">full</text>") != std::string::npos);
  }
  SECTION("no series, or only empty ones: a valid svg saying no data") {
    for (const Chart& c : {Chart{"nothing", "", "", {}}, Chart{"", "x", "y", {{"e", {}}}}}) {
      const std::string svg = render_svg(c);
      CHECK(svg.rfind("<svg", 0) == 0);
      CHECK(xml_problem(svg) == "");
      CHECK(svg.find("no data") != std::string::npos);
      CHECK(count(svg, "<path") == 0);
    }
  }
  SECTION("a series of NaN only keeps its legend entry but draws nothing") {
    Chart c;
    c.series = {{"diverged", {std::nan(""), std::nan("")}}};
    const std::string svg = render_svg(c);
    CHECK(xml_problem(svg) == "");
    CHECK(svg.find("no data") != std::string::npos);
    CHECK(svg.find(">diverged</text>") != std::string::npos);
    CHECK(count(svg, "<path") == 0);
  }
}

TEST_CASE("svg chart: every curve gets its own colour and dash pattern", "[plot]") {
  Chart c;
  for (int i = 0; i < 14; ++i) c.series.push_back({"s" + std::to_string(i), {1.0 * i, 2.0 * i}});
  const std::string svg = render_svg(c);
  CHECK(xml_problem(svg) == "");
  REQUIRE(count(svg, "<path") == 14);
  std::set<std::string> styles;
  for (auto pos = svg.find("<path"); pos != std::string::npos; pos = svg.find("<path", pos + 1)) {
    const std::string tag = svg.substr(pos, svg.find(" d=\"", pos) - pos);
    styles.insert(tag);
  }
  CHECK(styles.size() == 14);
}

TEST_CASE("svg chart: explicit x values and their validation", "[plot]") {
  Chart c;
  c.series = {{"sampled", {0.5, 0.7, 0.9}, {100, 200, 300}}};
  const std::string svg = render_svg(c);
  CHECK(xml_problem(svg) == "");
  CHECK(svg.find(">300</text>") != std::string::npos);
  c.series[0].x.pop_back();
  CHECK_THROWS_AS(render_svg(c), xg::value_error);
  CHECK_THROWS_WITH(render_svg(c), Catch::Contains("sampled"));
  Chart tiny = two_curves();
  tiny.width = 10;
  CHECK_THROWS_AS(render_svg(tiny), xg::value_error);
}

TEST_CASE("svg chart: numbers are written in the C locale", "[plot]") {
  Chart big;
  big.series = {{"loss", {0.5, 0.25, 0.125, 1234.5}}};  // y ticks 0, 500, 1000, 1500
  Chart small;
  small.series = {{"accuracy", {0.1, 0.45, 0.9}}};  // y ticks 0, 0.2, ..., 1
  const std::locale previous =
      std::locale::global(std::locale(std::locale::classic(), new CommaDecimal));
  std::string big_svg, small_svg;
  try {
    big_svg = render_svg(big);
    small_svg = render_svg(small);
  } catch (...) {
    std::locale::global(previous);
    throw;
  }
  std::locale::global(previous);
  for (const std::string& svg : {big_svg, small_svg}) {
    CHECK(xml_problem(svg) == "");
    CHECK(svg.find("viewBox=\"0 0 720 450\"") != std::string::npos);
    // Every attribute number has a decimal point, never a comma: x="70.00", not x="70,00".
    CHECK_FALSE(std::regex_search(svg, std::regex("[xy][12]?=\"-?[0-9]+,")));
  }
  CHECK(big_svg.find(">1000</text>") != std::string::npos);
  CHECK(big_svg.find("1.000") == std::string::npos);
  CHECK(small_svg.find(">0.2</text>") != std::string::npos);
  CHECK(small_svg.find(">0,2</text>") == std::string::npos);
}

TEST_CASE("nice ticks use steps of 1, 2 or 5 times a power of ten", "[plot]") {
  auto t = nice_ticks(0.0, 1.0);
  CHECK(t.step == Approx(0.2));
  CHECK(t.lo == 0.0);
  CHECK(t.hi == Approx(1.0));
  CHECK(t.values.size() == 6);

  t = nice_ticks(0.913, 0.968);
  CHECK(t.step == Approx(0.02));
  CHECK(t.lo == Approx(0.90));
  CHECK(t.hi == Approx(0.98));

  t = nice_ticks(0.0, 0.06);  // 0.06 / 5 / 0.01 is 1.2, just not 1: step 2 × 0.01
  CHECK(t.step == Approx(0.02));

  t = nice_ticks(1e16, 1e16 + 4);  // whole numbers beyond double's integer precision
  CHECK(t.values.size() < 20);
  CHECK(t.hi > t.lo);

  t = nice_ticks(1, 30, 6, true);
  CHECK(t.step == 5);
  CHECK(t.lo == 0);
  CHECK(t.hi == 30);
  CHECK(t.values.back() == 30);

  t = nice_ticks(1, 3, 6, true);  // a fractional step would label half epochs
  CHECK(t.step == 1);
  CHECK(t.values == std::vector<double>{1, 2, 3});

  t = nice_ticks(-3.7, 12.2);
  CHECK(t.step == 5);
  CHECK(t.lo == -5);
  CHECK(t.hi == 15);

  t = nice_ticks(7, 7);  // one value: widened around it
  CHECK(t.lo < 7);
  CHECK(t.hi > 7);

  t = nice_ticks(-1e308, 1e308);  // no overflow in hi − lo
  CHECK(std::isfinite(t.step));
  CHECK(t.values.size() >= 2);

  CHECK_THROWS_AS(nice_ticks(2, 1), xg::value_error);
  CHECK_THROWS_AS(nice_ticks(0, std::nan("")), xg::value_error);
  CHECK_THROWS_AS(nice_ticks(0, 1, 0), xg::value_error);
}

TEST_CASE("write_svg writes the rendered chart atomically", "[plot]") {
  TempDir dir("svg");
  const auto target = dir.path / "accuracy.svg";
  write_svg(target.string(), two_curves());
  CHECK(read_file(target) == render_svg(two_curves()));

  // Overwriting replaces the content and leaves no temporary behind.
  Chart other;
  other.series = {{"cost", {3, 2, 1}}};
  write_svg(target.string(), other);
  CHECK(read_file(target) == render_svg(other));
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path)) {
    (void)entry;
    ++files;
  }
  CHECK(files == 1);
}

TEST_CASE("write_svg failures are io_errors naming the path", "[plot]") {
  TempDir dir("svg-errors");
  const auto missing = (dir.path / "no-such-dir" / "chart.svg").string();
  CHECK_THROWS_AS(write_svg(missing, two_curves()), xg::io_error);
  CHECK_THROWS_WITH(write_svg(missing, two_curves()), Catch::Contains(missing));

  // A directory in the way of the target: the rename fails, and the temporary is removed.
  std::filesystem::create_directories(dir.path / "taken.svg" / "child");
  const auto taken = (dir.path / "taken.svg").string();
  CHECK_THROWS_AS(write_svg(taken, two_curves()), xg::io_error);
  CHECK_THROWS_WITH(write_svg(taken, two_curves()), Catch::Contains(taken));
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path)) {
    (void)entry;
    ++files;
  }
  CHECK(files == 1);  // only taken.svg/

  CHECK_THROWS_AS(write_svg("", two_curves()), xg::io_error);
}
