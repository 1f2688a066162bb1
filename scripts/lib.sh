# shellcheck shell=bash
# Shared by scripts/demo and scripts/test (sourced, not run): make sure
# showtree can find a PostgreSQL, installing it from the system's packages
# when there is none.

# Whether a server accepts TCP connections on 127.0.0.1 at port $1 (default
# 5432). pg_isready may not be installed; bash's /dev/tcp always is.
pg_answers() {
    local probe="exec 3<>/dev/tcp/127.0.0.1/${1:-5432}"
    if command -v timeout >/dev/null 2>&1; then
        timeout 2 bash -c "$probe" >/dev/null 2>&1
    else
        bash -c "$probe" >/dev/null 2>&1
    fi
}

# Whether PostgreSQL's server programs are where showtree's launcher looks.
pg_installed() {
    local candidate
    command -v pg_ctl >/dev/null 2>&1 && return 0
    for candidate in /usr/lib/postgresql/*/bin/pg_ctl \
        /opt/homebrew/opt/postgresql@*/bin/pg_ctl \
        /usr/local/opt/postgresql@*/bin/pg_ctl \
        /usr/pgsql-*/bin/pg_ctl; do
        [ -x "$candidate" ] && return 0
    done
    return 1
}

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "error: installing PostgreSQL needs root, and sudo is not available" >&2
        return 1
    fi
}

# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 or PostgreSQL's
# programs are installed (showtree then starts its own private cluster).
# Arguments name environment variables (e.g. DATABASE_URL) that, when set,
# point at a server already, so nothing needs installing.
ensure_postgres() {
    local var
    for var in "$@"; do
        if [ -n "${!var:-}" ]; then
            return 0
        fi
    done
    if pg_installed || pg_answers; then
        return 0
    fi
    echo "PostgreSQL is not installed; installing it from the system's packages..." >&2
    if command -v apt-get >/dev/null 2>&1; then
        as_root apt-get update
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
    elif [ "$(uname -s)" = Darwin ] && command -v brew >/dev/null 2>&1; then
        brew install postgresql@16
    else
        cat >&2 <<'MSG'
error: PostgreSQL (15 or newer) is needed and this script cannot install it here.
Install it with your system's package manager (the package providing initdb and
pg_ctl, e.g. `postgresql-server` on Fedora/RHEL, `postgresql` on Arch/Alpine,
`brew install postgresql@16` on macOS), or set DATABASE_URL to a server you have.
MSG
        exit 1
    fi
    if ! pg_installed; then
        echo "error: installed PostgreSQL, but initdb/pg_ctl are still not found" >&2
        exit 1
    fi
}
