#include "posterior/likelihood_weighting.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "posterior/importance.hpp"
#include "posterior/resample_move.hpp"
#include "posterior/student_t.hpp"

namespace sedpost::posterior {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNu = 5;  ///< Student-t degrees of freedom (3 and an inflated scale 1.2 or 1.5 did worse on the demo)

/// log(exp(a) + exp(b)) with -inf handled.
double log_add(double a, double b) {
  if (!(a > -kInf)) return b;
  if (!(b > -kInf)) return a;
  const double m = std::max(a, b);
  return m + std::log(std::exp(a - m) + std::exp(b - m));
}

/// Every draw so far, with what the mixture weights need.
struct Pool {
  std::vector<double> x, amp, unit;              ///< [n, D], [n, D], [n, B] (D = SedTarget::dim())
  std::vector<double> log_target, chi2, log_det; ///< [n]; log_det = log |dw/dx| (NaN: no amplitude coords)
  std::vector<double> log_q_flow;                ///< [n] flow density (bounded coordinates)
  std::vector<std::vector<double>> log_q_t;      ///< per t component: [n] density in x (t(w) |dw/dx|)
  int size() const { return static_cast<int>(log_target.size()); }
  bool usable(int i) const { return log_target[static_cast<std::size_t>(i)] > -kInf; }
};

}  // namespace

LikelihoodWeighting::LikelihoodWeighting(const flow::Flow& flow, const PosteriorSettings& settings)
    : flow_(flow), settings_(settings) {}

