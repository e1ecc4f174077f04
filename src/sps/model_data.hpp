#pragma once
/// Internal: tables shared by SedModel and FixedZModel, the per-redshift setup and the
/// evaluation kernel both call (so the two agree to rounding). Not part of the public API.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sps/cosmology.hpp"
#include "sps/dust.hpp"
#include "sps/filters.hpp"
#include "sps/igm.hpp"
#include "sps/nmf_history.hpp"
#include "sps/sed_model.hpp"
#include "sps/ssp_library.hpp"

namespace sedpost::sps {

/// Storage type of the big per-bin spectra tables and of the per-evaluation accumulation:
/// float (the library itself is float32; sums of <= ~90 positive terms lose ~1e-6 relative at
/// worst, far below the 1e-3 mag the photometry is checked to). Setup math stays double.
using Real = float;
using RealRowMatrix = Eigen::Matrix<Real, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Closed form of the last (z-dependent) bin's SSP integral over [E_m, t_age] as a function of
/// t_age, for a bin whose lower edge E_m is at or above t_esc (all of it "old"). Breakpoints are
/// E_m, the library ages inside (E_m, E_{m+1}) and E_{m+1}; the SSP is linear in age between
/// them, so for t in [p_q, p_{q+1}], u = t - p_q, h = p_{q+1} - p_q:
///   int_{E_m}^t L = cum_q + (u - u^2 / 2h) val_q + (u^2 / 2h) val_{q+1},
/// which is the trapezoid sum integrate_slice() forms, rearranged (equal to rounding).
struct LastBinTable {
  int m = -1;                                         // lower-edge index; -1 = not tabulated
  std::vector<std::vector<double>> brk;               // [nz][n_brk] breakpoints [yr]
  std::vector<RealRowMatrix> cum, val;                // [nz] of [n_brk, nwin]
  std::vector<std::vector<double>> cum_surv, val_surv;  // [nz][n_brk] surviving fraction
};

struct ModelData {
  std::uint64_t id = 0;                        // unique per built model (ZSetup caches key on it)
  SedModelSettings settings;
  std::vector<std::string> band_names;
  std::vector<Filter> filters;
  Cosmology cosmo;
  std::unique_ptr<NmfHistory> nmf;
  std::string ssp_name;
  double lib_lsun = 0;
  int nz = 0;
  std::vector<double> zgrid, inv_log_dz;       // [nz], [nz-1] 1 / ln(Z_{i+1}/Z_i)
  int w0 = 0, nwin = 0;                        // window into the library wavelength grid
  std::vector<double> rest_wave;               // [nwin] rest-frame [A]
  std::vector<RedshiftedBand> zbands;          // [nbands] band weights at any z on rest_wave
  DustCurves dust;
  std::vector<double> edges;                   // the 43 fixed edges [yr]
  int nfull = 0;                               // 42 full bins [E_k, E_k+1]
  std::vector<std::array<double, kNumSfhBases>> full_sfh;
  std::vector<std::array<double, kNumZhBases>> full_zh;
  std::vector<char> full_young, full_old;      // whether bin k has a part younger/older than t_esc
  std::vector<RealRowMatrix> young, old;       // [nz] of [nfull, nwin]: integral over the bin [yr L_sun/A]
  std::vector<std::vector<double>> surv_int;   // [nz][nfull] integral of surviving fraction [yr]
  std::vector<RealRowMatrix> ssp;              // [nz] of [n_age, nwin] L_lambda (burst, last bin)
  std::vector<std::vector<double>> ages, surviving;  // [nz][n_age]
  std::vector<LastBinTable> last_tables;       // [nfull]: bins that can be the last for 0 < z <= z_max
  std::unique_ptr<IgmInoue2014> igm;           // settings.igm = "inoue2014"; null = no IGM
};

/// The band weights of a source at z seen through the IGM: each rest node's weight times the
/// transmission at its observed wavelength (the transmitted spectrum is sampled at the same
/// nodes). No-op without an IGM model.
void apply_igm(const ModelData& d, double z, BandWeights& bw);

/// One time bin at one redshift.
struct BinInfo {
  double a = 0, b = 0, center = 0, dt = 0;     // [yr]
  std::array<double, kNumSfhBases> sfh{};
  std::array<double, kNumZhBases> zh{};
  bool has_young = false, has_old = false;
};

/// Everything that depends on z only. update_zsetup() rebuilds it in place: the fixed bins are
/// copied only when the model or the number of bins changes, so repeated use at new redshifts
/// (the simulator) does no allocation and only the last bin and the band weights are redone.
struct ZSetup {
  std::uint64_t model_id = 0;                      // ModelData::id the fixed bins were copied from
  int nbins_built = -1;
  double z = 0, t_age_yr = 0, dl_mpc = 0;
  std::vector<BinInfo> bins;
  std::vector<const Real*> young_rows, old_rows;   // [nbins * nz], row start at window node 0
  std::vector<double> surv_int;                    // [nbins * nz]
  RealRowMatrix last_young, last_old;              // [nz, nwin] storage of the last bin
  std::vector<double> last_surv;
  int j0 = 0, j1 = 0;                              // node range the bands use
  RealRowMatrix band;                              // [nbands, >= j1-j0] nanomaggies per (L_sun/A);
                                                   // columns past j1-j0 are zero (storage reuse)
  double flambda_scale = 0;                        // L_sun/A -> f_lambda [erg/s/cm^2/A]
};

/// Validates z (DataError) and builds the setup.
std::unique_ptr<ZSetup> make_zsetup(const ModelData& d, double z, bool with_bands);
/// Same, rebuilding `s` in place (reuses its storage; see ZSetup). With `tables` ([n_bands],
/// FreeZModel's) the band weights are interpolated from them instead of computed exactly.
void update_zsetup(const ModelData& d, double z, bool with_bands, ZSetup& s,
                   const std::vector<TabulatedBand>* tables = nullptr);
/// The time bins and surviving fractions only (no spectra, j0 = j1 = 0): what eval_derived needs.
void update_zsetup_bins(const ModelData& d, double z, ZSetup& s);

/// Integral over lookback [a, b] [yr] of Z slice zi's SSP (linear in age, clamped) into
/// row[j0, j1) (window node indices) [yr L_sun/A]; returns the integral of the surviving fraction.
double integrate_slice(const ModelData& d, int zi, double a, double b, Real* row, int j0, int j1);
/// Z grid interval lo and weight w (linear in log Z; Z clamped to the grid).
void z_interval(const ModelData& d, double zval, int& lo, double& w);
/// z_interval() for zv [n] at once into lo [n], w [n] (equal to rounding; vectorised). The model
/// kernel's path.
void z_intervals(const ModelData& d, const double* zv, int n, int* lo, double* w);

/// Per-theta masses and metallicities (for derived quantities).
struct ThetaBreakdown {
  std::vector<double> mass;     // [nbins] formed mass per bin [M_sun]
  std::vector<double> zbin;     // [nbins] Z per bin
  double surviving = 0;         // surviving mass [M_sun]
  double burst_mass = 0, burst_age_yr = 0, burst_z = 0;
};

/// The kernel: rest-frame attenuated L_lambda [L_sun/A] on nodes [j0, j1) into spec[j1-j0].
void eval_spectrum(const ModelData& d, const ZSetup& s, const double* theta, int j0, int j1,
                   Real* spec, ThetaBreakdown* breakdown);
/// Band fluxes [nbands] in nanomaggies.
void eval_fluxes(const ModelData& d, const ZSetup& s, const double* theta, double* flux);
DerivedQuantities eval_derived(const ModelData& d, const ZSetup& s, const double* theta);

}  // namespace sedpost::sps
