//! The embedded PostgreSQL launcher: a private cluster in a data directory,
//! for machines that have PostgreSQL installed but no server showtree can use
//! (DESIGN.md section 2, "Embedded default").
//!
//! The cluster listens on a free loopback port only, its superuser is
//! `postgres` with trust authentication, and it has no Unix socket (socket
//! paths are limited to ~100 bytes, which deep data directories exceed).

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Gid, Uid, User};
use tokio_postgres::NoTls;

/// The cluster's superuser, and the system user PostgreSQL runs as under root.
const SUPERUSER: &str = "postgres";
/// How long starting, stopping and first contact may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Fresh ports to try when another process grabs ours between probe and bind.
const PORT_ATTEMPTS: usize = 5;
/// The server's log, inside the data directory: the one place the server
/// user can always write, and it travels with the cluster.
const LOG_FILE: &str = "server.log";
/// How much of the log an error quotes.
const LOG_TAIL_BYTES: u64 = 4000;

/// What can go wrong finding, starting or stopping the embedded cluster.
///
/// Messages are complete, causes included (see [`crate::connect::ConnectError`]).
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// `initdb`/`pg_ctl` are nowhere to be found.
    #[error(
        "PostgreSQL is not installed (no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin): \
         install PostgreSQL: apt install postgresql (Debian/Ubuntu) or brew install postgresql@16 (macOS), \
         or set DATABASE_URL"
    )]
    NotInstalled,
    /// Running as root, which PostgreSQL refuses, and there is no user to switch to.
    #[error(
        "running as root, which PostgreSQL refuses, and there is no `postgres` system user to run it as: \
         create one (useradd --system postgres), run as a normal user, or set DATABASE_URL"
    )]
    NoPostgresUser,
    /// Under root, a directory on the way to the data directory is closed to the server's user.
    #[error(
        "{} is not searchable by the `{user}` user, which runs PostgreSQL because showtree runs as root: \
         chmod o+x {}, or choose a data directory elsewhere",
        .dir.display(), .dir.display()
    )]
    NotTraversable {
        /// The first directory the user cannot enter.
        dir: PathBuf,
        /// The user PostgreSQL runs as.
        user: String,
    },
    /// The data directory holds something other than a PostgreSQL cluster.
    #[error(
        "{} is neither empty nor a PostgreSQL data directory: choose another data directory",
        .dir.display()
    )]
    NotACluster {
        /// The data directory.
        dir: PathBuf,
    },
    /// A file system operation failed.
    #[error("{what} {}: {error}", .path.display())]
    Io {
        /// What was being done, e.g. "creating".
        what: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        error: io::Error,
    },
    /// Another process holds the data directory's lock and something failed taking it.
    #[error("locking {}: {error}", .path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The underlying error.
        error: Errno,
    },
    /// `initdb` or `pg_ctl` exited unsuccessfully.
    #[error("{program} failed ({status}):\n{output}")]
    Command {
        /// The program that failed.
        program: String,
        /// Its exit status.
        status: String,
        /// Its stdout and stderr.
        output: String,
    },
    /// The server did not come up; the log says why.
    #[error("PostgreSQL did not start in {}; end of {}:\n{log_tail}", .data_dir.display(), .log.display())]
    Start {
        /// The data directory.
        data_dir: PathBuf,
        /// The server log.
        log: PathBuf,
        /// The end of the server log.
        log_tail: String,
    },
    /// The server started but does not accept our connection.
    #[error(
        "PostgreSQL in {} started but does not answer on 127.0.0.1:{port}: {}; end of its log:\n{log_tail}",
        .data_dir.display(), crate::connect::describe(.error)
    )]
    NotAnswering {
        /// The data directory.
        data_dir: PathBuf,
        /// The port it should listen on.
        port: u16,
        /// The last connection error.
        error: tokio_postgres::Error,
        /// The end of the server log.
        log_tail: String,
    },
}

