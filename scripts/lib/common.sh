# shellcheck shell=bash disable=SC2034 # the package lists are used by the callers
# Shared helpers for scripts/run, scripts/test and tests/bench/http.
# The caller sets CL_ROOT (the checkout) before sourcing this file.
#
#   cl_say / cl_warn / cl_die      messages on stderr, prefixed with the script name
#   cl_as_root CMD...              run CMD as root (directly, or through sudo)
#   cl_ensure_packages PKG...      apt-get install whatever is missing (Debian/Ubuntu)
#   cl_build DIR TYPE [CC]         configure + build the tree into DIR (CMAKE_BUILD_TYPE=TYPE, C compiler CC)
#   cl_example_video               render the landing page's example into web/assets/example/
#   cl_load_env_file               read .env (or $CLIPLOOP_ENV_FILE) like cliploop does
#   cl_free_port                   print a free TCP port on 127.0.0.1

: "${CL_ROOT:?CL_ROOT must be set before sourcing scripts/lib/common.sh}"
CL_PROG=${CL_PROG:-$(basename "$0")} # the prefix of every message

# Everything the product needs to build, run and test, as Debian/Ubuntu
# package names. wrk is only for the benchmark; nodejs runs the HTTP tests;
# systemd provides systemd-analyze, which checks the shipped unit files.
CL_PACKAGES_BUILD=(build-essential cmake pkg-config libh2o-evloop-dev libh2o-dev libpq-dev
    libcjson-dev libcurl4-openssl-dev libssl-dev libarchive-dev libavformat-dev libavcodec-dev
    libavfilter-dev libavutil-dev libswscale-dev libswresample-dev liblua5.4-dev libgumbo-dev libfreetype-dev
    libespeak-ng-dev fluidsynth fluid-soundfont-gm)
CL_PACKAGES_RUN=(postgresql postgresql-client fonts-dejavu-core fonts-noto-core fonts-liberation2 ffmpeg curl espeak-ng-data)
CL_PACKAGES_TEST=(nodejs npm chromium wrk clang systemd)

cl_say() { printf '%s: %s\n' "$CL_PROG" "$*" >&2; }
cl_warn() { printf '%s: warning: %s\n' "$CL_PROG" "$*" >&2; }
cl_die() { printf '%s: %s\n' "$CL_PROG" "$*" >&2; exit 1; }

cl_as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        cl_die "need root for: $* (run as root or install sudo)"
    fi
}

# Major version of the installed node, or 0.
cl_node_major() {
    local v
    v=$(node --version 2>/dev/null) || { echo 0; return; }
    v=${v#v}
    echo "${v%%.*}"
}

# True when PKG (or what it stands for) is already usable. Some packages are
# checked by what they provide, so a machine that got node or psql some other
# way does not go to apt at all.
cl_pkg_ready() {
    case $1 in
    nodejs) [ "$(cl_node_major)" -ge 18 ] && return 0 ;;
    postgresql-client) command -v psql >/dev/null 2>&1 && return 0 ;;
    postgresql) compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && return 0 ;;
    npm) command -v npm >/dev/null 2>&1 && return 0 ;;
    chromium) [ -x /usr/bin/chromium ] && return 0 ;;
    esac
    dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed'
}

# Install the packages that are missing. `apt-get update` runs once, and only
# when something has to be installed. CL_SKIP_APT=1 skips all of this.
cl_ensure_packages() {
    if [ "${CL_SKIP_APT:-0}" = 1 ]; then return 0; fi
    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        cl_warn "not a Debian/Ubuntu system: install these yourself if the build fails: $*"
        return 0
    fi
    local missing=() p
    for p in "$@"; do
        cl_pkg_ready "$p" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    cl_say "installing missing packages: ${missing[*]}"
    if [ "${CL_APT_UPDATED:-0}" != 1 ]; then
        cl_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q || cl_die "apt-get update failed"
        CL_APT_UPDATED=1
    fi
    cl_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
        || cl_die "apt-get install failed (on Ubuntu, libh2o-evloop-dev lives in 'universe')"
    for p in "${missing[@]}"; do
        if [ "$p" = nodejs ] && [ "$(cl_node_major)" -lt 18 ]; then
            cl_die "node >= 18 is needed (this system's nodejs is $(node --version 2>/dev/null || echo missing)); install a newer Node.js"
        fi
    done
}

# cl_build DIR TYPE [CC] — configure (first time, or when the type or the C
# compiler changed) and build. CC (e.g. clang) picks the C compiler; without
# it CMake's default. Jobs: CL_JOBS, default the number of CPUs.
cl_build() {
    local dir=$1 type=$2 cc=${3:-} jobs=${CL_JOBS:-$(nproc 2>/dev/null || echo 2)}
    local cached= cached_cc= want_cc=
    if [ -f "$dir/CMakeCache.txt" ]; then
        cached=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$dir/CMakeCache.txt")
        cached_cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$dir/CMakeCache.txt")
    fi
    if [ -n "$cc" ]; then
        want_cc=$(command -v "$cc") || { cl_warn "C compiler '$cc' not found"; return 1; }
        # A tree configured with another compiler cannot switch in place.
        if [ -n "$cached_cc" ] && [ "$(readlink -f "$cached_cc")" != "$(readlink -f "$want_cc")" ]; then
            cl_say "$dir was configured with $cached_cc: reconfiguring with $want_cc"
            rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
        fi
    fi
    if [ ! -f "$dir/CMakeCache.txt" ] || [ "$cached" != "$type" ]; then
        cl_say "configuring $dir ($type${cc:+, $cc})"
        if [ -n "$want_cc" ]; then
            CC=$want_cc cmake -S "$CL_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE="$type" >/dev/null || return 1
        else
            cmake -S "$CL_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE="$type" >/dev/null || return 1
        fi
    fi
    cl_say "building $dir ($type, -j$jobs)"
    cmake --build "$dir" -j"$jobs" || return 1
}

