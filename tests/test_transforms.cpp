// Image transforms for data augmentation: exact identities and right-angle
// rotations, the elastic field's statistics against σ and α, reproducibility,
// ink mass on real MNIST digits, JSON round trips and clear errors; the image
// grid that draws them, and a smoke test of `xgrad-book augment` and `more-data`.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <string>
#include <vector>
#include <xtensor/xview.hpp>

#include "require_data.hpp"
#include "xgrad/data/mnist.hpp"
#include "xgrad/data/transforms.hpp"
#include "xgrad/error.hpp"
#include "xgrad/plot/image_grid.hpp"
#include "xgrad/random.hpp"

using xg::Array;
using xg::Rng;
using xg::Scalar;
using namespace xg::data;

namespace {

/// m random images of h×w pixels in [0, 1), one per row.
Array random_images(std::size_t m, std::size_t h, std::size_t w, std::uint64_t seed) {
  Rng rng(seed);
  return rng.uniform_array({m, h * w});
}

bool same_bits(const Array& a, const Array& b) {
  if (a.shape() != b.shape()) return false;
  return std::equal(a.begin(), a.end(), b.begin());  // exact, element by element
}

template <class E>
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "<no " + std::string(typeid(E).name()) + " thrown>";
}

/// Sum of a Gaussian's symmetric taps' products at lag d over the taps that
/// meet pixels 0..n−1 from position i (the analytic covariance factor of a
/// smoothed white field at pixels i and i + d, zero padding outside).
double tap_overlap(const std::vector<float>& g1, long n, long i, long d) {
  const long r = static_cast<long>(g1.size()) - 1;
  auto g = [&](long k) { return std::abs(k) > r ? 0.0 : static_cast<double>(g1[std::abs(k)]); };
  double s = 0;
  // The field at i is Σ_j g(j − i) u_j over pixels j in [0, n).
  for (long j = 0; j < n; ++j) s += g(j - i) * g(j - i - d);
  return s;
}

}  // namespace

TEST_CASE("rotation by 0 and translation by 0 are exact identities", "[transforms]") {
  const Array images = random_images(5, 28, 28, 1);
  Rng rng(3);
  SECTION("default ranges: no rotation, scale 1, no shear, no shift") {
    Array batch = images;
    Affine(ImageSize{28, 28}, AffineRanges{}).apply(batch, rng);
    CHECK(same_bits(batch, images));
  }
  SECTION("a full turn and a zero shift on non-square images (no rotation)") {
    const Array wide = random_images(3, 6, 9, 2);
    Array batch = wide;
    AffineRanges r;
    r.shift_x = {0, 0};
    Affine(ImageSize{6, 9}, r).apply(batch, rng);
    CHECK(same_bits(batch, wide));
    Array turned = images;
    r.rotation_deg = {360, 360};
    Affine(ImageSize{28, 28}, r).apply(turned, rng);
    CHECK(same_bits(turned, images));
  }
  SECTION("elastic with α = 0 moves nothing") {
    Array batch = images;
    Elastic(ImageSize{28, 28}, 4.0, 0.0).apply(batch, rng);
    CHECK(same_bits(batch, images));
  }
}

TEST_CASE("rotation by 90 degrees of a square image is transpose then flip", "[transforms]") {
  for (std::size_t n : {5, 28}) {
    const Array images = random_images(3, n, n, n);
    Rng rng(0);
    Array batch = images;
    AffineRanges r;
    r.rotation_deg = {90, 90};
    Affine(ImageSize{n, n}, r).apply(batch, rng);
    // Counter-clockwise on screen: out[y][x] = in[x][n−1−y], i.e. the
    // transpose with its rows in reverse order. Exact, no interpolation.
    bool exact = true;
    for (std::size_t i = 0; i < 3; ++i)
      for (std::size_t y = 0; y < n; ++y)
        for (std::size_t x = 0; x < n; ++x)
          exact = exact && batch(i, y * n + x) == images(i, x * n + (n - 1 - y));
    CHECK(exact);
    // A quarter turn back restores the original, bit for bit.
    r.rotation_deg = {-90, -90};
    Affine(ImageSize{n, n}, r).apply(batch, rng);
    CHECK(same_bits(batch, images));
  }
}

