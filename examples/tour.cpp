// The README's first example: build an expression, differentiate it (twice), check it.
#include <iostream>
#include <xgrad/xgrad.hpp>

int main() {
  xg::Rng rng(42);
  xg::Tensor x = xg::Tensor::randn({3, 4}, rng, 0.0, 1.0, /*requires_grad=*/true);
  xg::Tensor w = xg::Tensor::randn({2, 4}, rng, 0.0, 1.0, true);
  xg::Tensor y = xg::sum(xg::exp(xg::matmul(x, w, false, /*transpose_b=*/true)) * 0.5);
  y.backward();  // dy/dx and dy/dw
  std::cout << x.grad() << "\n" << w.grad() << "\n";

  // Prove the gradients with finite differences.
  auto f = [](const std::vector<xg::Tensor>& in) {
    return xg::sum(xg::exp(xg::matmul(in[0], in[1], false, true)) * 0.5);
  };
  auto result = xg::gradcheck(f, {x, w});
  std::cout << result << "\n";

  // Differentiate the gradient again: a Hessian-vector product H·v, and the
  // second-order check (autograd's d(gradient) against finite differences).
  xg::Array v = xt::ones_like(x.value()), zero = xt::zeros_like(w.value());
  std::cout << xg::hvp(f, {x, w}, {v, zero})[0] << "\n";
  auto second = xg::gradgradcheck(f, {x, w});
  std::cout << second << "\n";
  return result && second ? 0 : 1;
}