# Read the .env file into the environment the way cliploop does: NAME=value
# lines, optional `export `, optional matching quotes, '#' comments, and
# variables already set in the environment win. Nothing is evaluated.
cl_load_env_file() {
    local f=${CLIPLOOP_ENV_FILE:-$CL_ROOT/.env} line name value
    [ -r "$f" ] || return 0
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line#"${line%%[![:space:]]*}"}
        line=${line%"${line##*[![:space:]]}"}
        case $line in '' | '#'*) continue ;; esac
        line=${line#export }
        case $line in *=*) ;; *) cl_warn "$f: ignoring line without '=': $line"; continue ;; esac
        name=${line%%=*}; name=${name%"${name##*[![:space:]]}"}
        value=${line#*=}; value=${value#"${value%%[![:space:]]*}"}
        if [[ ! $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
            cl_warn "$f: ignoring bad variable name '$name'"
            continue
        fi
        if [ ${#value} -ge 2 ]; then
            case $value in
            \"*\") value=${value:1:${#value}-2} ;;
            \'*\') value=${value:1:${#value}-2} ;;
            esac
        fi
        [ -n "${!name+x}" ] || export "$name=$value"
    done <"$f"
}

# Browser tests: Debian's Chromium plus the npm package playwright-core
# (package.json / package-lock.json at the top of the checkout), installed into
# node_modules/ when missing. Never downloads a browser of its own.
cl_browser_ready() {
    cl_ensure_packages chromium npm || return 1
    if [ ! -f "$CL_ROOT/node_modules/playwright-core/package.json" ] ||
        [ "$CL_ROOT/package-lock.json" -nt "$CL_ROOT/node_modules/.package-lock.json" ]; then
        cl_say "installing the browser-test packages (npm ci)"
        (cd "$CL_ROOT" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund) || return 1
    fi
}

# The studio's vendored browser libraries (uPlot for the performance charts):
# installed from the npm registry with package.json / package-lock.json
# (npm ci when missing or older than the lock) and copied into web/vendor/
# (git-ignored), which the host serves as /vendor/…. No CDN.
cl_web_vendor() {
    cl_ensure_packages npm || return 1
    if [ ! -f "$CL_ROOT/node_modules/uplot/package.json" ] ||
        [ "$CL_ROOT/package-lock.json" -nt "$CL_ROOT/node_modules/.package-lock.json" ]; then
        cl_say "installing the studio's browser libraries (npm ci)"
        (cd "$CL_ROOT" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund) || return 1
    fi
    local src=$CL_ROOT/node_modules/uplot dst=$CL_ROOT/web/vendor/uplot
    mkdir -p "$dst" || return 1
    local f
    for f in dist/uPlot.esm.js dist/uPlot.min.css LICENSE; do
        if [ ! -f "$dst/${f##*/}" ] || [ "$src/$f" -nt "$dst/${f##*/}" ]; then
            cp "$src/$f" "$dst/${f##*/}" || return 1
        fi
    done
}

# The landing page's example video: scripts/example/promo.json rendered by
# this build's own renderer (cliploop render-file, the in-process FFmpeg
# renderer) into web/assets/example/ (git-ignored), with a small poster made
# from its thumbnail so the landing page stays light. Redone when the
# composition or the binary is newer than the video. Needs build/ first.
cl_example_video() {
    local bin=$CL_ROOT/build/cliploop comp=$CL_ROOT/scripts/example/promo.json
    local out=$CL_ROOT/web/assets/example work=$CL_ROOT/var/example
    [ -x "$bin" ] || return 1
    if [ -f "$out/promo.mp4" ] && [ -f "$out/poster.jpg" ] && [ -f "$out/promo.vtt" ] && [ "$out/promo.mp4" -nt "$comp" ] &&
        [ "$out/promo.mp4" -nt "$bin" ]; then
        return 0
    fi
    cl_ensure_packages ffmpeg || return 1
    mkdir -p "$out" "$work" || return 1
    CLIPLOOP_PLUGIN_DIR=$CL_ROOT/build/plugins CLIPLOOP_LOG_LEVEL=warn \
        "$bin" render-file "$comp" "$work" --renderer ffmpeg >/dev/null || return 1
    cp "$work/rendered.mp4" "$out/promo.mp4.part" && mv "$out/promo.mp4.part" "$out/promo.mp4" || return 1
    ffmpeg -loglevel error -y -i "$work/thumbnail.jpg" -vf scale=360:-2 -q:v 6 "$out/poster.jpg" || return 1
    cp "$CL_ROOT/scripts/example/promo.vtt" "$out/promo.vtt"
}

# A free TCP port on 127.0.0.1 (asks the kernel through node).
cl_free_port() {
    node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
