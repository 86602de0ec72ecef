#pragma once
// Seeded image distortions that expand a training set on the fly: a random
// affine map (rotation, scaling, shear, translation) through one bilinear
// resampler, the elastic distortion of Simard, Steinkraus & Platt (2003), the
// book's one-pixel shifts, and a composition of them. docs/data-augmentation.md.
//
// A transform works on a mini-batch in place: an m × (H·W) Array of Scalars,
// one row-major H×W image per row (a Batch's inputs, after the byte decode).
// Every image gets a fresh distortion drawn from the xg::Rng passed in, in a
// fixed order, so the same engine state gives bit-identical results (the
// draws are the same on every platform; the floating-point arithmetic is
// that of the build, as for training itself). A transform holds no random
// state of its own: to resume a run exactly, checkpoint the engine
// (Rng::state()) and the transform's parameters (to_json();
// transform_from_json() rebuilds it).
//
// Training applies a transform inside train::fit (FitOptions::transform), per
// mini-batch, after the batch is copied and before the forward pass, through
// apply_indexed(): every image's draws come from an engine seeded by
// (FitOptions::augment_seed, epoch, its position in the epoch's order), apart
// from the shuffling engine, so turning augmentation on does not change the
// sample order and a resumed or data-parallel run distorts the same way.
//
// Geometry: x is the column, y the row (downwards), pixel centres at integer
// coordinates, transforms about the image centre ((W−1)/2, (H−1)/2). Pixels
// that map from outside the image read as 0 (background).
//
// Each transform reuses scratch buffers sized in its constructor, so apply()
// allocates nothing; that also makes one object unsafe to share between
// threads (clone() one per thread).
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "xgrad/random.hpp"
#include "xgrad/scalar.hpp"

namespace xg::data {

/// Height and width of the images a transform expects (both at least 2).
struct ImageSize {
  std::size_t height = 28;
  std::size_t width = 28;
  std::size_t pixels() const { return height * width; }
};

/// A closed interval [lo, hi] a parameter is drawn from, uniformly; lo == hi
/// gives exactly lo (what the tests and fixed distortions use).
struct Range {
  double lo = 0;
  double hi = 0;
};

/// Base of every transform.
class Transform {
 public:
  /// Throws xg::shape_error unless `batch` is an m × H·W matrix (m ≥ 0).
  void check_batch(const Array& batch) const;

  virtual ~Transform() = default;

  /// Distorts every row of `batch` (m × H·W) in place, a fresh draw per
  /// image, rows in order: apply_image(row, row, rng) for each row.
  /// Throws xg::shape_error unless batch is a matrix whose rows hold H·W values.
  void apply(Array& batch, Rng& rng);
  /// Distorts row i of `batch` with a fresh engine seeded by
  /// derive_seed(seed, first_index + i) (random.hpp). Each image's distortion
  /// then depends only on (seed, its index) — not on the batch it arrives in,
  /// nor on what was drawn before — so any split of the rows into batches,
  /// threads or MPI ranks, and a resumed run, give the same images. This is
  /// what train::fit uses (FitOptions::transform). Same shape checks as apply().
  void apply_indexed(Array& batch, std::uint64_t seed, std::size_t first_index);
  /// Distorts one image: writes the distorted `in` to `out` (H·W values each;
  /// `out` may be `in` itself).
  virtual void apply_image(const Scalar* in, Scalar* out, Rng& rng) = 0;

  /// The parameters as a JSON object with a "type" member (no random state).
  virtual std::string to_json() const = 0;
  /// A copy with the same parameters and its own scratch buffers.
  virtual std::unique_ptr<Transform> clone() const = 0;
  /// "affine", "elastic", "pixel_shift" or "compose".
  virtual std::string name() const = 0;

  const ImageSize& image_size() const { return size_; }

 protected:
  /// Throws xg::value_error unless both sides are at least 2 pixels
  /// (anything narrower is not image data). `who` names the caller.
  Transform(ImageSize size, const std::string& who);

 private:
  ImageSize size_;
};

/// Parameters of a random affine distortion, each drawn per image from its range.
struct AffineRanges {
  Range rotation_deg;  ///< counter-clockwise as displayed, degrees
  Range scale{1, 1};   ///< isotropic scale factor (> 0)
  Range shear;         ///< horizontal skew: x' = x + shear · y
  Range shift_x;       ///< pixels, right positive
  Range shift_y;       ///< pixels, down positive
};

/// A random affine distortion: the output image at q reads the input at
/// M⁻¹(q − c − t) + c by bilinear interpolation, where M = R(θ)·Shear(k)·Scale(s)
/// and c is the image centre. Per image the draws are, in this order: θ, s, k,
/// tx, ty (always five, even for a fixed range). A range with hi == lo == 0
/// (rotation, shear, shifts) or 1 (scale) leaves the image exactly unchanged;
/// rotations by multiples of 90° use exact sines and cosines.
class Affine : public Transform {
 public:
  /// Throws xg::value_error for non-finite bounds, lo > hi, a scale range not
  /// inside (0, ∞), or a rotation on images that are not square (rotating a
  /// non-square frame crops one pair of sides and pads the other; the paper's
  /// and the book's rotations are of square digits).
  Affine(ImageSize size, AffineRanges ranges);

