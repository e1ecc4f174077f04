# Sourced by the other scripts: environment for building and running sedpost here.
# - SEDPOST_DATA_DIR defaults to ../shared/data beside the checkout when that exists.
# - Open MPI: allow root (containers, CI), allow more ranks than cores, and avoid the
#   single-copy (CMA) mechanism that containers without ptrace rights refuse.
repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${SEDPOST_DATA_DIR:-}" ] && [ -d "$repo_root/../shared/data" ]; then
  export SEDPOST_DATA_DIR=$(cd "$repo_root/../shared/data" && pwd)
fi
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=${OMPI_MCA_rmaps_base_oversubscribe:-1}
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
export SEDPOST_BUILD_DIR=${SEDPOST_BUILD_DIR:-$repo_root/build}
