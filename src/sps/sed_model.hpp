#pragma once
/// The SED forward model (MODEL.md sections 1-4 and 11): PROVABGS NMF SFH + burst, NMF ZH,
/// SSP library, Charlot & Fall / Kriek & Conroy dust, photon-counting AB photometry.
///
/// Physical theta [12]: [log10 M* formed [M_sun], beta_1..beta_4, f_burst, t_burst [Gyr lookback],
/// gamma_1, gamma_2 (linear absolute-Z weights), tau_BC, tau_ISM, n_dust].
#include <array>
#include <memory>
#include <string>
#include <vector>

namespace sedpost::sps {

inline constexpr int kNumTheta = 12;

/// Settings of the forward model (one config section).
struct SedModelSettings {
  std::string data_dir;                ///< SEDPOST_DATA_DIR (root of sps/, filters/, provabgs/)
  std::string ssp_kind = "bc03";       ///< "bc03" or "maraston2005"
  std::string ssp_dir;                 ///< library directory; empty = default under data_dir
  std::vector<std::string> bands{"sdss2010-u", "sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z"};
  double t_esc_yr = 1e7;               ///< birth-cloud escape time [yr] (FSPS default 10 Myr)
  double bc_dust_index = -1.0;         ///< birth-cloud power-law index (FSPS default -1)
  double lsun_erg_s = 3.846e33;        ///< L_sun [erg/s] used to convert L_lambda [L_sun/A]
  double z_max = 1.0;                  ///< largest redshift the model accepts (sets the wavelength window)
  /// Mean intergalactic attenuation of the observed spectrum: "none" (MODEL.md: none at
  /// z <= 0.2) or "inoue2014" (Inoue et al. 2014, coefficients in <data_dir>/igm; docs/igm.md).
  std::string igm = "none";
};

/// Derived quantities of one theta at one z (MODEL.md section 11).
struct DerivedQuantities {
  double log_mstar_surviving = 0;  ///< log10 surviving (living + remnant) stellar mass [M_sun]
  double log_sfr_100myr = 0;       ///< log10 mean SFR over the last 100 Myr [M_sun/yr] (-inf if 0)
  double log_sfr_1gyr = 0;         ///< log10 mean SFR over the last 1 Gyr [M_sun/yr] (-inf if 0)
  double log_age_mw = 0;           ///< log10 formed-mass-weighted lookback age [log10 Gyr]
  double log_z_mw = 0;             ///< log10 formed-mass-weighted absolute metallicity Z
  /// SFH percentiles: lookback time by which 10, 25, 50, 75, 90 % of the formed mass had formed
  /// [Gyr] (t10 >= t25 >= t50 >= t75 >= t90; the burst counts at its age).
  double t10_gyr = 0, t25_gyr = 0;
  double t50_gyr = 0;
  double t75_gyr = 0, t90_gyr = 0;
};

/// The star-formation and metallicity history one theta implies at one z.
struct SfhBreakdown {
  std::vector<double> edges_yr;     ///< [n_bins + 1] lookback bin edges [yr]
  std::vector<double> mass;         ///< [n_bins] stellar mass formed in each bin [M_sun]
  std::vector<double> metallicity;  ///< [n_bins] absolute Z of each bin (at the bin centre)
  double burst_mass = 0;            ///< mass formed in the burst [M_sun] (0 if t_burst >= t_age)
  double burst_age_gyr = 0;         ///< t_burst [Gyr lookback]
  double burst_metallicity = 0;     ///< Z(t_burst)
  double surviving_mass = 0;        ///< living + remnant mass today [M_sun]
};

/// Observed-frame spectrum.
struct Spectrum {
  std::vector<double> wavelength;  ///< [n] observed-frame wavelength [A]
  std::vector<double> flambda;     ///< [n] f_lambda [erg/s/cm^2/A]
};

struct ModelData;   // shared precomputed tables (sps/model_data.hpp)
struct ZSetup;      // everything depending on z only

/// The forward model at arbitrary z. Construction loads the library, filters and bases and
/// precomputes the bin-averaged SSPs of all fixed time bins; per call only the last (z-dependent)
/// bin, the band weights and the per-theta work remain. Thread-safe const methods.
class SedModel {
 public:
  /// Loads everything. Throws DataError (missing/malformed files), ConfigError (bad settings).
  explicit SedModel(const SedModelSettings& settings);
  ~SedModel();
  SedModel(SedModel&&) noexcept;
  SedModel& operator=(SedModel&&) noexcept;

  /// Band fluxes [n_bands] in nanomaggies for physical theta [12] at redshift z.
  /// Throws DataError for z <= 0, non-finite z or z > settings.z_max.
  std::vector<double> evaluate(const double* theta, double z) const;
  /// Same, writing [n_bands] into flux_out.
  void evaluate(const double* theta, double z, double* flux_out) const;
  /// Simulator path: theta [n, 12] row-major, z [n], flux_out [n, n_bands] row-major
  /// (nanomaggies); each row at its own redshift. Throws DataError naming the first bad z.
  void evaluate_batch(const double* theta, const double* z, int n, double* flux_out) const;
  /// Observed-frame spectrum on the model's wavelength window (covers all bands for z <= z_max).
  Spectrum spectrum(const double* theta, double z) const;
  /// Derived quantities (MODEL.md section 11). Throws DataError for invalid z.
  DerivedQuantities derived(const double* theta, double z) const;

  /// Mass formed per time bin, bin metallicities and the burst. Throws DataError for invalid z.
  SfhBreakdown sfh(const double* theta, double z) const;

  /// Age of the universe at z [Gyr] and luminosity distance [Mpc] (Planck13).
  double age_gyr(double z) const;
  double luminosity_distance_mpc(double z) const;

  int num_bands() const;
  /// Band names as requested and the filter files they resolved to.
  const std::vector<std::string>& band_names() const;
  std::vector<std::string> filter_paths() const;
  const SedModelSettings& settings() const;
  /// Shared tables (for FixedZModel).
  std::shared_ptr<const ModelData> data() const { return data_; }

 private:
  std::shared_ptr<const ModelData> data_;
};

}  // namespace sedpost::sps