impl EmbeddedError {
    fn io(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> EmbeddedError {
        let path = path.to_owned();
        move |error| EmbeddedError::Io { what, path, error }
    }
}

/// A PostgreSQL cluster in a private data directory, started by showtree.
///
/// Dropping it stops the server if this value started it.
#[derive(Debug)]
pub struct EmbeddedPg {
    data_dir: PathBuf,
    port: u16,
    owned: bool,
    programs: Programs,
    run_as: Option<RunAs>,
}

impl EmbeddedPg {
    /// Start (initdb first if the dir is empty/missing) a cluster in `data_dir` on a free 127.0.0.1 port.
    ///
    /// If a postmaster from this data dir is already running and answering,
    /// reuse it and do not stop it on drop.
    #[tracing::instrument(skip_all, fields(data_dir = %data_dir.display()), err)]
    pub async fn start(data_dir: &Path) -> Result<EmbeddedPg, EmbeddedError> {
        let programs = Programs::find()?;
        let run_as = RunAs::current()?;
        let (requested, user) = (data_dir.to_owned(), run_as.clone());
        let (data_dir, lock) = blocking(move || {
            let data_dir = prepare_data_dir(&requested, user.as_ref())?;
            let lock = lock_data_dir(&data_dir)?;
            Ok((data_dir, lock))
        })
        .await?;

        if let Some(port) = running_port(&data_dir).await {
            tracing::info!(port, "reusing the running embedded PostgreSQL");
            return Ok(EmbeddedPg {
                data_dir,
                port,
                owned: false,
                programs,
                run_as,
            });
        }

        let (dir, progs, user) = (data_dir.clone(), programs.clone(), run_as.clone());
        let port = blocking(move || init_and_start(&dir, &progs, user.as_ref())).await?;
        // From here on, dropping `pg` stops the server, so a failed first
        // contact does not leave an orphan behind.
        let pg = EmbeddedPg {
            data_dir,
            port,
            owned: true,
            programs,
            run_as,
        };
        pg.wait_until_answering().await?;
        tracing::info!(port, "started embedded PostgreSQL");
        // Held until the server answers, so a concurrent start() finds a
        // running cluster instead of racing us through initdb.
        drop(lock);
        Ok(pg)
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's data directory (absolute).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Whether this value started the server (and so stops it on drop).
    pub fn owns_server(&self) -> bool {
        self.owned
    }

    /// `postgres://postgres@127.0.0.1:PORT/{db}`
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{db}", self.port)
    }

    /// Stop the server if we started it (`pg_ctl stop -m fast`, waiting for it).
    #[tracing::instrument(skip_all, fields(data_dir = %self.data_dir.display()), err)]
    pub fn stop(&mut self) -> Result<(), EmbeddedError> {
        if !self.owned {
            return Ok(());
        }
        let mut cmd = server_command(&self.programs.pg_ctl, self.run_as.as_ref(), &self.data_dir);
        cmd.arg("stop")
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "fast", "-w", "-t"])
            .arg(TIMEOUT.as_secs().to_string());
        run("pg_ctl stop", cmd)?;
        self.owned = false;
        tracing::info!(port = self.port, "stopped embedded PostgreSQL");
        Ok(())
    }

    async fn wait_until_answering(&self) -> Result<(), EmbeddedError> {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let err = match query_data_directory(self.port).await {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(EmbeddedError::NotAnswering {
                    data_dir: self.data_dir.clone(),
                    port: self.port,
                    error: err,
                    log_tail: log_tail(&self.data_dir.join(LOG_FILE), 0),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for EmbeddedPg {
    fn drop(&mut self) {
        // Nothing to do about a failure here; stop() has already logged it.
        let _ = self.stop();
    }
}

/// Locate a PostgreSQL program: `$PATH` first, then `/usr/lib/postgresql/*/bin`
/// (highest version), then Homebrew's `postgresql@*` and RHEL's `/usr/pgsql-*`.
pub fn find_pg_program(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let versioned = [
        ("/usr/lib/postgresql", "", "bin"),
        ("/opt/homebrew/opt", "postgresql@", "bin"),
        ("/usr/local/opt", "postgresql@", "bin"),
        ("/usr", "pgsql-", "bin"),
    ];
    on_path
        .into_iter()
        .chain(
            versioned
                .iter()
                .flat_map(|(parent, prefix, bin)| versioned_dirs(parent, prefix, bin)),
        )
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

/// `parent/<prefix><version>/<bin>` for every version present, highest first.
fn versioned_dirs(parent: &str, prefix: &str, bin: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u64>, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let version = name.strip_prefix(prefix)?;
            // "16", "9.6": compared numerically, so 16 sorts above 9.6.
            let key = version
                .split('.')
                .map(|part| part.parse::<u64>().ok())
                .collect::<Option<Vec<_>>>()?;
            Some((key, e.path().join(bin)))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, dir)| dir).collect()
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The programs of one PostgreSQL installation.
#[derive(Debug, Clone)]
struct Programs {
    initdb: PathBuf,
    pg_ctl: PathBuf,
}

impl Programs {
    fn find() -> Result<Programs, EmbeddedError> {
        let pg_ctl = find_pg_program("pg_ctl").ok_or(EmbeddedError::NotInstalled)?;
        // initdb from pg_ctl's own installation, so the cluster's format
        // matches the server pg_ctl starts.
        let initdb = pg_ctl
            .parent()
            .map(|dir| dir.join("initdb"))
            .filter(|p| is_executable(p))
            .or_else(|| find_pg_program("initdb"))
            .ok_or(EmbeddedError::NotInstalled)?;
        Ok(Programs { initdb, pg_ctl })
    }
}

/// The unprivileged user PostgreSQL runs as when we are root.
#[derive(Clone)]
struct RunAs {
    uid: Uid,
    gid: Gid,
    name: String,
    home: PathBuf,
}

impl fmt::Debug for RunAs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}:{})", self.name, self.uid, self.gid)
    }
}

