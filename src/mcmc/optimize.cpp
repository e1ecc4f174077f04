#include "mcmc/optimize.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace sedpost::mcmc {
namespace {

MinimizeResult nelder_mead_once(const std::function<double(const Eigen::VectorXd&)>& f,
                                const Eigen::VectorXd& x0, const NelderMeadSettings& s, int max_evals) {
  const Eigen::Index n = x0.size();
  const double dn = static_cast<double>(n);
  // Adaptive coefficients (Gao & Han 2012): reflection, expansion, contraction, shrink.
  const double alpha = 1.0, chi = 1.0 + 2.0 / dn, psi = 0.75 - 1.0 / (2.0 * dn),
               sigma = std::max(1.0 - 1.0 / dn, 0.5);
  int evals = 0;
  auto fe = [&](const Eigen::VectorXd& x) {
    ++evals;
    const double v = f(x);
    if (std::isnan(v)) throw NumericsError("nelder_mead: objective returned NaN");
    return v;
  };
  std::vector<Eigen::VectorXd> xs(static_cast<std::size_t>(n + 1), x0);
  std::vector<double> fs(static_cast<std::size_t>(n + 1));
  fs[0] = fe(x0);
  if (!std::isfinite(fs[0])) throw NumericsError("nelder_mead: objective is not finite at the start");
  for (Eigen::Index i = 0; i < n; ++i) {
    const double step = s.initial_steps.size() == n ? s.initial_steps[i] : s.initial_step;
    xs[static_cast<std::size_t>(i + 1)][i] += step;
    fs[static_cast<std::size_t>(i + 1)] = fe(xs[static_cast<std::size_t>(i + 1)]);
  }
  std::vector<std::size_t> order(static_cast<std::size_t>(n + 1));
  MinimizeResult out;
  for (;;) {
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return fs[a] < fs[b]; });
    {
      std::vector<Eigen::VectorXd> xs2;
      std::vector<double> fs2;
      for (std::size_t i : order) xs2.push_back(xs[i]), fs2.push_back(fs[i]);
      xs.swap(xs2);
      fs.swap(fs2);
    }
    double fspread = 0.0, xspread = 0.0;
    for (std::size_t i = 1; i < xs.size(); ++i) {
      fspread = std::max(fspread, std::abs(fs[i] - fs[0]));
      xspread = std::max(xspread, (xs[i] - xs[0]).cwiseAbs().maxCoeff());
    }
    if (fspread <= s.f_tol && xspread <= s.x_tol) {
      out.converged = true;
      break;
    }
    if (evals >= max_evals) break;
    const std::size_t worst = static_cast<std::size_t>(n);
    Eigen::VectorXd xbar = Eigen::VectorXd::Zero(n);
    for (std::size_t i = 0; i < worst; ++i) xbar += xs[i];
    xbar /= dn;
    const Eigen::VectorXd xr = xbar + alpha * (xbar - xs[worst]);
    const double fr = fe(xr);
    bool shrink = false;
    if (fr < fs[0]) {
      const Eigen::VectorXd xe = xbar + chi * (xr - xbar);
      const double fxe = fe(xe);
      if (fxe < fr) xs[worst] = xe, fs[worst] = fxe;
      else xs[worst] = xr, fs[worst] = fr;
    } else if (fr < fs[worst - 1]) {
      xs[worst] = xr, fs[worst] = fr;
    } else if (fr < fs[worst]) {
      const Eigen::VectorXd xc = xbar + psi * (xr - xbar);  // outside contraction
      const double fc = fe(xc);
      if (fc <= fr) xs[worst] = xc, fs[worst] = fc;
      else shrink = true;
    } else {
      const Eigen::VectorXd xcc = xbar - psi * (xbar - xs[worst]);  // inside contraction
      const double fcc = fe(xcc);
      if (fcc < fs[worst]) xs[worst] = xcc, fs[worst] = fcc;
      else shrink = true;
    }
    if (shrink) {
      for (std::size_t i = 1; i < xs.size(); ++i) {
        xs[i] = xs[0] + sigma * (xs[i] - xs[0]);
        fs[i] = fe(xs[i]);
      }
    }
  }
  out.x = xs[0];
  out.value = fs[0];
  out.n_evals = evals;
  return out;
}

}  // namespace

