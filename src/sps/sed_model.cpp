#include "sps/sed_model.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <sstream>

#include "core/error.hpp"
#include "sps/model_data.hpp"
#include "sps/piecewise_linear.hpp"
#include "sps/simd.hpp"

namespace sedpost::sps {

namespace {

constexpr double kMpcCm = 3.0856775814913673e24;
constexpr double kPi = 3.14159265358979323846;

std::string fmt(double v) {
  std::ostringstream os;
  os.precision(10);
  os << v;
  return os.str();
}

SEDPOST_SPS_CLONES void accumulate_row(double w, const Real* __restrict src, double* __restrict acc, int n) {
  for (int j = 0; j < n; ++j) acc[j] += w * static_cast<double>(src[j]);
}

}  // namespace

double integrate_slice(const ModelData& d, int zi, double a, double b, Real* row, int j0, int j1) {
  // Sums in double (the library's float32 values are exact in both), stored as Real.
  const auto w = integral_weights(d.ages[static_cast<size_t>(zi)], a, b, Extrapolation::kClamp);
  thread_local std::vector<double> acc;
  acc.assign(static_cast<size_t>(j1 - j0), 0.0);
  double surv = 0;
  const auto& m = d.ssp[static_cast<size_t>(zi)];
  for (const auto& e : w) {
    accumulate_row(e.weight, m.row(e.index).data() + j0, acc.data(), j1 - j0);
    surv += e.weight * d.surviving[static_cast<size_t>(zi)][static_cast<size_t>(e.index)];
  }
  for (int j = 0; j < j1 - j0; ++j) row[j0 + j] = static_cast<Real>(acc[static_cast<size_t>(j)]);
  return surv;
}

void z_interval(const ModelData& d, double zval, int& lo, double& w) {
  const int nz = d.nz;
  if (nz == 1) {
    lo = 0;
    w = 0;
    return;
  }
  if (zval <= d.zgrid[0]) {
    lo = 0;
    w = 0;
    return;
  }
  if (zval >= d.zgrid[static_cast<size_t>(nz - 1)]) {
    lo = nz - 2;
    w = 1;
    return;
  }
  lo = 0;
  while (zval >= d.zgrid[static_cast<size_t>(lo + 1)]) ++lo;
  double ln;
  SEDPOST_SPS_LN(zval / d.zgrid[static_cast<size_t>(lo)], ln);
  w = ln * d.inv_log_dz[static_cast<size_t>(lo)];
}

namespace {

/// z_interval() for zv [n] at once into lo [n], w [n] (the same arithmetic, equal to rounding;
/// branch-free so the AVX clones vectorise it). `zg` [nz >= 2] the Z grid, `inv_log_dz` [nz - 1].
SEDPOST_SPS_CLONES void z_intervals(const double* __restrict zg, const double* __restrict inv_log_dz, int nz,
                                    const double* __restrict zv, int n, int* __restrict lo, double* __restrict w) {
  for (int k = 0; k < n; ++k) lo[k] = 0;
  for (int i = 1; i + 1 < nz; ++i) {
    const double g = zg[i];
    for (int k = 0; k < n; ++k) lo[k] += zv[k] >= g ? 1 : 0;
  }
  const double z0 = zg[0], z1 = zg[nz - 1];
  for (int k = 0; k < n; ++k) {
    const double x = zv[k];
    const int l = lo[k];
    double ln;
    SEDPOST_SPS_LN(x / zg[l], ln);
    const double v = ln * inv_log_dz[l];
    w[k] = x <= z0 ? 0.0 : (x >= z1 ? 1.0 : v);
  }
}

}  // namespace

void z_intervals(const ModelData& d, const double* zv, int n, int* lo, double* w) {
  if (d.nz >= 2) {
    z_intervals(d.zgrid.data(), d.inv_log_dz.data(), d.nz, zv, n, lo, w);
  } else {
    std::fill_n(lo, n, 0);
    std::fill_n(w, n, 0.0);
  }
}

namespace {

/// Linear interpolation in age (clamped) on slice zi: up to two (index, weight) terms.
inline int age_terms(const std::vector<double>& ages, double t, int idx[2], double wt[2]) {
  const int n = static_cast<int>(ages.size());
  if (t <= ages[0] || n == 1) {
    idx[0] = 0;
    wt[0] = 1;
    return 1;
  }
  if (t >= ages[static_cast<size_t>(n - 1)]) {
    idx[0] = n - 1;
    wt[0] = 1;
    return 1;
  }
  const int lo = static_cast<int>(std::upper_bound(ages.begin(), ages.end(), t) - ages.begin()) - 1;
  const double u = (t - ages[static_cast<size_t>(lo)]) / (ages[static_cast<size_t>(lo + 1)] - ages[static_cast<size_t>(lo)]);
  idx[0] = lo;
  wt[0] = 1 - u;
  idx[1] = lo + 1;
  wt[1] = u;
  return 2;
}

SEDPOST_SPS_CLONES void axpy2(Real a, const Real* __restrict x, Real b, const Real* __restrict x2,
                               Real* __restrict y, int n) {
  for (int j = 0; j < n; ++j) y[j] += a * x[j] + b * x2[j];
}

SEDPOST_SPS_CLONES void combine(const Real* __restrict ism, const Real* __restrict old,
                                const Real* __restrict bc, const Real* __restrict young,
                                Real* __restrict out, int n) {
  for (int j = 0; j < n; ++j) out[j] = ism[j] * (old[j] + bc[j] * young[j]);
}

/// out = cum + c1 v0 + c2 v1 (double arithmetic, Real storage).
SEDPOST_SPS_CLONES void last_row(const Real* __restrict cum, double c1, const Real* __restrict v0, double c2,
                                 const Real* __restrict v1, Real* __restrict out, int n) {
  for (int j = 0; j < n; ++j)
    out[j] = static_cast<Real>(static_cast<double>(cum[j]) + c1 * static_cast<double>(v0[j]) +
                               c2 * static_cast<double>(v1[j]));
}

void check_z(const ModelData& d, double z) {
  if (!std::isfinite(z) || z <= 0)
    throw DataError("redshift z = " + fmt(z) + " is invalid: the SED model needs 0 < z <= " +
                    fmt(d.settings.z_max));
  if (z > d.settings.z_max)
    throw DataError("redshift z = " + fmt(z) + " is beyond the SED model's z_max = " + fmt(d.settings.z_max) +
                    " (the wavelength window and bands are prepared up to z_max)");
}

/// LastBinTable for every fixed bin that is the last one for some 0 < z <= z_max and lies
/// wholly above t_esc (a last bin straddling t_esc, z of order 100, takes the general path).
void build_last_bin_tables(ModelData& d) {
  const double t_young = d.cosmo.age_gyr(d.settings.z_max) * 1e9;  // smallest t_age
  const double t_old = d.cosmo.age_gyr(0.0) * 1e9;                  // largest t_age
  d.last_tables.assign(static_cast<size_t>(d.nfull), LastBinTable{});
  const int nw = d.nwin;
  std::vector<double> acc(static_cast<size_t>(nw)), prev(static_cast<size_t>(nw)), cur(static_cast<size_t>(nw));
  for (int m = 0; m < d.nfull; ++m) {
    const double lo = d.edges[static_cast<size_t>(m)], hi = d.edges[static_cast<size_t>(m + 1)];
    // bin m is the last when lo < t_age <= hi
    if (!(lo < t_old && hi >= t_young) || lo < d.settings.t_esc_yr) continue;
    LastBinTable& t = d.last_tables[static_cast<size_t>(m)];
    t.m = m;
    t.brk.resize(static_cast<size_t>(d.nz));
    t.cum.resize(static_cast<size_t>(d.nz));
    t.val.resize(static_cast<size_t>(d.nz));
    t.cum_surv.resize(static_cast<size_t>(d.nz));
    t.val_surv.resize(static_cast<size_t>(d.nz));
    for (int zi = 0; zi < d.nz; ++zi) {
      const auto& ages = d.ages[static_cast<size_t>(zi)];
      const auto& sv = d.surviving[static_cast<size_t>(zi)];
      auto& brk = t.brk[static_cast<size_t>(zi)];
      brk.push_back(lo);
      for (double a : ages)
        if (a > lo && a < hi) brk.push_back(a);
      brk.push_back(hi);
      const auto nbrk = static_cast<Eigen::Index>(brk.size());
      t.cum[static_cast<size_t>(zi)].resize(nbrk, nw);
      t.val[static_cast<size_t>(zi)].resize(nbrk, nw);
      std::fill(acc.begin(), acc.end(), 0.0);
      double acc_s = 0, prev_s = 0;
      for (Eigen::Index q = 0; q < nbrk; ++q) {
        // SSP at the breakpoint, linear in age, clamped (the rule integrate_slice uses)
        std::vector<NodeWeight> w;
        append_interp_weights(ages, brk[static_cast<size_t>(q)], Extrapolation::kClamp, 1.0, w);
        std::fill(cur.begin(), cur.end(), 0.0);
        double cur_s = 0;
        for (const auto& e : w) {
          accumulate_row(e.weight, d.ssp[static_cast<size_t>(zi)].row(e.index).data(), cur.data(), nw);
          cur_s += e.weight * sv[static_cast<size_t>(e.index)];
        }
        if (q > 0) {
          const double h = 0.5 * (brk[static_cast<size_t>(q)] - brk[static_cast<size_t>(q - 1)]);
          for (int j = 0; j < nw; ++j) acc[static_cast<size_t>(j)] += h * (prev[static_cast<size_t>(j)] + cur[static_cast<size_t>(j)]);
          acc_s += h * (prev_s + cur_s);
        }
        for (int j = 0; j < nw; ++j) {
          t.cum[static_cast<size_t>(zi)](q, j) = static_cast<Real>(acc[static_cast<size_t>(j)]);
          t.val[static_cast<size_t>(zi)](q, j) = static_cast<Real>(cur[static_cast<size_t>(j)]);
        }
        t.cum_surv[static_cast<size_t>(zi)].push_back(acc_s);
        t.val_surv[static_cast<size_t>(zi)].push_back(cur_s);
        prev.swap(cur);
        prev_s = cur_s;
      }
    }
  }
}

std::shared_ptr<ModelData> build(const SedModelSettings& st) {
  auto d = std::make_shared<ModelData>();
  d->settings = st;
  if (st.data_dir.empty() && st.ssp_dir.empty())
    throw ConfigError("SED model: data_dir is empty (set SEDPOST_DATA_DIR or the config's data_dir)");
  if (!(st.z_max > 0) || !std::isfinite(st.z_max)) throw ConfigError("SED model: z_max must be > 0, got " + fmt(st.z_max));
  if (!(st.t_esc_yr > 0)) throw ConfigError("SED model: t_esc must be > 0 yr, got " + fmt(st.t_esc_yr));
  if (!(st.lsun_erg_s > 0)) throw ConfigError("SED model: L_sun must be > 0, got " + fmt(st.lsun_erg_s));
  if (st.bands.empty()) throw ConfigError("SED model: empty band list");
  std::string ssp_dir = st.ssp_dir;
  if (ssp_dir.empty()) {
    if (st.ssp_kind == "bc03") ssp_dir = st.data_dir + "/sps/bc03/Padova1994/chabrier";
    else ssp_dir = st.data_dir + "/sps/maraston2005";
  }
  const SspLibrary lib = read_ssp_library(st.ssp_kind, ssp_dir);
  d->ssp_name = lib.name;
  d->lib_lsun = lib.lsun_erg_s;
  d->band_names = st.bands;
  d->filters = load_filters(st.data_dir, st.bands);
  if (st.igm == "inoue2014") d->igm = std::make_unique<IgmInoue2014>(st.data_dir + "/igm");
  else if (st.igm != "none") throw ConfigError("SED model: igm = '" + st.igm + "': expected none or inoue2014");
  d->nmf = std::make_unique<NmfHistory>(st.data_dir + "/provabgs");

  // Wavelength window: every rest wavelength any band sees for 0 < z <= z_max, plus one node.
  double fmin = 1e300, fmax = 0;
  for (const auto& f : d->filters) {
    fmin = std::min(fmin, f.min_wavelength());
    fmax = std::max(fmax, f.max_wavelength());
  }
  const auto& lw = lib.wavelength;
  const double rest_lo = fmin / (1 + st.z_max);
  if (rest_lo < lw.front())
    throw ConfigError("SED model: z_max = " + fmt(st.z_max) + " puts the bluest band below the SSP library's " +
                      fmt(lw.front()) + " A");
  if (fmax > lw.back())
    throw DataError("SED model: a band reaches " + fmt(fmax) + " A, redder than the SSP library's " +
                    fmt(lw.back()) + " A");
  const int lo = static_cast<int>(std::upper_bound(lw.begin(), lw.end(), rest_lo) - lw.begin()) - 1;
  const int hi = static_cast<int>(std::lower_bound(lw.begin(), lw.end(), fmax) - lw.begin());
  d->w0 = lo;
  d->nwin = hi - lo + 1;
  d->rest_wave.assign(lw.begin() + lo, lw.begin() + hi + 1);
  d->dust = DustCurves(d->rest_wave, st.bc_dust_index);
  for (const auto& f : d->filters) d->zbands.emplace_back(f, d->rest_wave);

  d->nz = static_cast<int>(lib.slices.size());
  for (const auto& s : lib.slices) {
    d->zgrid.push_back(s.metallicity);
    d->ages.push_back(s.ages);
    d->surviving.push_back(s.surviving);
    d->ssp.push_back(s.luminosity.block(0, lo, s.luminosity.rows(), d->nwin).cast<Real>());
  }
  for (int i = 0; i + 1 < d->nz; ++i)
    d->inv_log_dz.push_back(1.0 / std::log(d->zgrid[static_cast<size_t>(i + 1)] / d->zgrid[static_cast<size_t>(i)]));

  // Fixed bins [E_k, E_k+1], split at t_esc for the birth clouds.
  d->edges = fixed_time_bin_edges_yr();
  d->nfull = static_cast<int>(d->edges.size()) - 1;
  d->young.assign(static_cast<size_t>(d->nz), RealRowMatrix::Zero(d->nfull, d->nwin));
  d->old.assign(static_cast<size_t>(d->nz), RealRowMatrix::Zero(d->nfull, d->nwin));
  d->surv_int.assign(static_cast<size_t>(d->nz), std::vector<double>(static_cast<size_t>(d->nfull), 0.0));
  const double te = st.t_esc_yr;
  std::vector<Real> tmp(static_cast<size_t>(d->nwin));
  for (int k = 0; k < d->nfull; ++k) {
    const double a = d->edges[static_cast<size_t>(k)], b = d->edges[static_cast<size_t>(k + 1)];
    d->full_sfh.push_back(d->nmf->sfh_bin_average(a, b));
    d->full_zh.push_back(d->nmf->zh_at(0.5 * (a + b)));
    const bool y = a < te, o = b > te;
    d->full_young.push_back(y);
    d->full_old.push_back(o);
    for (int zi = 0; zi < d->nz; ++zi) {
      double sv = 0;
      if (y) sv += integrate_slice(*d, zi, a, std::min(b, te), d->young[static_cast<size_t>(zi)].row(k).data(), 0, d->nwin);
      if (o) sv += integrate_slice(*d, zi, std::max(a, te), b, d->old[static_cast<size_t>(zi)].row(k).data(), 0, d->nwin);
      d->surv_int[static_cast<size_t>(zi)][static_cast<size_t>(k)] = sv;
    }
  }
  build_last_bin_tables(*d);
  static std::atomic<std::uint64_t> next_id{0};
  d->id = ++next_id;
  return d;
}

}  // namespace

void apply_igm(const ModelData& d, double z, BandWeights& bw) {
  if (!d.igm) return;
  for (size_t k = 0; k < bw.weights.size(); ++k)
    bw.weights[k] *= d.igm->transmission(d.rest_wave[static_cast<size_t>(bw.first) + k] * (1 + z), z);
}

std::unique_ptr<ZSetup> make_zsetup(const ModelData& d, double z, bool with_bands) {
  auto s = std::make_unique<ZSetup>();
  update_zsetup(d, z, with_bands, *s);
  return s;
}

namespace {

/// Which rest-frame nodes a setup prepares the last bin's spectra for: the bands' (and the band
/// matrix), the whole window, or none (time bins and surviving fractions only).
enum class SetupNodes { kBands, kAll, kNone };

void update_setup(const ModelData& d, double z, SetupNodes nodes, ZSetup& s, const std::vector<TabulatedBand>* tables) {
  check_z(d, z);
  s.z = z;
  s.t_age_yr = d.cosmo.age_gyr(z) * 1e9;
  s.dl_mpc = d.cosmo.luminosity_distance_mpc(z);
  // Bins: the fixed edges strictly below t_age, then t_age (time_bin_edges_yr).
  const int ne = static_cast<int>(std::lower_bound(d.edges.begin(), d.edges.end(), s.t_age_yr) - d.edges.begin());
  const int nb = ne;
  const int nz = d.nz;
  if (s.model_id != d.id || s.nbins_built != nb) {
    s.bins.assign(static_cast<size_t>(nb), BinInfo{});
    s.young_rows.assign(static_cast<size_t>(nb * nz), nullptr);
    s.old_rows.assign(static_cast<size_t>(nb * nz), nullptr);
    s.surv_int.assign(static_cast<size_t>(nb * nz), 0.0);
    for (int k = 0; k + 1 < nb; ++k) {
      auto& bi = s.bins[static_cast<size_t>(k)];
      bi.a = d.edges[static_cast<size_t>(k)];
      bi.b = d.edges[static_cast<size_t>(k + 1)];
      bi.center = 0.5 * (bi.a + bi.b);
      bi.dt = bi.b - bi.a;
      bi.sfh = d.full_sfh[static_cast<size_t>(k)];
      bi.zh = d.full_zh[static_cast<size_t>(k)];
      bi.has_young = d.full_young[static_cast<size_t>(k)];
      bi.has_old = d.full_old[static_cast<size_t>(k)];
      for (int zi = 0; zi < nz; ++zi) {
        const auto u = static_cast<size_t>(k * nz + zi);
        s.young_rows[u] = d.young[static_cast<size_t>(zi)].row(k).data();
        s.old_rows[u] = d.old[static_cast<size_t>(zi)].row(k).data();
        s.surv_int[u] = d.surv_int[static_cast<size_t>(zi)][static_cast<size_t>(k)];
      }
    }
    s.last_young.resize(nz, d.nwin);
    s.last_old.resize(nz, d.nwin);
    s.model_id = d.id;
    s.nbins_built = nb;
  }
  const double dl_cm = s.dl_mpc * kMpcCm;
  s.flambda_scale = d.settings.lsun_erg_s / (4 * kPi * dl_cm * dl_cm) / (1 + z);
  s.j0 = 0;
  s.j1 = nodes == SetupNodes::kNone ? 0 : d.nwin;
  if (nodes == SetupNodes::kBands) {
    thread_local std::vector<BandWeights> bws;
    bws.resize(d.filters.size());
    int j0 = d.nwin, j1 = 0;
    const double u = tables ? TabulatedBand::coordinate(z) : 0.0;  // once for every band
    for (size_t b = 0; b < d.filters.size(); ++b) {
      if (tables) (*tables)[b].weights_at(u, bws[b]);
      else d.zbands[b].weights(z, bws[b]);
      apply_igm(d, z, bws[b]);
      j0 = std::min(j0, bws[b].first);
      j1 = std::max(j1, bws[b].first + static_cast<int>(bws[b].weights.size()));
    }
    s.j0 = j0;
    s.j1 = j1;
    // Storage [n_bands, nwin] kept across calls; only the first j1 - j0 columns are used.
    const auto nbands = static_cast<Eigen::Index>(bws.size());
    if (s.band.rows() != nbands || s.band.cols() < j1 - j0) s.band.resize(nbands, d.nwin);
    for (size_t b = 0; b < bws.size(); ++b) {
      // Row b: the band's weights [nmgy per (L_sun/A)], zero in every other column.
      const double sc = s.flambda_scale / bws[b].denominator / kAbZeroPoint * 1e9;
      Real* row = s.band.row(static_cast<Eigen::Index>(b)).data();
      const int a = bws[b].first - j0, e = a + static_cast<int>(bws[b].weights.size());
      std::fill(row, row + a, Real(0));
      for (int j = a; j < e; ++j) row[j] = static_cast<Real>(bws[b].weights[static_cast<size_t>(j - a)] * sc);
      std::fill(row + e, row + s.band.cols(), Real(0));
    }
  }
  {  // the last bin ends at t_age
    const int k = nb - 1;
    auto& bi = s.bins[static_cast<size_t>(k)];
    bi.a = d.edges[static_cast<size_t>(ne - 1)];
    bi.b = s.t_age_yr;
    bi.center = 0.5 * (bi.a + bi.b);
    bi.dt = bi.b - bi.a;
    bi.sfh = d.nmf->sfh_bin_average(bi.a, bi.b);
    bi.zh = d.nmf->zh_at(bi.center);
    const double te = d.settings.t_esc_yr;
    bi.has_young = bi.a < te;
    bi.has_old = bi.b > te;
    const LastBinTable* lt = nullptr;
    if (ne - 1 < static_cast<int>(d.last_tables.size()) && d.last_tables[static_cast<size_t>(ne - 1)].m == ne - 1 &&
        !bi.has_young)
      lt = &d.last_tables[static_cast<size_t>(ne - 1)];
    for (int zi = 0; zi < nz; ++zi) {
      double sv = 0;
      if (lt) {
        // Closed form in t_age (LastBinTable): three rows instead of re-integrating the slice.
        const auto& brk = lt->brk[static_cast<size_t>(zi)];
        int q = static_cast<int>(std::upper_bound(brk.begin(), brk.end(), bi.b) - brk.begin()) - 1;
        q = std::clamp(q, 0, static_cast<int>(brk.size()) - 2);
        const double u = bi.b - brk[static_cast<size_t>(q)];
        const double c2 = u * u / (2 * (brk[static_cast<size_t>(q + 1)] - brk[static_cast<size_t>(q)]));
        const double c1 = u - c2;
        const auto& cum = lt->cum[static_cast<size_t>(zi)];
        const auto& val = lt->val[static_cast<size_t>(zi)];
        last_row(cum.row(q).data() + s.j0, c1, val.row(q).data() + s.j0, c2, val.row(q + 1).data() + s.j0,
                 s.last_old.row(zi).data() + s.j0, s.j1 - s.j0);
        const auto& cs = lt->cum_surv[static_cast<size_t>(zi)];
        const auto& vs = lt->val_surv[static_cast<size_t>(zi)];
        sv = cs[static_cast<size_t>(q)] + c1 * vs[static_cast<size_t>(q)] + c2 * vs[static_cast<size_t>(q + 1)];
      } else {
        if (bi.has_young)
          sv += integrate_slice(d, zi, bi.a, std::min(bi.b, te), s.last_young.row(zi).data(), s.j0, s.j1);
        if (bi.has_old)
          sv += integrate_slice(d, zi, std::max(bi.a, te), bi.b, s.last_old.row(zi).data(), s.j0, s.j1);
      }
      const auto u = static_cast<size_t>(k * nz + zi);
      s.young_rows[u] = s.last_young.row(zi).data();
      s.old_rows[u] = s.last_old.row(zi).data();
      s.surv_int[u] = sv;
    }
  }
}

}  // namespace

void update_zsetup(const ModelData& d, double z, bool with_bands, ZSetup& s,
                   const std::vector<TabulatedBand>* tables) {
  update_setup(d, z, with_bands ? SetupNodes::kBands : SetupNodes::kAll, s, tables);
}

void update_zsetup_bins(const ModelData& d, double z, ZSetup& s) { update_setup(d, z, SetupNodes::kNone, s, nullptr); }

void eval_spectrum(const ModelData& d, const ZSetup& s, const double* theta, int j0, int j1,
                   Real* spec, ThetaBreakdown* br) {
  const int n = j1 - j0;
  const int nz = d.nz;
  const int nb = static_cast<int>(s.bins.size());
  const double mtot = std::pow(10.0, theta[0]);
  const double fb = theta[5];
  const double tb = theta[6] * 1e9;
  const bool burst = tb < s.t_age_yr;
  const double m_nmf = burst ? mtot * (1 - fb) : mtot;
  const double m_b = burst ? mtot * fb : 0.0;
  const double g1 = theta[7], g2 = theta[8];

  thread_local std::vector<double> sfr, zbin, zw;
  thread_local std::vector<int> zlo;
  thread_local std::vector<Real> young, old, ism, bc;
  sfr.resize(static_cast<size_t>(nb));
  zbin.resize(static_cast<size_t>(nb));
  zw.resize(static_cast<size_t>(nb));
  zlo.resize(static_cast<size_t>(nb));
  young.assign(static_cast<size_t>(n), Real(0));
  old.assign(static_cast<size_t>(n), Real(0));
  double norm = 0;
  for (int k = 0; k < nb; ++k) {
    const auto& bi = s.bins[static_cast<size_t>(k)];
    const double r = theta[1] * bi.sfh[0] + theta[2] * bi.sfh[1] + theta[3] * bi.sfh[2] + theta[4] * bi.sfh[3];
    sfr[static_cast<size_t>(k)] = r;
    norm += r * bi.dt;
  }
  if (!(norm > 0))
    throw NumericsError("SED model: the SFH has no mass (beta = " + fmt(theta[1]) + ", " + fmt(theta[2]) + ", " +
                        fmt(theta[3]) + ", " + fmt(theta[4]) + ")");
  const double cscale = m_nmf / norm;
  if (br) {
    br->mass.assign(static_cast<size_t>(nb), 0.0);
    br->zbin.assign(static_cast<size_t>(nb), 0.0);
    br->surviving = 0;
  }
  // Bin metallicities and their Z-grid intervals, all bins at once.
  for (int k = 0; k < nb; ++k) {
    const auto& bi = s.bins[static_cast<size_t>(k)];
    zbin[static_cast<size_t>(k)] = std::clamp(g1 * bi.zh[0] + g2 * bi.zh[1], kZhMin, kZhMax);
  }
  z_intervals(d, zbin.data(), nb, zlo.data(), zw.data());
  for (int k = 0; k < nb; ++k) {
    const auto& bi = s.bins[static_cast<size_t>(k)];
    const double c = cscale * sfr[static_cast<size_t>(k)];
    const double zv = zbin[static_cast<size_t>(k)];
    const int lo = zlo[static_cast<size_t>(k)];
    const double w = zw[static_cast<size_t>(k)];
    const auto u = static_cast<size_t>(k * nz + lo);
    const double clo = c * (1 - w), chi = c * w;
    if (br) {
      br->mass[static_cast<size_t>(k)] = c * bi.dt;
      br->zbin[static_cast<size_t>(k)] = zv;
      br->surviving += clo * s.surv_int[u] + chi * s.surv_int[u + 1];
    }
    if (c == 0.0) continue;
    if (bi.has_young)
      axpy2(static_cast<Real>(clo), s.young_rows[u] + j0, static_cast<Real>(chi), s.young_rows[u + 1] + j0,
            young.data(), n);
    if (bi.has_old)
      axpy2(static_cast<Real>(clo), s.old_rows[u] + j0, static_cast<Real>(chi), s.old_rows[u + 1] + j0,
            old.data(), n);
  }
  if (burst) {
    // A single SSP at t_burst and Z(t_burst); ISM dust only (MODEL.md section 3).
    const double zv = d.nmf->metallicity_at(tb, g1, g2);
    int lo;
    double w;
    z_interval(d, zv, lo, w);
    double surv = 0;
    for (int side = 0; side < 2; ++side) {
      const int zi = lo + side;
      const double cz = m_b * (side == 0 ? 1 - w : w);
      if (cz == 0.0 || zi >= nz) continue;
      int idx[2];
      double wt[2];
      const int nt = age_terms(d.ages[static_cast<size_t>(zi)], tb, idx, wt);
      const Real* r0 = d.ssp[static_cast<size_t>(zi)].row(idx[0]).data() + j0;
      const Real* r1 = d.ssp[static_cast<size_t>(zi)].row(idx[nt - 1]).data() + j0;
      axpy2(static_cast<Real>(cz * wt[0]), r0, static_cast<Real>(nt > 1 ? cz * wt[1] : 0.0), r1, old.data(), n);
      for (int t = 0; t < nt; ++t)
        surv += cz * wt[t] * d.surviving[static_cast<size_t>(zi)][static_cast<size_t>(idx[t])];
    }
    if (br) {
      br->surviving += surv;
      br->burst_mass = m_b;
      br->burst_age_yr = tb;
      br->burst_z = zv;
    }
  } else if (br) {
    br->burst_mass = 0;
  }
  ism.resize(static_cast<size_t>(n));
  bc.resize(static_cast<size_t>(n));
  d.dust.ism_f(static_cast<float>(theta[10]), static_cast<float>(theta[11]), j0, j1, ism.data());
  d.dust.birth_cloud_f(static_cast<float>(theta[9]), j0, j1, bc.data());
  combine(ism.data(), old.data(), bc.data(), young.data(), spec, n);
}

void eval_fluxes(const ModelData& d, const ZSetup& s, const double* theta, double* flux) {
  const int n = s.j1 - s.j0;
  thread_local Eigen::Matrix<Real, Eigen::Dynamic, 1> spec, out;
  spec.resize(n);
  eval_spectrum(d, s, theta, s.j0, s.j1, spec.data(), nullptr);
  out.noalias() = s.band.leftCols(n) * spec;
  for (Eigen::Index b = 0; b < out.size(); ++b) flux[b] = static_cast<double>(out[b]);
}

/// SFH percentiles of `q` (t10 .. t90): the lookback time by which a fraction f of the formed
/// mass `mform` [M_sun] had formed, i.e. the lookback at which the mass formed since then (counted
/// from lookback 0 outwards: constant SFR per bin, the burst a step at its age) reaches
/// (1 - f) mform. A fraction not reached (rounding) keeps t_age.
void formed_fraction_times(const ZSetup& s, const ThetaBreakdown& br, double mform, DerivedQuantities& q) {
  double* const t_out[] = {&q.t90_gyr, &q.t75_gyr, &q.t50_gyr, &q.t25_gyr, &q.t10_gyr};  // rising thresholds
  constexpr double kFraction[] = {0.90, 0.75, 0.50, 0.25, 0.10};
  constexpr int kN = 5;
  for (double* t : t_out) *t = s.t_age_yr * 1e-9;
  int next = 0;  // the next threshold to cross
  double cum = 0;
  const auto threshold = [&] { return (1.0 - kFraction[next]) * mform; };
  // A bin's constant-SFR stretch from lookback t0 [yr] holding mass m of the bin's mass_k over dt.
  const auto ramp = [&](double t0, double m, double mass_k, double dt) {
    for (; next < kN && m > 0 && cum + m >= threshold(); ++next)
      *t_out[next] = (t0 + (threshold() - cum) / mass_k * dt) * 1e-9;
    cum += m;
  };
  const auto step = [&](double t0, double m) {
    for (; next < kN && cum + m >= threshold(); ++next) *t_out[next] = t0 * 1e-9;
    cum += m;
  };
  bool burst_done = !(br.burst_mass > 0);
  for (size_t k = 0; k < s.bins.size() && next < kN; ++k) {
    const auto& bi = s.bins[k];
    double t = bi.a;
    if (!burst_done && br.burst_age_yr < bi.b) {  // the part of the bin before the burst, then the burst
      ramp(bi.a, br.mass[k] * (br.burst_age_yr - bi.a) / bi.dt, br.mass[k], bi.dt);
      step(br.burst_age_yr, br.burst_mass);
      burst_done = true;
      t = br.burst_age_yr;
    }
    ramp(t, br.mass[k] * (bi.b - t) / bi.dt, br.mass[k], bi.dt);
  }
}

DerivedQuantities eval_derived(const ModelData& d, const ZSetup& s, const double* theta) {
  ThetaBreakdown br;
  const int n = s.j1 - s.j0;
  std::vector<Real> spec(static_cast<size_t>(n));
  eval_spectrum(d, s, theta, s.j0, s.j1, spec.data(), &br);
  DerivedQuantities q;
  double mform = br.burst_mass, age_sum = br.burst_mass * br.burst_age_yr, z_sum = br.burst_mass * br.burst_z;
  for (size_t k = 0; k < s.bins.size(); ++k) {
    mform += br.mass[k];
    age_sum += br.mass[k] * s.bins[k].center;
    z_sum += br.mass[k] * br.zbin[k];
  }
  q.log_mstar_surviving = std::log10(br.surviving);
  auto sfr_within = [&](double t) {
    double m = (br.burst_mass > 0 && br.burst_age_yr < t) ? br.burst_mass : 0.0;
    for (size_t k = 0; k < s.bins.size(); ++k) {
      const auto& bi = s.bins[k];
      const double ov = std::max(0.0, std::min(bi.b, t) - bi.a);
      if (bi.dt > 0) m += br.mass[k] * std::min(ov, bi.dt) / bi.dt;
    }
    return m / t;
  };
  q.log_sfr_100myr = std::log10(sfr_within(1e8));
  q.log_sfr_1gyr = std::log10(sfr_within(1e9));
  q.log_age_mw = std::log10(age_sum / mform * 1e-9);
  q.log_z_mw = std::log10(z_sum / mform);
  formed_fraction_times(s, br, mform, q);
  return q;
}

// ---------------------------------------------------------------------------------------------
SedModel::SedModel(const SedModelSettings& settings) : data_(build(settings)) {}
SedModel::~SedModel() = default;
SedModel::SedModel(SedModel&&) noexcept = default;
SedModel& SedModel::operator=(SedModel&&) noexcept = default;

void SedModel::evaluate(const double* theta, double z, double* flux_out) const {
  // One setup per thread, rebuilt in place for each z (no allocation after the first call).
  thread_local ZSetup s;
  update_zsetup(*data_, z, true, s);
  eval_fluxes(*data_, s, theta, flux_out);
}

void SedModel::evaluate_batch(const double* theta, const double* z, int n, double* flux_out) const {
  const auto nb = static_cast<long>(data_->filters.size());
  for (int i = 0; i < n; ++i) evaluate(theta + static_cast<long>(i) * kNumTheta, z[i], flux_out + i * nb);
}

std::vector<double> SedModel::evaluate(const double* theta, double z) const {
  std::vector<double> f(data_->filters.size());
  evaluate(theta, z, f.data());
  return f;
}

Spectrum SedModel::spectrum(const double* theta, double z) const {
  const auto s = make_zsetup(*data_, z, false);
  Spectrum sp;
  std::vector<Real> spec(static_cast<size_t>(data_->nwin));
  eval_spectrum(*data_, *s, theta, 0, data_->nwin, spec.data(), nullptr);
  sp.wavelength = data_->rest_wave;
  sp.flambda.resize(spec.size());
  for (size_t j = 0; j < spec.size(); ++j) {
    sp.wavelength[j] *= (1 + z);
    sp.flambda[j] = static_cast<double>(spec[j]) * s->flambda_scale;
    if (data_->igm) sp.flambda[j] *= data_->igm->transmission(sp.wavelength[j], z);
  }
  return sp;
}

DerivedQuantities SedModel::derived(const double* theta, double z) const {
  const auto s = make_zsetup(*data_, z, true);
  return eval_derived(*data_, *s, theta);
}

SfhBreakdown SedModel::sfh(const double* theta, double z) const {
  const auto s = make_zsetup(*data_, z, true);
  ThetaBreakdown br;
  std::vector<Real> spec(static_cast<size_t>(s->j1 - s->j0));
  eval_spectrum(*data_, *s, theta, s->j0, s->j1, spec.data(), &br);
  SfhBreakdown out;
  for (const auto& b : s->bins) out.edges_yr.push_back(b.a);
  out.edges_yr.push_back(s->bins.back().b);
  out.mass = br.mass;
  out.metallicity = br.zbin;
  out.burst_mass = br.burst_mass;
  out.burst_age_gyr = theta[6];
  out.burst_metallicity = br.burst_mass > 0 ? br.burst_z : 0.0;
  out.surviving_mass = br.surviving;
  return out;
}

double SedModel::age_gyr(double z) const { return data_->cosmo.age_gyr(z); }
double SedModel::luminosity_distance_mpc(double z) const { return data_->cosmo.luminosity_distance_mpc(z); }
int SedModel::num_bands() const { return static_cast<int>(data_->filters.size()); }
const std::vector<std::string>& SedModel::band_names() const { return data_->band_names; }
std::vector<std::string> SedModel::filter_paths() const {
  std::vector<std::string> p;
  for (const auto& f : data_->filters) p.push_back(f.path);
  return p;
}
const SedModelSettings& SedModel::settings() const { return data_->settings; }

}  // namespace sedpost::sps
