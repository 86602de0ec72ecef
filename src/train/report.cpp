#include "xgrad/train/report.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "util/file.hpp"
#include "xgrad/error.hpp"
#include "xgrad/plot/svg.hpp"

namespace xg::train {

namespace {

std::string cell(const std::optional<double>& v) {
  if (!v) return "";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", *v);
  return buf;
}

std::optional<double> percent(const std::optional<std::size_t>& correct, std::size_t total) {
  if (!correct || total == 0) return std::nullopt;
  return 100.0 * static_cast<double>(*correct) / static_cast<double>(total);
}

plot::Series series(const std::string& label, const History& h,
                    std::optional<double> (*get)(const EpochRecord&)) {
  plot::Series s{label, {}, {}};
  for (const auto& r : h.epochs) {
    auto v = get(r);
    if (!v) continue;
    s.x.push_back(static_cast<double>(r.epoch));
    s.y.push_back(*v);
  }
  return s;
}

}  // namespace

std::string history_csv(const History& h) {
  std::ostringstream out;
  out << "epoch,learning_rate,seconds,training_cost,training_accuracy,evaluation_cost,"
         "evaluation_accuracy\n";
  for (const auto& r : h.epochs) {
    out << r.epoch << ',' << cell(r.learning_rate) << ',' << cell(r.seconds) << ','
        << cell(r.training_cost) << ',' << cell(percent(r.training_correct, r.training_size)) << ','
        << cell(r.evaluation_cost) << ',' << cell(percent(r.evaluation_correct, r.evaluation_size))
        << '\n';
  }
  return out.str();
}

void check_history_target(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (fs::path p = fs::path(dir); !p.empty(); p = p.parent_path()) {
    const auto st = fs::status(p, ec);
    if (fs::exists(st)) {
      if (!fs::is_directory(st))
        throw io_error("cannot write the history into '" + dir + "': '" + p.string() +
                       "' is not a directory");
      return;
    }
    if (p == p.parent_path()) return;
  }
}

void write_history(const std::string& dir, const History& h, const std::string& eval_name) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw io_error("cannot create directory " + dir + ": " + ec.message());
  const std::filesystem::path d(dir);
  file::write_atomically((d / "history.csv").string(), history_csv(h));

  plot::Chart cost{"Cost per epoch", "epoch", "cost", {}};
  auto tc = series("training", h, [](const EpochRecord& r) { return r.training_cost; });
  auto ec_ = series(eval_name, h, [](const EpochRecord& r) { return r.evaluation_cost; });
  for (auto* s : {&tc, &ec_})
    if (!s->y.empty()) cost.series.push_back(*s);
  plot::write_svg((d / "cost.svg").string(), cost);

  plot::Chart acc{"Classification accuracy per epoch", "epoch", "accuracy (%)", {}};
  auto ta = series("training", h, [](const EpochRecord& r) {
    return percent(r.training_correct, r.training_size);
  });
  auto ea = series(eval_name, h, [](const EpochRecord& r) {
    return percent(r.evaluation_correct, r.evaluation_size);
  });
  for (auto* s : {&ta, &ea})
    if (!s->y.empty()) acc.series.push_back(*s);
  plot::write_svg((d / "accuracy.svg").string(), acc);
}

}  // namespace xg::train