MinimizeResult nelder_mead(const std::function<double(const Eigen::VectorXd&)>& f,
                           const Eigen::Ref<const Eigen::VectorXd>& x0, const NelderMeadSettings& s) {
  if (x0.size() < 1) throw ConfigError("nelder_mead: empty start point");
  if (s.max_evals < 1 || s.restarts < 0) throw ConfigError("nelder_mead: max_evals >= 1, restarts >= 0");
  if (s.initial_steps.size() != 0 && s.initial_steps.size() != x0.size())
    throw ConfigError("nelder_mead: initial_steps must have one entry per parameter");
  MinimizeResult best = nelder_mead_once(f, x0, s, s.max_evals);
  int total = best.n_evals;
  for (int r = 0; r < s.restarts && total < s.max_evals; ++r) {
    MinimizeResult again = nelder_mead_once(f, best.x, s, s.max_evals - total);
    total += again.n_evals;
    const bool same = again.value >= best.value - s.f_tol;
    if (again.value <= best.value) best = again;
    if (same) break;  // restart found nothing better: done
  }
  best.n_evals = total;
  return best;
}

MapResult find_map(const BatchLogDensity& log_density, const Eigen::Ref<const Eigen::MatrixXd>& starts,
                   const NelderMeadSettings& s) {
  MapResult out;
  out.log_prob = -std::numeric_limits<double>::infinity();
  Eigen::MatrixXd one(1, starts.cols());
  Eigen::VectorXd lp(1);
  auto neg_logp = [&](const Eigen::VectorXd& x) {
    one.row(0) = x.transpose();
    log_density(one, lp);
    ++out.n_evals;
    return -lp[0];
  };
  const Eigen::VectorXd start_lp = evaluate(log_density, starts);
  out.n_evals += starts.rows();
  for (Eigen::Index i = 0; i < starts.rows(); ++i) {
    if (!std::isfinite(start_lp[i])) continue;
    MinimizeResult r = nelder_mead(neg_logp, starts.row(i).transpose(), s);
    if (-r.value > out.log_prob) {
      out.log_prob = -r.value;
      out.theta = r.x;
      out.best_start = static_cast<int>(i);
    }
    out.runs.push_back(std::move(r));
  }
  if (out.best_start < 0) throw NumericsError("find_map: no start point has a finite log density");
  return out;
}

Eigen::MatrixXd init_walkers_around(const BatchLogDensity& log_density,
                                    const Eigen::Ref<const Eigen::VectorXd>& center,
                                    const Eigen::Ref<const Eigen::VectorXd>& scale, int n_walkers, Rng& rng,
                                    int max_batches) {
  const Eigen::Index d = center.size();
  if (n_walkers < 1 || d < 1) throw ConfigError("init_walkers_around: need n_walkers >= 1 and D >= 1");
  if (scale.size() != d && scale.size() != 1)
    throw ConfigError("init_walkers_around: scale must have size D or 1");
  Eigen::MatrixXd out(n_walkers, d);
  Eigen::MatrixXd prop(n_walkers, d);
  Eigen::VectorXd lp(n_walkers);
  int filled = 0;
  for (int b = 0; b < max_batches && filled < n_walkers; ++b) {
    for (int i = 0; i < n_walkers; ++i)
      for (Eigen::Index k = 0; k < d; ++k)
        prop(i, k) = center[k] + (scale.size() == 1 ? scale[0] : scale[k]) * rng.normal();
    log_density(prop, lp);
    for (int i = 0; i < n_walkers && filled < n_walkers; ++i) {
      if (std::isnan(lp[i])) throw NumericsError("init_walkers_around: log density returned NaN");
      if (std::isfinite(lp[i])) out.row(filled++) = prop.row(i);
    }
  }
  if (filled < n_walkers)
    throw NumericsError("init_walkers_around: found only " + std::to_string(filled) + " of " +
                        std::to_string(n_walkers) + " points with finite log density");
  return out;
}

}  // namespace sedpost::mcmc
