#pragma once
/// Internal: tables shared by SedModel and FixedZModel, the per-redshift setup and the
/// evaluation kernel both call (so the two agree to rounding). Not part of the public API.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "sps/cosmology.hpp"
#include "sps/dust.hpp"
#include "sps/filters.hpp"
#include "sps/nmf_history.hpp"
#include "sps/sed_model.hpp"
#include "sps/ssp_library.hpp"

namespace sedpost::sps {

/// Storage type of the big per-bin spectra tables and of the per-evaluation accumulation:
/// float (the library itself is float32; sums of <= ~90 positive terms lose ~1e-6 relative at
/// worst, far below the 1e-3 mag the photometry is checked to). Setup math stays double.
using Real = float;
using RealRowMatrix = Eigen::Matrix<Real, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct ModelData {
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
  std::vector<double> inv_rest_spacing;        // [nwin - 1]
  std::vector<std::vector<double>> inv_filter_spacing;  // [nbands][n_filter - 1]
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
};

/// One time bin at one redshift.
struct BinInfo {
  double a = 0, b = 0, center = 0, dt = 0;     // [yr]
  std::array<double, kNumSfhBases> sfh{};
  std::array<double, kNumZhBases> zh{};
  bool has_young = false, has_old = false;
};

/// Everything that depends on z only.
struct ZSetup {
  double z = 0, t_age_yr = 0, dl_mpc = 0;
  std::vector<BinInfo> bins;
  std::vector<const Real*> young_rows, old_rows;   // [nbins * nz], row start at window node 0
  std::vector<double> surv_int;                    // [nbins * nz]
  RealRowMatrix last_young, last_old;              // [nz, nwin] storage of the last bin
  std::vector<double> last_surv;
  int j0 = 0, j1 = 0;                              // node range the bands use
  RealRowMatrix band;                              // [nbands, j1-j0] nanomaggies per (L_sun/A)
  double flambda_scale = 0;                        // L_sun/A -> f_lambda [erg/s/cm^2/A]
};

/// Validates z (DataError) and builds the setup.
std::unique_ptr<ZSetup> make_zsetup(const ModelData& d, double z, bool with_bands);

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