TEST_CASE("whole-pixel translations and one-pixel shifts move pixels exactly", "[transforms]") {
  const std::size_t h = 7, w = 8;
  const Array images = random_images(2, h, w, 9);
  auto moved = [&](long dx, long dy, std::size_t i, long y, long x) {
    const long sy = y - dy, sx = x - dx;
    if (sy < 0 || sx < 0 || sy >= long(h) || sx >= long(w)) return Scalar(0);
    return images(i, static_cast<std::size_t>(sy) * w + static_cast<std::size_t>(sx));
  };
  auto matches = [&](const Array& out, long dx, long dy, std::size_t i) {
    for (long y = 0; y < long(h); ++y)
      for (long x = 0; x < long(w); ++x)
        if (out(i, static_cast<std::size_t>(y) * w + static_cast<std::size_t>(x)) !=
            moved(dx, dy, i, y, x))
          return false;
    return true;
  };
  SECTION("affine shift by (+2, −3): right 2, up 3") {
    AffineRanges r;
    r.shift_x = {2, 2};
    r.shift_y = {-3, -3};
    Array batch = images;
    Rng rng(1);
    Affine(ImageSize{h, w}, r).apply(batch, rng);
    CHECK(matches(batch, 2, -3, 0));
    CHECK(matches(batch, 2, -3, 1));
  }
  SECTION("PixelShift: every image is one of the book's five, each about a fifth of the time") {
    PixelShift shift(ImageSize{h, w});
    Rng rng(5);
    const long moves[5][2] = {{0, -1}, {0, 1}, {-1, 0}, {1, 0}, {0, 0}};
    std::vector<int> seen(5, 0);
    const int trials = 2000;
    for (int t = 0; t < trials; ++t) {
      Array one = xt::view(images, xt::range(0, 1), xt::all());
      shift.apply(one, rng);
      int which = -1;
      for (int k = 0; k < 5; ++k)
        if (matches(one, moves[k][0], moves[k][1], 0)) which = k;
      REQUIRE(which >= 0);
      ++seen[which];
    }
    for (int k = 0; k < 5; ++k) CHECK(std::abs(seen[k] - trials / 5) < 80);  // ~4.5 s.d.
    PixelShift only_moves(ImageSize{h, w}, false);
    Array batch = images;
    only_moves.apply(batch, rng);
    CHECK_FALSE(matches(batch, 0, 0, 0));
  }
}

