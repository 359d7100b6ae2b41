//! A private PostgreSQL cluster run from the installed server binaries, for when no
//! `DATABASE_URL` is given: created on first use, reused afterwards, stopped with the process.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};

/// How long to wait for a starting server to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The superuser created by `initdb`.
const SUPERUSER: &str = "postgres";
/// Unix socket paths are limited to about 107 bytes; keep the directory well short of that.
const MAX_SOCKET_DIR_LEN: usize = 80;

/// Why the private cluster could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no PostgreSQL server binaries were found (looked for initdb and postgres in \
         CITYTOOLS_PG_BINDIR if set, else through `pg_config --bindir`, PATH and \
         /usr/lib/postgresql/*/bin).\n\
         Install PostgreSQL (`apt-get install postgresql` on Debian or Ubuntu, \
         `brew install postgresql` on macOS), or set DATABASE_URL to an existing database, \
         or run `docker compose up`."
    )]
    NoServerBinaries,
    #[error(
        "running as root, the database must run as the `postgres` user, and there is none: \
         create it (`useradd --system postgres`), run as another user, or set DATABASE_URL"
    )]
    NoPostgresUser,
    #[error("{action} failed: {source}")]
    Io {
        action: String,
        #[source]
        source: io::Error,
    },
    #[error("{command} failed ({status}):\n{output}")]
    Command {
        command: String,
        status: ExitStatus,
        output: String,
    },
    #[error("PostgreSQL did not start within {seconds}s; its log ({log}) ends with:\n{tail}")]
    StartFailed {
        seconds: u64,
        log: String,
        tail: String,
    },
}

fn io_error(action: impl Into<String>) -> impl FnOnce(io::Error) -> ClusterError {
    let action = action.into();
    move |source| ClusterError::Io { action, source }
}

/// The user the server processes run as: the current one, or `postgres` when running as root.
#[derive(Debug, Clone, Copy)]
struct RunAs {
    uid: libc::uid_t,
    gid: libc::gid_t,
}

impl RunAs {
    fn detect() -> Result<Option<RunAs>, ClusterError> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Ok(None);
        }
        let name = std::ffi::CString::new(SUPERUSER).expect("no interior NUL");
        // SAFETY: getpwnam returns null or a pointer to static storage; we copy the ids out at once.
        let entry = unsafe { libc::getpwnam(name.as_ptr()) };
        if entry.is_null() {
            return Err(ClusterError::NoPostgresUser);
        }
        // SAFETY: entry was checked to be non-null.
        let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
        Ok(Some(RunAs { uid, gid }))
    }

    /// Makes `command` drop to this user in the child, before exec.
    fn apply(self, command: &mut Command) {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                if libc::setgroups(0, std::ptr::null()) != 0
                    || libc::setgid(self.gid) != 0
                    || libc::setuid(self.uid) != 0
                {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }

    fn chown(self, path: &Path) -> Result<(), ClusterError> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid)).map_err(io_error(format!(
            "giving {} to the postgres user",
            path.display()
        )))
    }

    /// Whether this user can create files in `dir` (every parent directory must be traversable).
    fn can_use(self, dir: &Path) -> bool {
        let mut probe = Command::new("test");
        probe.arg("-w").arg(dir).arg("-a").arg("-x").arg(dir);
        self.apply(&mut probe);
        probe
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|status| status.success())
            .unwrap_or(false)
    }
}

/// Finds the directory holding `initdb` and `postgres`: `CITYTOOLS_PG_BINDIR` when set (and
/// nowhere else), otherwise `pg_config --bindir`, `PATH`, then the newest /usr/lib/postgresql/*/bin.
pub fn find_server_binaries() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("postgres").is_file();
    if let Some(dir) = std::env::var_os("CITYTOOLS_PG_BINDIR").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        return has_server(&dir).then_some(dir);
    }
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output() {
        if output.status.success() {
            let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
            if has_server(&dir) {
                return Some(dir);
            }
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|dir| has_server(dir)) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// Options for starting a cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// The directory that holds the cluster (`pgdata/`, `socket/`, `postgres.log`).
    pub base_dir: PathBuf,
    /// Skip fsync: for throwaway test clusters only.
    pub ephemeral: bool,
    /// The port (which names the socket); a free one when None.
    pub port: Option<u16>,
}

/// A running private PostgreSQL server, stopped (fast shutdown) when dropped.
pub struct LocalCluster {
    pid: libc::pid_t,
    socket_dir: PathBuf,
    port: u16,
    base_dir: PathBuf,
    exited: mpsc::Receiver<io::Result<ExitStatus>>,
    /// Stopped already, or another process's server (never stopped from here).
    stopped: bool,
}