impl RunAs {
    /// `None` unless we are root (PostgreSQL refuses to run as root).
    fn current() -> Result<Option<RunAs>, EmbeddedError> {
        if !nix::unistd::geteuid().is_root() {
            return Ok(None);
        }
        let user = User::from_name(SUPERUSER)
            .ok()
            .flatten()
            .ok_or(EmbeddedError::NoPostgresUser)?;
        Ok(Some(RunAs {
            uid: user.uid,
            gid: user.gid,
            name: user.name,
            home: user.dir,
        }))
    }

    /// Whether this user may enter `dir`. std's `Command::uid` drops all
    /// supplementary groups, so only owner, primary group and other count.
    fn can_search(&self, meta: &fs::Metadata) -> bool {
        let mode = meta.mode();
        if meta.uid() == self.uid.as_raw() {
            mode & 0o100 != 0
        } else if meta.gid() == self.gid.as_raw() {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        }
    }
}

/// A command run as the server's user, in a directory that user can enter.
fn server_command(program: &Path, run_as: Option<&RunAs>, cwd: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.current_dir(cwd).stdin(Stdio::null());
    if let Some(user) = run_as {
        cmd.uid(user.uid.as_raw())
            .gid(user.gid.as_raw())
            .env("HOME", &user.home)
            .env("USER", &user.name)
            .env("LOGNAME", &user.name);
    }
    cmd
}