TEST_CASE("the elastic field has the variance and correlation of σ and α", "[transforms]") {
  const long n = 28;
  const double sigma = 4, alpha = 34;
  Elastic e(ImageSize{28, 28}, sigma, alpha);
  const auto& g = e.kernel();
  // The taps are a Gaussian of σ: unit mass and second moment σ² (less the
  // small tail beyond 3σ that the truncation drops).
  double mass = g[0], moment = 0;
  for (std::size_t k = 1; k < g.size(); ++k) {
    mass += 2.0 * g[k];
    moment += 2.0 * double(k * k) * g[k];
  }
  CHECK(mass == Approx(1.0).epsilon(1e-6));
  CHECK(moment == Approx(sigma * sigma).epsilon(0.04));

  // A field of i.i.d. U[−1, 1] (variance 1/3) smoothed by g along x and y and
  // scaled by α has Var(i, j) = α²/3 · Sx(i) · Sy(j) and covariance at lag d
  // along x α²/3 · Cx(i, d) · Sy(j), with S and C the tap overlaps at the
  // pixel (zero padding shrinks them near the edges).
  const int draws = 4000;
  std::vector<double> dx(n * n), dy(n * n), sum(n * n, 0), sq(n * n, 0), lag(n * n, 0);
  Rng rng(11);
  double mean_x = 0;
  for (int t = 0; t < draws; ++t) {
    e.displacement(rng, dx.data(), dy.data());
    for (long i = 0; i < n * n; ++i) {
      sum[i] += dy[i];
      sq[i] += dy[i] * dy[i];
      if (i % n + 2 < n) lag[i] += dy[i] * dy[i + 2];
      mean_x += dx[i];
    }
  }
  double ratio = 0, centre_ratio = 0, lag_ratio = 0;
  int lag_count = 0;
  for (long y = 0; y < n; ++y)
    for (long x = 0; x < n; ++x) {
      const long i = y * n + x;
      const double m = sum[i] / draws;
      const double var = sq[i] / draws - m * m;
      const double sy = tap_overlap(g, n, y, 0);
      const double expected = alpha * alpha / 3 * tap_overlap(g, n, x, 0) * sy;
      ratio += var / expected;
      if (x == n / 2 && y == n / 2) centre_ratio = var / expected;
      if (x + 2 < n) {
        const double cov = lag[i] / draws - m * sum[i + 2] / draws;
        lag_ratio += cov / (alpha * alpha / 3 * tap_overlap(g, n, x, 2) * sy);
        ++lag_count;
      }
    }
  CHECK(ratio / double(n * n) == Approx(1.0).epsilon(0.03));
  CHECK(centre_ratio == Approx(1.0).epsilon(0.1));
  CHECK(lag_ratio / lag_count == Approx(1.0).epsilon(0.03));
  CHECK(std::abs(mean_x / draws / double(n * n)) < 0.05);
  // The continuous approximation at the centre: α² / (3 · 4πσ²), about 1.38² px².
  const double centre = alpha * alpha / 3 * std::pow(tap_overlap(g, n, n / 2, 0), 2);
  CHECK(centre == Approx(alpha * alpha / (12 * M_PI * sigma * sigma)).epsilon(0.02));
}

TEST_CASE("transforms reproduce bit for bit from the same seed", "[transforms]") {
  const Array images = random_images(20, 28, 28, 4);
  AffineRanges r;
  r.rotation_deg = {-15, 15};
  r.scale = {0.9, 1.1};
  r.shear = {-0.2, 0.2};
  r.shift_x = {-2, 2};
  r.shift_y = {-2, 2};
  std::vector<std::unique_ptr<Transform>> steps;
  steps.push_back(std::make_unique<Affine>(ImageSize{28, 28}, r));
  steps.push_back(std::make_unique<Elastic>(ImageSize{28, 28}));
  steps.push_back(std::make_unique<PixelShift>(ImageSize{28, 28}));
  Compose all(std::move(steps));

  auto run = [&](Transform& t, std::uint64_t seed) {
    Array batch = images;
    Rng rng(seed);
    t.apply(batch, rng);
    return batch;
  };
  const Array first = run(all, 42);
  CHECK(same_bits(run(all, 42), first));
  CHECK_FALSE(same_bits(run(all, 43), first));
  CHECK_FALSE(same_bits(first, images));
  SECTION("a clone and a JSON round trip give the same distortions") {
    CHECK(same_bits(run(*all.clone(), 42), first));
    const auto rebuilt = transform_from_json(all.to_json());
    CHECK(rebuilt->to_json() == all.to_json());
    CHECK(same_bits(run(*rebuilt, 42), first));
  }
  SECTION("an engine restored from its state continues identically") {
    Rng rng(42);
    Array a = images;
    all.apply(a, rng);  // epoch 1
    const std::string saved = rng.state();
    all.apply(a, rng);  // epoch 2
    Rng resumed;
    resumed.restore(saved);
    Array c = run(all, 42);
    all.apply(c, resumed);
    CHECK(same_bits(c, a));
  }
  SECTION("apply on a batch equals the steps chained image by image") {
    Rng rng(42);
    std::vector<Scalar> x(784), y(784);
    bool equal = true;
    for (std::size_t i = 0; i < images.shape(0); ++i) {
      Affine(ImageSize{28, 28}, r).apply_image(&images(i, 0), x.data(), rng);
      Elastic(ImageSize{28, 28}).apply_image(x.data(), y.data(), rng);
      PixelShift(ImageSize{28, 28}).apply_image(y.data(), x.data(), rng);
      for (std::size_t j = 0; j < 784; ++j) equal = equal && x[j] == first(i, j);
    }
    CHECK(equal);
  }
  SECTION("every epoch draws fresh distortions") {
    Rng rng(42);
    Array a = images, b = images;
    all.apply(a, rng);
    all.apply(b, rng);
    CHECK_FALSE(same_bits(a, b));
  }
}

