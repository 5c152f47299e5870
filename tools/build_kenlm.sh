#!/usr/bin/env bash
# Build KenLM's `lmplz` and `build_binary` into tools/bin/ (git-ignored).
#
# Why a script and not a pip dependency: the PyPI `kenlm` wheel only ships the query module;
# the CCNet LM filter also needs the estimation (lmplz) and binarisation (build_binary) tools,
# which exist only as C++ sources. We build them from the pinned PyPI sdist so every machine
# gets the same KenLM.
#
# Idempotent: exits 0 immediately when both binaries already exist and run.
# Usage: bash tools/build_kenlm.sh        (or: make kenlm)
set -euo pipefail

KENLM_VERSION="0.3.0"   # pinned sdist on PyPI
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN_DIR="${REPO_ROOT}/tools/bin"
BUILD_DIR="${REPO_ROOT}/tools/build"
JOBS="${KENLM_BUILD_JOBS:-2}"

binaries_work() {
  [[ -x "${BIN_DIR}/lmplz" && -x "${BIN_DIR}/build_binary" ]] || return 1
  # lmplz --help exits 1 but prints usage; check that it loads (no missing shared libraries).
  # Capture first: with pipefail, `grep -q` closing the pipe early would fail the check.
  local lmplz_help build_help
  lmplz_help="$("${BIN_DIR}/lmplz" --help 2>&1 || true)"
  build_help="$("${BIN_DIR}/build_binary" 2>&1 || true)"
  [[ "${lmplz_help}" == *"Builds unpruned language models"* ]] || return 1
  [[ "${build_help}" == *"Usage:"*"build_binary"* ]] || return 1
}

if binaries_work; then
  echo "build_kenlm: ${BIN_DIR}/lmplz and ${BIN_DIR}/build_binary already built; nothing to do."
  exit 0
fi

# 1. System build dependencies (skipped when every header/tool is already present).
headers_present() {
  [[ -f /usr/include/boost/program_options.hpp && -f /usr/include/boost/thread.hpp \
     && -f /usr/include/boost/test/unit_test.hpp && -d /usr/include/eigen3 \
     && -f /usr/include/zlib.h && -f /usr/include/bzlib.h && -f /usr/include/lzma.h ]] \
    && command -v cmake >/dev/null && command -v g++ >/dev/null && command -v make >/dev/null
}
if headers_present; then
  echo "build_kenlm: build dependencies already installed; skipping apt-get."
else
  SUDO=""
  if [[ "$(id -u)" != "0" ]]; then SUDO="sudo"; fi
  echo "build_kenlm: installing build dependencies with apt-get ..."
  # A fresh machine may have empty package lists: refresh them first.
  ${SUDO} apt-get update -qq
  ${SUDO} apt-get install -y --no-install-recommends \
    libboost-program-options-dev libboost-system-dev libboost-thread-dev libboost-test-dev \
    libeigen3-dev zlib1g-dev libbz2-dev liblzma-dev cmake build-essential
fi

# 2. Pinned KenLM source distribution from PyPI.
mkdir -p "${BUILD_DIR}" "${BIN_DIR}"
SDIST="${BUILD_DIR}/kenlm-${KENLM_VERSION}.tar.gz"
if [[ ! -f "${SDIST}" ]]; then
  PIP="${REPO_ROOT}/.venv/bin/pip"
  [[ -x "${PIP}" ]] || PIP="python3 -m pip"
  echo "build_kenlm: downloading kenlm==${KENLM_VERSION} sdist from PyPI ..."
  # --no-build-isolation: preparing metadata must not fetch a build toolchain.
  ${PIP} download --no-deps --no-binary :all: --no-build-isolation \
    "kenlm==${KENLM_VERSION}" -d "${BUILD_DIR}"
fi
SRC_DIR="${BUILD_DIR}/kenlm-${KENLM_VERSION}"
if [[ ! -f "${SRC_DIR}/CMakeLists.txt" ]]; then
  tar -xzf "${SDIST}" -C "${BUILD_DIR}"
fi

# 3. Build only the two tools we need.
CMAKE_DIR="${SRC_DIR}/build"
mkdir -p "${CMAKE_DIR}"
echo "build_kenlm: configuring with cmake (Release) in ${CMAKE_DIR} ..."
cmake -S "${SRC_DIR}" -B "${CMAKE_DIR}" -DCMAKE_BUILD_TYPE=Release >"${CMAKE_DIR}/cmake.log" 2>&1 \
  || { tail -30 "${CMAKE_DIR}/cmake.log"; echo "build_kenlm: cmake failed" >&2; exit 1; }
echo "build_kenlm: compiling lmplz and build_binary (make -j${JOBS}) ..."
make -C "${CMAKE_DIR}" -j"${JOBS}" lmplz build_binary >"${CMAKE_DIR}/make.log" 2>&1 \
  || { tail -30 "${CMAKE_DIR}/make.log"; echo "build_kenlm: make failed" >&2; exit 1; }

cp "${CMAKE_DIR}/bin/lmplz" "${CMAKE_DIR}/bin/build_binary" "${BIN_DIR}/"
if binaries_work; then
  echo "build_kenlm: installed ${BIN_DIR}/lmplz and ${BIN_DIR}/build_binary (kenlm ${KENLM_VERSION})."
else
  echo "build_kenlm: built binaries do not run; see ${CMAKE_DIR}/make.log" >&2
  exit 1
fi