impl LocalCluster {
    /// Creates the cluster if needed and starts it, waiting until it accepts connections.
    pub fn start(options: &ClusterOptions) -> Result<LocalCluster, ClusterError> {
        let bin_dir = find_server_binaries().ok_or(ClusterError::NoServerBinaries)?;
        let run_as = RunAs::detect()?;
        let base_dir = usable_base_dir(&options.base_dir, run_as)?;
        let data_dir = base_dir.join("pgdata");
        let socket_dir = base_dir.join("socket");
        let log_path = base_dir.join("postgres.log");
        if let Some(running) = LocalCluster::already_running(&base_dir) {
            return Ok(running);
        }

        if !data_dir.join("PG_VERSION").is_file() {
            init_data_dir(&bin_dir, &data_dir, run_as)?;
        }
        fs::create_dir_all(&socket_dir).map_err(io_error("creating the socket directory"))?;
        fs::set_permissions(&socket_dir, fs::Permissions::from_mode(0o700))
            .map_err(io_error("securing the socket directory"))?;
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io_error(format!("opening {}", log_path.display())))?;
        if let Some(run_as) = run_as {
            run_as.chown(&socket_dir)?;
            run_as.chown(&log_path)?;
        }
        let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);

        let port = match options.port {
            Some(port) => port,
            None => free_port()?,
        };
        let mut command = Command::new(bin_dir.join("postgres"));
        command
            .arg("-D")
            .arg(&data_dir)
            .arg("-k")
            .arg(&socket_dir)
            .arg("-p")
            .arg(port.to_string())
            .args(["-c", "listen_addresses="])
            .args(["-c", "max_connections=200"])
            .current_dir(&base_dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(io_error("sharing the log file"))?)
            .stderr(log);
        if options.ephemeral {
            command.args(["-c", "fsync=off", "-c", "synchronous_commit=off"]);
            command.args(["-c", "full_page_writes=off"]);
        }
        if let Some(run_as) = run_as {
            run_as.apply(&mut command);
        }
        stop_with_parent(&mut command);

        // The death signal is sent when the *thread* that spawned the child ends, so the child is
        // spawned and waited on by a thread that lives exactly as long as the server.
        let (pid_tx, pid_rx) = mpsc::channel();
        let (exit_tx, exit_rx) = mpsc::channel();
        thread::Builder::new()
            .name("postgres".into())
            .spawn(move || match command.spawn() {
                Ok(mut child) => {
                    let _ = pid_tx.send(Ok(child.id() as libc::pid_t));
                    let _ = exit_tx.send(child.wait());
                }
                Err(error) => {
                    let _ = pid_tx.send(Err(error));
                }
            })
            .map_err(io_error("starting the postgres supervisor thread"))?;
        let pid = pid_rx
            .recv()
            .map_err(|_| io::Error::other("supervisor thread ended"))
            .and_then(|spawned| spawned)
            .map_err(io_error("starting postgres"))?;

        let mut cluster = LocalCluster {
            pid,
            socket_dir,
            port,
            base_dir,
            exited: exit_rx,
            stopped: false,
        };
        cluster.wait_until_ready(&log_path, log_start)?;
        log::info!(
            "private PostgreSQL running from {} (socket {}, port {})",
            cluster.base_dir.display(),
            cluster.socket_dir.display(),
            cluster.port
        );
        Ok(cluster)
    }

    /// The cluster under `base_dir` when a server already runs it (`citytools serve` in
    /// another terminal, say): its port and socket as its `postmaster.pid` gives them, once it
    /// answers. Such a cluster is used as it is, and left running when dropped.
    fn already_running(base_dir: &Path) -> Option<LocalCluster> {
        let pid_file = fs::read_to_string(base_dir.join("pgdata").join("postmaster.pid")).ok()?;
        let lines: Vec<&str> = pid_file.lines().collect();
        let pid: libc::pid_t = lines.first()?.trim().parse().ok()?;
        let port: u16 = lines.get(3)?.trim().parse().ok()?;
        let socket_dir = PathBuf::from(lines.get(4)?.trim());
        // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
        if unsafe { libc::kill(pid, 0) } != 0 {
            return None;
        }
        let (_, exited) = mpsc::channel();
        let cluster = LocalCluster {
            pid,
            socket_dir,
            port,
            base_dir: base_dir.to_path_buf(),
            exited,
            // Not this process's to stop.
            stopped: true,
        };
        PgConnection::establish(&cluster.database_url("postgres")).ok()?;
        log::info!(
            "using the private PostgreSQL already running from {} (port {})",
            base_dir.display(),
            port
        );
        Some(cluster)
    }

    /// A libpq URL for `database` on this cluster.
    pub fn database_url(&self, database: &str) -> String {
        format!(
            "postgresql://{SUPERUSER}@/{database}?host={}&port={}",
            self.socket_dir.display(),
            self.port
        )
    }

    /// The port the server was started on (it names the socket).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory that holds the cluster.
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// Creates `database` unless it exists.
    pub fn ensure_database(&self, database: &str) -> Result<(), diesel::result::Error> {
        let mut conn = PgConnection::establish(&self.database_url("postgres"))
            .map_err(|e| diesel::result::Error::QueryBuilderError(Box::new(e)))?;
        let exists: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
            "EXISTS (SELECT 1 FROM pg_database WHERE datname = '{}')",
            database.replace('\'', "''")
        )))
        .get_result(&mut conn)?;
        if !exists {
            diesel::sql_query(format!(
                "CREATE DATABASE \"{}\"",
                database.replace('"', "\"\"")
            ))
            .execute(&mut conn)?;
        }
        Ok(())
    }

    fn wait_until_ready(&mut self, log_path: &Path, log_start: u64) -> Result<(), ClusterError> {
        let started = Instant::now();
        let url = self.database_url("postgres");
        loop {
            if PgConnection::establish(&url).is_ok() {
                return Ok(());
            }
            let exited = self.exited.try_recv().is_ok();
            if exited || started.elapsed() > START_TIMEOUT {
                self.stopped = exited;
                return Err(ClusterError::StartFailed {
                    seconds: START_TIMEOUT.as_secs(),
                    log: log_path.display().to_string(),
                    tail: log_tail(log_path, log_start),
                });
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server with a fast shutdown and waits for it to exit.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        // SAFETY: sending a signal to the server we started.
        unsafe {
            libc::kill(self.pid, libc::SIGINT);
        }
        match self.exited.recv_timeout(Duration::from_secs(30)) {
            Ok(_) => log::info!("private PostgreSQL stopped"),
            Err(_) => {
                log::warn!("private PostgreSQL did not stop within 30s; sending SIGQUIT");
                // SAFETY: as above.
                unsafe {
                    libc::kill(self.pid, libc::SIGQUIT);
                }
                let _ = self.exited.recv_timeout(Duration::from_secs(10));
            }
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The server gets a fast-shutdown signal if this process dies without stopping it.
fn stop_with_parent(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe. It runs after the uid change, which would clear it.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGINT) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The requested directory, or one under the system temp dir when the server's user cannot reach
/// it (a checkout under /root, say) or when its socket path would be too long.
fn usable_base_dir(requested: &Path, run_as: Option<RunAs>) -> Result<PathBuf, ClusterError> {
    fs::create_dir_all(requested).map_err(io_error(format!("creating {}", requested.display())))?;
    let requested = requested
        .canonicalize()
        .map_err(io_error(format!("resolving {}", requested.display())))?;
    let reachable =
        run_as.is_none_or(|user| user.chown(&requested).is_ok() && user.can_use(&requested));
    let short_enough = requested.join("socket").as_os_str().len() <= MAX_SOCKET_DIR_LEN;
    if reachable && short_enough {
        return Ok(requested);
    }
    let fallback = fallback_dir(&requested);
    log::warn!(
        "{} cannot hold the private PostgreSQL cluster ({}); using {} instead",
        requested.display(),
        if reachable {
            "its socket path would be too long"
        } else {
            "the postgres user cannot reach it"
        },
        fallback.display()
    );
    fs::create_dir_all(&fallback).map_err(io_error(format!("creating {}", fallback.display())))?;
    fs::set_permissions(&fallback, fs::Permissions::from_mode(0o700))
        .map_err(io_error("securing the cluster directory"))?;
    if let Some(user) = run_as {
        user.chown(&fallback)?;
    }
    Ok(fallback)
}

/// Where the cluster for `requested` (an absolute path) goes when `requested` cannot hold it.
pub fn fallback_dir(requested: &Path) -> PathBuf {
    std::env::temp_dir().join(format!("citytools-{}", short_hash(requested)))
}

fn short_hash(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
    hex::encode(&digest[..6])
}

fn init_data_dir(
    bin_dir: &Path,
    data_dir: &Path,
    run_as: Option<RunAs>,
) -> Result<(), ClusterError> {
    log::info!(
        "creating a private PostgreSQL cluster in {}",
        data_dir.display()
    );
    if data_dir.exists() {
        // A half-made data directory from an interrupted initdb: initdb refuses a non-empty one.
        fs::remove_dir_all(data_dir).map_err(io_error("removing an incomplete data directory"))?;
    }
    let mut command = Command::new(bin_dir.join("initdb"));
    command
        .arg("-D")
        .arg(data_dir)
        .args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
        ])
        .current_dir(data_dir.parent().unwrap_or(Path::new("/")))
        .stdin(Stdio::null());
    if let Some(run_as) = run_as {
        run_as.apply(&mut command);
    }
    let output = command.output().map_err(io_error("running initdb"))?;
    if !output.status.success() {
        return Err(ClusterError::Command {
            command: "initdb".into(),
            status: output.status,
            output: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(())
}

fn free_port() -> Result<u16, ClusterError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(io_error("finding a free port"))
}

fn log_tail(path: &Path, from: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = fs::File::open(path) {
        let _ = file.seek(SeekFrom::Start(from));
        let _ = file.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