TEST_CASE("distorted MNIST digits keep their ink", "[transforms][mnist]") {
  const std::string dir = xg_test::require_mnist();
  const Mnist m = load_mnist(dir, 1000, 10000, InputStorage::bytes);
  const Array digits = m.training.input_rows(0, 200);
  AffineRanges r;
  r.rotation_deg = {-15, 15};
  r.shear = {-0.15, 0.15};
  r.shift_x = {-2, 2};
  r.shift_y = {-2, 2};
  // Tolerances on the relative change of a digit's ink (sum of its pixels):
  // the worst of 200 digits, and the mean over them. Rigid moves keep the ink
  // up to edge effects. The elastic field is not rigid: with σ = 4, α = 34 the
  // divergence of the displacement has a standard deviation of about 0.35, so
  // a thin digit's strokes are locally compressed or stretched by tens of per
  // cent (the ink changes by ≈ −div), while the mean over digits stays ≈ 0.
  struct Kind {
    std::unique_ptr<Transform> t;
    double worst, mean;
  };
  std::vector<Kind> kinds;
  kinds.push_back({std::make_unique<Affine>(ImageSize{28, 28}, r), 0.05, 0.01});
  kinds.push_back({std::make_unique<Elastic>(ImageSize{28, 28}, 4.0, 34.0), 0.6, 0.04});
  kinds.push_back({std::make_unique<PixelShift>(ImageSize{28, 28}), 0.05, 0.01});
  for (const auto& k : kinds) {
    INFO(k.t->name());
    Array batch = digits;
    Rng rng(8);
    k.t->apply(batch, rng);
    double worst = 0, mean = 0, changed = 0;
    for (std::size_t i = 0; i < 200; ++i) {
      double before = 0, after = 0;
      for (std::size_t j = 0; j < 784; ++j) {
        before += digits(i, j);
        after += batch(i, j);
        changed += batch(i, j) != digits(i, j);
      }
      worst = std::max(worst, std::abs(after - before) / before);
      mean += (after - before) / before / 200;
    }
    CHECK(worst < k.worst);
    CHECK(std::abs(mean) < k.mean);
    CHECK(changed > 200 * 50);  // the ink did move
    CHECK(*std::min_element(batch.begin(), batch.end()) >= 0);
    CHECK(*std::max_element(batch.begin(), batch.end()) <= 1);
  }
}