WeightedDraws LikelihoodWeighting::run(const SedTarget& target, const float* x_cond, const float* theta,
                                       const float* log_q, std::uint64_t row) const {
  const int S = settings_.n_samples, B = target.n_bands(), D = target.dim();
  Pool p;
  // Round 0: the flow's draws.
  p.x.assign(theta, theta + static_cast<std::size_t>(S) * D);
  p.log_q_flow.assign(log_q, log_q + S);
  p.log_target.resize(static_cast<std::size_t>(S));
  p.chi2.resize(static_cast<std::size_t>(S));
  p.unit.resize(static_cast<std::size_t>(S) * B);
  target.evaluate_flow(p.x.data(), S, p.log_target.data(), p.chi2.data(), p.unit.data());
  p.amp.assign(static_cast<std::size_t>(S) * D, 0.0);
  p.log_det.assign(static_cast<std::size_t>(S), std::numeric_limits<double>::quiet_NaN());
  for (int i = 0; i < S; ++i)
    if (p.usable(i))
      p.log_det[static_cast<std::size_t>(i)] =
          target.to_amplitude(&p.x[static_cast<std::size_t>(i) * D], &p.unit[static_cast<std::size_t>(i) * B],
                              &p.amp[static_cast<std::size_t>(i) * D]);

  std::vector<double> log_w, w;
  // Defensive: one deterministic mixture (flow + t's) for every draw. Otherwise two groups
  // weighted apart, the flow's draws against the flow and the t's draws against the mixture of
  // the t's, each self-normalised and combined in proportion to its ESS (both are consistent;
  // no flow density is needed at the t's draws).
  auto reweight = [&] {
    const int n = p.size();
    log_w.assign(static_cast<std::size_t>(n), -kInf);
    const double n_mix = static_cast<double>(settings_.defensive ? n : n - S);  // draws of the mixture
    for (int i = 0; i < n; ++i) {
      if (!p.usable(i)) continue;
      const auto si = static_cast<std::size_t>(i);
      double log_mix;
      if (!settings_.defensive && i < S) {
        log_mix = p.log_q_flow[si];  // the flow's group: its own proposal
      } else {
        log_mix = settings_.defensive ? std::log(S / n_mix) + p.log_q_flow[si] : -kInf;
        for (std::size_t k = 0; k < p.log_q_t.size(); ++k)
          log_mix = log_add(log_mix, std::log(S / n_mix) + p.log_q_t[k][si]);  // S draws per t
      }
      log_w[si] = p.log_target[si] - log_mix;
      if (std::isnan(log_w[si])) log_w[si] = -kInf;
    }
    if (settings_.defensive || n == S) {
      normalise_log_weights(log_w, w);
      return effective_sample_size(w);
    }
    std::vector<double> lw_flow(log_w.begin(), log_w.begin() + S), lw_t(log_w.begin() + S, log_w.end()), w_flow, w_t;
    normalise_log_weights(lw_flow, w_flow);
    normalise_log_weights(lw_t, w_t);
    const double ess_flow = effective_sample_size(w_flow), ess_t = effective_sample_size(w_t);
    const double lambda = ess_flow + ess_t > 0 ? ess_flow / (ess_flow + ess_t) : 0.5;
    w.resize(static_cast<std::size_t>(n));
    for (int i = 0; i < S; ++i) w[static_cast<std::size_t>(i)] = lambda * w_flow[static_cast<std::size_t>(i)];
    for (int i = S; i < n; ++i) w[static_cast<std::size_t>(i)] = (1 - lambda) * w_t[static_cast<std::size_t>(i - S)];
    for (int i = 0; i < n; ++i)
      log_w[static_cast<std::size_t>(i)] = w[static_cast<std::size_t>(i)] > 0 ? std::log(w[static_cast<std::size_t>(i)]) : -kInf;
    return effective_sample_size(w);
  };
  double ess = reweight();

  Rng rng(settings_.seed, RngStream::kImportance, row);
  int rounds = 0;
  std::vector<StudentT> ts;  // the refinement proposals so far
  std::vector<float> theta_f, lq_f;
  for (; rounds < settings_.max_rounds && ess < settings_.min_ess; ++rounds) {
    // Fit the t to the (tempered) weighted draws that have amplitude coordinates.
    std::vector<int> idx;
    for (int i = 0; i < p.size(); ++i)
      if (p.usable(i) && std::isfinite(p.log_det[static_cast<std::size_t>(i)])) idx.push_back(i);
    if (idx.size() < static_cast<std::size_t>(D + 1)) break;
    StudentT t;
    try {
      t = StudentT::fit_tempered(p.amp, D, idx, log_w, kFitEss, kNu);
    } catch (const NumericsError&) {
      break;  // degenerate spread: keep what there is (flagged by the caller if ESS is low)
    }
    // New draws from the t, evaluated in x.
    // Rounds of S draws: smaller rounds stop earlier on a lucky ESS, with worse tails.
    const Eigen::MatrixXd wn = t.sample(rng, S);
    const int n0 = p.size(), n1 = n0 + S;
    p.x.resize(static_cast<std::size_t>(n1) * D);
    p.amp.resize(static_cast<std::size_t>(n1) * D);
    p.unit.resize(static_cast<std::size_t>(n1) * B);
    p.log_target.resize(static_cast<std::size_t>(n1));
    p.chi2.resize(static_cast<std::size_t>(n1));
    p.log_det.resize(static_cast<std::size_t>(n1));
    p.log_q_flow.resize(static_cast<std::size_t>(n1), -kInf);
    for (int i = 0; i < S; ++i)
      for (int k = 0; k < D; ++k) p.amp[static_cast<std::size_t>(n0 + i) * D + k] = wn(i, k);
    target.evaluate_amplitude(&p.amp[static_cast<std::size_t>(n0) * D], S, &p.x[static_cast<std::size_t>(n0) * D],
                              &p.log_target[static_cast<std::size_t>(n0)], &p.chi2[static_cast<std::size_t>(n0)],
                              &p.unit[static_cast<std::size_t>(n0) * B], &p.log_det[static_cast<std::size_t>(n0)]);
    // The flow's density at the new draws that the target supports (the others weigh 0 anyway).
    std::vector<int> live;
    for (int i = n0; i < n1; ++i)
      if (p.usable(i)) live.push_back(i);
    if (!settings_.defensive) live.clear();  // no flow component: its density is not needed
    theta_f.resize(live.size() * D);
    lq_f.resize(live.size());
    for (std::size_t j = 0; j < live.size(); ++j)
      for (int k = 0; k < D; ++k) theta_f[j * D + k] = static_cast<float>(p.x[static_cast<std::size_t>(live[j]) * D + k]);
    if (!live.empty()) flow_.log_prob(theta_f.data(), x_cond, 1, static_cast<std::int64_t>(live.size()), lq_f.data());
    for (std::size_t j = 0; j < live.size(); ++j) p.log_q_flow[static_cast<std::size_t>(live[j])] = lq_f[j];
    // Densities of the earlier t's at the new draws, and of the new t at every draw.
    for (std::size_t k = 0; k < p.log_q_t.size(); ++k) {
      p.log_q_t[k].resize(static_cast<std::size_t>(n1), -kInf);
      for (int i = n0; i < n1; ++i) {
        const auto si = static_cast<std::size_t>(i);
        if (!p.usable(i)) continue;
        if (std::isfinite(p.log_det[si])) p.log_q_t[k][si] = ts[k].log_density(&p.amp[si * D]) + p.log_det[si];
      }
    }
    std::vector<double> lt(static_cast<std::size_t>(n1), -kInf);
    for (int i = settings_.defensive ? 0 : S; i < n1; ++i) {  // the flow's group does not use the t's
      const auto si = static_cast<std::size_t>(i);
      if (p.usable(i) && std::isfinite(p.log_det[si])) lt[si] = t.log_density(&p.amp[si * D]) + p.log_det[si];
    }
    p.log_q_t.push_back(std::move(lt));
    ts.push_back(std::move(t));
    ess = reweight();
  }

  WeightedDraws out;
  out.ess = ess;
  out.rounds = rounds;
  out.evaluations = p.size();
  int best = -1;
  for (int i = 0; i < p.size(); ++i)  // among the draws the prior allows
    if (w[static_cast<std::size_t>(i)] > 0 && (best < 0 || p.chi2[static_cast<std::size_t>(i)] < p.chi2[static_cast<std::size_t>(best)]))
      best = i;
  MovedDraws moved;
  if (settings_.moves > 0 && best >= 0) {
    Rng move_rng(settings_.seed, RngStream::kMove, row);
    moved = resample_move(target, WeightedPool{&p.x, &p.amp, &p.chi2, &p.log_target, &p.log_det, &w},
                          settings_.move_draws, settings_.moves, kFitEss, move_rng);
  }
  if (moved.m == 0) {  // no moves (or none possible): the weighted draws
    out.n = p.size();
    out.x = std::move(p.x);
    out.w = std::move(w);
    out.chi2 = std::move(p.chi2);
    out.best = best;
    return out;
  }
  out.n = moved.m;
  out.x = std::move(moved.x);
  out.chi2 = std::move(moved.chi2);
  out.w.assign(static_cast<std::size_t>(moved.m), 1.0 / moved.m);
  out.evaluations += moved.evaluations;
  out.acceptance = moved.acceptance;
  out.best = static_cast<int>(std::min_element(out.chi2.begin(), out.chi2.end()) - out.chi2.begin());
  if (p.chi2[static_cast<std::size_t>(best)] < out.chi2[static_cast<std::size_t>(out.best)]) {
    const auto D = static_cast<std::size_t>(target.dim());
    out.x.insert(out.x.end(), p.x.begin() + static_cast<std::ptrdiff_t>(static_cast<std::size_t>(best) * D),
                 p.x.begin() + static_cast<std::ptrdiff_t>((static_cast<std::size_t>(best) + 1) * D));
    out.chi2.push_back(p.chi2[static_cast<std::size_t>(best)]);
    out.w.push_back(0.0);
    out.best = out.n++;
  }
  return out;
}

}  // namespace sedpost::posterior