  void apply_image(const Scalar* in, Scalar* out, Rng& rng) override;
  std::string to_json() const override;
  std::unique_ptr<Transform> clone() const override;
  std::string name() const override { return "affine"; }

  const AffineRanges& ranges() const { return ranges_; }

 private:
  AffineRanges ranges_;
  std::vector<Scalar> padded_;  // the input inside a zero border (src/data/resample.hpp)
};

/// Elastic distortion (Simard, Steinkraus & Platt 2003, section 2): per image,
/// two fields Δx, Δy of independent draws uniform in [−1, 1] per pixel, each
/// convolved with a normalised Gaussian of standard deviation σ pixels
/// (separable; truncated at 3σ and renormalised; zero outside the image),
/// scaled by α; the output at (x, y) reads the input at (x + Δx, y + Δy) by
/// bilinear interpolation. The paper's best MNIST values are σ = 4, α = 34.
///
/// One draw per image from the caller's Rng seeds a small splitmix64 stream
/// for that image's 2·H·W uniforms: as reproducible as drawing them from the
/// Rng, and fast enough for ≤ 10 µs per 28×28 image.
class Elastic : public Transform {
 public:
  /// Throws xg::value_error unless σ > 0 and α ≥ 0 are finite.
  Elastic(ImageSize size, double sigma = 4.0, double alpha = 34.0);

  void apply_image(const Scalar* in, Scalar* out, Rng& rng) override;
  std::string to_json() const override;
  std::unique_ptr<Transform> clone() const override;
  std::string name() const override { return "elastic"; }

  /// The displacement field the next apply_image() would use, drawn the same
  /// way (the same Rng draw): dx and dy receive H·W values each, row-major.
  void displacement(Rng& rng, double* dx, double* dy);

  double sigma() const { return sigma_; }
  double alpha() const { return alpha_; }
  /// The one-sided Gaussian taps g[0..radius] (g[0] the centre), summing to 1
  /// over both sides.
  const std::vector<float>& kernel() const { return kernel_; }

 private:
  void draw_field(Rng& rng);  // fills dx_, dy_ (scaled by α), row stride W + r
  double sigma_, alpha_;
  std::vector<float> kernel_;
  // Scratch sized once: the raw fields with r zero rows above and below, the
  // column pass, its rows with r zeros between them, and the final fields.
  std::vector<float> raw_x_, raw_y_, columns_, rows_, dx_, dy_;
  std::vector<Scalar> padded_;  // the input inside a zero border
};

/// The book's expansion (chapter 3): each image moved by one pixel up, down,
/// left or right, chosen uniformly per image, or (with keep_original) left as
/// it is with the same probability as each shift, so the mix matches the
/// book's five-fold expanded set. Exact copies; the uncovered edge reads 0.
class PixelShift : public Transform {
 public:
  explicit PixelShift(ImageSize size, bool keep_original = true);

  void apply_image(const Scalar* in, Scalar* out, Rng& rng) override;
  std::string to_json() const override;
  std::unique_ptr<Transform> clone() const override;
  std::string name() const override { return "pixel_shift"; }

  bool keeps_original() const { return keep_original_; }

 private:
  bool keep_original_;
  std::vector<Scalar> scratch_;
};

/// Several transforms applied in turn to each image (all on the same image
/// size): image 1 through every step, then image 2, ... so that the draws of
/// one image stay together.
class Compose : public Transform {
 public:
  /// Throws xg::value_error for an empty list, a null step or steps whose
  /// image sizes differ.
  explicit Compose(std::vector<std::unique_ptr<Transform>> steps);

  void apply_image(const Scalar* in, Scalar* out, Rng& rng) override;
  std::string to_json() const override;
  std::unique_ptr<Transform> clone() const override;
  std::string name() const override { return "compose"; }

  std::size_t size() const { return steps_.size(); }
  const Transform& step(std::size_t i) const { return *steps_.at(i); }

 private:
  std::vector<std::unique_ptr<Transform>> steps_;
  std::vector<Scalar> a_, b_;  // ping-pong buffers between steps
};

/// Rebuilds a transform from its to_json() text. Throws xg::value_error
/// naming the problem for malformed JSON, an unknown "type", a missing or
/// mistyped member, or parameters the constructor refuses.
std::unique_ptr<Transform> transform_from_json(const std::string& json);

}  // namespace xg::data