TEST_CASE("transforms refuse bad parameters and non-image data", "[transforms][errors]") {
  const ImageSize mnist{28, 28};
  using xg::shape_error;
  using xg::value_error;
  SECTION("batch shapes") {
    Elastic e(mnist);
    Rng rng;
    Array wrong = Array::from_shape({10, 100});
    CHECK_THAT(error_of<shape_error>([&] { e.apply(wrong, rng); }),
               Catch::Contains("elastic transform") && Catch::Contains("28×28") &&
                   Catch::Contains("(10, 100)") && Catch::Contains("784"));
    Array flat = Array::from_shape({784});
    CHECK_THAT(error_of<shape_error>([&] { Affine(mnist, {}).apply(flat, rng); }),
               Catch::Contains("affine transform") && Catch::Contains("(784,)"));
    Array cube = Array::from_shape({2, 28, 28});
    CHECK_THAT(error_of<shape_error>([&] { PixelShift(mnist).apply(cube, rng); }),
               Catch::Contains("(2, 28, 28)"));
  }
  SECTION("not image data") {
    CHECK_THAT(error_of<value_error>([&] {
                 Elastic(ImageSize{1, 784});
               }),
               Catch::Contains("1×784") && Catch::Contains("image"));
    CHECK_THAT(error_of<value_error>([&] { PixelShift(ImageSize{0, 0}); }), Catch::Contains("0×0"));
  }
  SECTION("elastic σ and α") {
    CHECK_THAT(error_of<value_error>([&] { Elastic(mnist, 0.0, 34); }), Catch::Contains("sigma"));
    CHECK_THAT(error_of<value_error>([&] { Elastic(mnist, -1.0, 34); }), Catch::Contains("sigma"));
    CHECK_THAT(error_of<value_error>([&] { Elastic(mnist, std::nan(""), 34); }),
               Catch::Contains("sigma"));
    CHECK_THAT(error_of<value_error>([&] { Elastic(mnist, 4, INFINITY); }),
               Catch::Contains("alpha"));
    CHECK_THAT(error_of<value_error>([&] { Elastic(mnist, 4, -1); }), Catch::Contains("alpha"));
  }
  SECTION("affine ranges") {
    AffineRanges r;
    r.shear = {0, NAN};
    CHECK_THAT(error_of<value_error>([&] { Affine(mnist, r); }),
               Catch::Contains("shear") && Catch::Contains("finite"));
    r = {};
    r.shift_x = {2, 1};
    CHECK_THAT(error_of<value_error>([&] { Affine(mnist, r); }),
               Catch::Contains("shift_x") && Catch::Contains("lo"));
    r = {};
    r.scale = {0, 1};
    CHECK_THAT(error_of<value_error>([&] { Affine(mnist, r); }), Catch::Contains("scale"));
    r = {};
    r.rotation_deg = {-10, 10};
    CHECK_THAT(error_of<value_error>([&] {
                 Affine(ImageSize{28, 20}, r);
               }),
               Catch::Contains("square") && Catch::Contains("28×20"));
    r.rotation_deg = {0, 0};
    CHECK_NOTHROW(Affine(ImageSize{28, 20}, r));
  }
  SECTION("composition and JSON") {
    CHECK_THAT(error_of<value_error>([&] { Compose({}); }), Catch::Contains("at least one"));
    std::vector<std::unique_ptr<Transform>> mixed;
    mixed.push_back(std::make_unique<Elastic>(mnist));
    mixed.push_back(std::make_unique<PixelShift>(ImageSize{20, 20}));
    CHECK_THAT(error_of<value_error>([&] { Compose(std::move(mixed)); }),
               Catch::Contains("pixel_shift") && Catch::Contains("20×20"));
    CHECK_THAT(error_of<value_error>([&] { transform_from_json("{\"type\": \"warp\"}"); }),
               Catch::Contains("unknown transform type \"warp\""));
    CHECK_THAT(error_of<value_error>([&] { transform_from_json("{nope"); }),
               Catch::Contains("malformed JSON"));
    CHECK_THAT(error_of<value_error>([&] {
                 transform_from_json(R"({"type":"elastic","height":28,"width":28,"sigma":0,)"
                                     R"("alpha":34})");
               }),
               Catch::Contains("sigma"));
    CHECK_THAT(error_of<value_error>(
                   [&] { transform_from_json(R"({"type":"elastic","height":28,"width":28})"); }),
               Catch::Contains("missing \"sigma\""));
  }
}

TEST_CASE("image grids draw digits as SVG paths", "[transforms][plot]") {
  xg::plot::ImageGrid g;
  g.title = "a < b & \"c\"";
  g.image_height = 2;
  g.image_width = 3;
  g.column_labels = {"left", "right"};
  // Row 0: a run of two full-ink pixels and one half-ink pixel; row 1: blank.
  g.images = {{1, 1, 0.5, 0, 0, 0}, {0, 0, 0, 0, 0, 0}};
  const std::string svg = xg::plot::render_image_grid(g);
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK_THAT(svg, Catch::Contains("a &lt; b &amp; &quot;c&quot;"));
  CHECK_THAT(svg, Catch::Contains("<path fill=\"#000000\" d=\"M0 0h2v1h-2z\"/>"));
  CHECK_THAT(svg, Catch::Contains("d=\"M2 0h1v1h-1z\""));
  std::size_t paths = 0;
  for (std::size_t at = svg.find("<path"); at != std::string::npos; at = svg.find("<path", at + 1))
    ++paths;
  CHECK(paths == 2);  // the blank image has none

  g.images.push_back({0, 0, 0, 0, 0, 0});  // three cells do not fill rows of two
  CHECK_THAT(error_of<xg::value_error>([&] { xg::plot::render_image_grid(g); }),
             Catch::Contains("3 images") && Catch::Contains("2 columns"));
  g.images = {{0, 0, 0, 0, 0, 2}, {0, 0, 0, 0, 0, 0}};
  CHECK_THAT(error_of<xg::value_error>([&] { xg::plot::render_image_grid(g); }),
             Catch::Contains("image 0 pixel 5"));
  g.images = {{0, 0, 0}, {0, 0, 0, 0, 0, 0}};
  CHECK_THAT(error_of<xg::value_error>([&] { xg::plot::render_image_grid(g); }),
             Catch::Contains("has 3 values, expected 6"));
}

