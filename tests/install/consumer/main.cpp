// Differentiates y = Σ x² through an installed xgrad: dy/dx = 2x.
#include <xgrad/ops.hpp>

int main() {
  xg::Tensor x = xg::Tensor{1.0, 2.0, 3.0}.requires_grad_();
  xg::sum(x * x).backward();
  return x.grad()(2) == 6.0 ? 0 : 1;
}