fn run(program: &str, mut cmd: Command) -> Result<Output, EmbeddedError> {
    let output = cmd.output().map_err(|error| EmbeddedError::Io {
        what: "running",
        path: PathBuf::from(cmd.get_program()),
        error,
    })?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(EmbeddedError::Command {
            program: program.to_owned(),
            status: output.status.to_string(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

/// Runs blocking work (processes, file locks) off the async runtime's workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, EmbeddedError> + Send + 'static,
) -> Result<T, EmbeddedError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(EmbeddedError::Io {
            what: "running the launcher task for",
            path: PathBuf::new(),
            error: io::Error::other(e),
        }),
    }
}

/// Creates the data directory, returns its absolute path, and under root
/// hands it to the server's user after checking that user can reach it.
fn prepare_data_dir(data_dir: &Path, run_as: Option<&RunAs>) -> Result<PathBuf, EmbeddedError> {
    fs::create_dir_all(data_dir).map_err(EmbeddedError::io("creating", data_dir))?;
    let data_dir = data_dir
        .canonicalize()
        .map_err(EmbeddedError::io("resolving", data_dir))?;
    let Some(user) = run_as else {
        return Ok(data_dir);
    };
    // Checked here because initdb would only say "permission denied" about
    // a path without naming the directory to fix.
    for dir in data_dir.ancestors().skip(1) {
        let meta = fs::metadata(dir).map_err(EmbeddedError::io("inspecting", dir))?;
        if !user.can_search(&meta) {
            return Err(EmbeddedError::NotTraversable {
                dir: dir.to_owned(),
                user: user.name.clone(),
            });
        }
    }
    if is_empty_dir(&data_dir)? {
        std::os::unix::fs::chown(&data_dir, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
            .map_err(EmbeddedError::io("handing to the postgres user", &data_dir))?;
        fs::set_permissions(&data_dir, fs::Permissions::from_mode(0o700))
            .map_err(EmbeddedError::io("restricting", &data_dir))?;
    }
    Ok(data_dir)
}

fn is_empty_dir(dir: &Path) -> Result<bool, EmbeddedError> {
    let mut entries = fs::read_dir(dir).map_err(EmbeddedError::io("reading", dir))?;
    Ok(entries.next().is_none())
}

/// Takes `<data_dir>.lock` exclusively, waiting for any other launcher.
fn lock_data_dir(data_dir: &Path) -> Result<Flock<File>, EmbeddedError> {
    let mut name = OsString::from(data_dir.as_os_str());
    name.push(".lock");
    let path = PathBuf::from(name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(EmbeddedError::io("opening", &path))?;
    Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, error)| EmbeddedError::Lock { path, error })
}

/// The port of a server already running from `data_dir`, if it answers and
/// really serves that directory (a stale postmaster.pid may name a port some
/// other server now uses).
async fn running_port(data_dir: &Path) -> Option<u16> {
    let pid_file = tokio::fs::read_to_string(data_dir.join("postmaster.pid"))
        .await
        .ok()?;
    // Line 4 of postmaster.pid is the port.
    let port: u16 = pid_file.lines().nth(3)?.trim().parse().ok()?;
    let served = query_data_directory(port).await.ok()?;
    let served = Path::new(&served).canonicalize().ok()?;
    (served == data_dir).then_some(port)
}

/// Connects as the superuser and asks which data directory the server runs.
async fn query_data_directory(port: u16) -> Result<String, tokio_postgres::Error> {
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(port)
        .user(SUPERUSER)
        .dbname("postgres")
        .connect_timeout(Duration::from_secs(2));
    let (client, conn) = config.connect(NoTls).await?;
    let conn = tokio::spawn(conn);
    let row = client.query_one("show data_directory", &[]).await;
    drop(client);
    let _ = conn.await;
    row?.try_get(0)
}

/// initdb if needed, then start the server on a free port; returns the port.
fn init_and_start(
    data_dir: &Path,
    programs: &Programs,
    run_as: Option<&RunAs>,
) -> Result<u16, EmbeddedError> {
    if !data_dir.join("PG_VERSION").exists() {
        if !is_empty_dir(data_dir)? {
            return Err(EmbeddedError::NotACluster {
                dir: data_dir.to_owned(),
            });
        }
        let mut cmd = server_command(&programs.initdb, run_as, data_dir);
        cmd.arg("-D").arg(data_dir).args([
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        run("initdb", cmd)?;
        tracing::info!("initialized a new PostgreSQL cluster");
    }

    let log = data_dir.join(LOG_FILE);
    let mut last_tail = String::new();
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port().map_err(EmbeddedError::io("finding a free port for", data_dir))?;
        let log_start = fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        let mut cmd = server_command(&programs.pg_ctl, run_as, data_dir);
        // pg_ctl hands -o to a shell: '' is an empty value, meaning no Unix socket.
        cmd.arg("start")
            .arg("-D")
            .arg(data_dir)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t"])
            .arg(TIMEOUT.as_secs().to_string())
            .arg("-o")
            .arg(format!(
                "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories=''"
            ));
        match run("pg_ctl start", cmd) {
            Ok(_) => return Ok(port),
            Err(e) => {
                last_tail = log_tail(&log, log_start);
                // Someone took the port between our probe and the server's bind: try another.
                if last_tail.contains("Address already in use") {
                    tracing::debug!(port, "port taken, retrying");
                    continue;
                }
                if last_tail.trim().is_empty() {
                    return Err(e);
                }
                break;
            }
        }
    }
    Err(EmbeddedError::Start {
        data_dir: data_dir.to_owned(),
        log,
        log_tail: last_tail,
    })
}

/// A loopback port nobody listens on right now.
fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// The last few KB of `log` written after byte `from`, for error messages.
fn log_tail(log: &Path, from: u64) -> String {
    let read = || -> io::Result<String> {
        let mut file = File::open(log)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(
            from.max(len.saturating_sub(LOG_TAIL_BYTES)),
        ))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    read().unwrap_or_else(|e| format!("(could not read {}: {e})", log.display()))
}