#ifdef XGRAD_BOOK_PROGRAM  // builds without the examples (test-float, test-sanitize) have no
                           // xgrad-book
TEST_CASE("xgrad-book augment and more-data run end to end", "[transforms][cli]") {
  namespace fs = std::filesystem;
  const fs::path book = XGRAD_BOOK_PROGRAM;
  const std::string data = xg_test::require_mnist();
  const fs::path dir = fs::temp_directory_path() / ("xgrad-augment-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // Runs a command, returns its exit status and its output's last line.
  auto run = [](const std::string& cmd, std::string& last) {
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    REQUIRE(p != nullptr);
    char buf[512];
    std::string line;
    while (std::fgets(buf, sizeof buf, p)) {
      line = buf;
      if (!line.empty() && line.back() == '\n') line.pop_back();
      if (!line.empty()) last = line;
    }
    const int status = ::pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  std::string last;
  const std::string grid = (dir / "grid.svg").string();
  CHECK(run(book.string() + " augment --grid " + grid + " --data " + data + " --digits 3", last) ==
        0);
  CHECK_THAT(last, Catch::StartsWith("wrote ") && Catch::Contains("3 digits × 5 columns"));
  CHECK(fs::file_size(grid) > 1000);
  const std::string out = (dir / "md").string();
  CHECK(run(book.string() + " more-data --sizes 200,100 --epochs-scale 0.001 --data " + data +
                " --out " + out,
            last) == 0);
  CHECK_THAT(last, Catch::Matches("accuracy: validation [0-9]+/10000 [0-9.]+%"));
  std::ifstream csv(out + "/more-data.csv");
  std::string header, first, second, third, fourth;
  std::getline(csv, header);
  std::getline(csv, first);
  std::getline(csv, second);
  std::getline(csv, third);
  std::getline(csv, fourth);
  CHECK_THAT(header, Catch::StartsWith("data,training_images,epochs,lambda,"));
  CHECK_THAT(first, Catch::StartsWith("plain,100,15,0.01,"));  // 1,500,000 / 100 × 0.001 epochs
  CHECK_THAT(second, Catch::StartsWith("plain,200,8,0.02,"));  // sorted; 7.5 rounds to 8
  // The same sweep again with rotations drawn on the fly.
  CHECK_THAT(third, Catch::StartsWith("rotate,100,15,0.01,"));
  CHECK_THAT(fourth, Catch::StartsWith("rotate,200,8,0.02,"));
  CHECK(fs::file_size(out + "/more-data-linear.svg") > 500);
  CHECK(fs::file_size(out + "/more-data-log.svg") > 500);
  std::ifstream svg(out + "/more-data-log.svg");
  const std::string figure((std::istreambuf_iterator<char>(svg)), std::istreambuf_iterator<char>());
  CHECK_THAT(figure, Catch::Contains("plain data") && Catch::Contains("rotate on the fly"));
  // Refused by the parser (which names the choices on the line before its last).
  CHECK(run(book.string() + " more-data --sizes 100 --augment sideways --data " + data, last) != 0);
  CHECK(run(book.string() + " more-data --sizes 100 --data " + dir.string() + "/none", last) == 2);
  CHECK_THAT(last, Catch::Contains("fetch-mnist"));
  fs::remove_all(dir);
}
#endif  // XGRAD_BOOK_PROGRAM
