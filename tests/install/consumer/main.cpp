// Uses an installed xgrad as an outside project would: differentiates
// y = Σ x² (dy/dx = 2x), then defines its own layer with sub-modules,
// registers it in one line, and saves and reloads a model holding it.
#include <memory>
#include <xgrad/io/model.hpp>
#include <xgrad/nn.hpp>
#include <xgrad/ops.hpp>

// y = x + tanh(fc(x)): its sub-modules are built by the constructor.
class Residual : public xg::nn::Module {
 public:
  explicit Residual(std::size_t width) : width_(width) {
    xg::Rng rng(1);
    fc_ = register_module("fc", std::make_shared<xg::nn::Linear>(width, width, rng));
    act_ = register_module("act", xg::nn::make_activation("tanh"));
  }
  xg::Tensor forward(const xg::Tensor& x) override { return x + act_->forward(fc_->forward(x)); }
  std::string type_name() const override { return "Residual"; }
  xg::nn::Config config() const override { return xg::nn::Config().set("width", width_); }
  static std::shared_ptr<Residual> from_config(const xg::nn::LayerArgs& args) {
    return std::make_shared<Residual>(args.config().size("width"));
  }

 private:
  std::size_t width_;
  std::shared_ptr<xg::nn::Module> fc_, act_;
};
XG_REGISTER_LAYER(Residual, "Residual")

int main() {
  xg::Tensor x = xg::Tensor{1.0, 2.0, 3.0}.requires_grad_();
  xg::sum(x * x).backward();
  if (x.grad()(2) != 6.0) return 1;

  xg::Rng rng(7);
  xg::nn::Sequential net;
  net.add(std::make_shared<xg::nn::Linear>(3, 2, rng)).add(std::make_shared<Residual>(2));
  xg::io::save_model("consumer-model", net);
  auto loaded = xg::io::load_model("consumer-model");
  const xg::Tensor in(xg::Array{{0.5, -1.0, 2.0}});
  net.eval();
  loaded.model->eval();
  return net(in).value() == loaded.model->forward(in).value() ? 0 : 2;
}
