//! Run directories and the files a run leaves behind.
//!
//! Every run gets its own fresh directory `<base>/<experiment>-<YYYYMMDD-HHMMSS>[-N]` that is never
//! reused, so results are never overwritten; only the run itself, resumed from its checkpoint
//! ([`RunDir::reopen`]), writes there again. Every file is written atomically (temporary file in the
//! same directory, fsync, rename): an interrupted run leaves either the old or the new version of a
//! file, never a truncated one. A run directory holds:
//!
//! - `config.json`: every setting, the seed, the crate version and the target ([`RunDir::write_config`]);
//! - `summary.json`: the [`RunStatus`] and the headline results ([`RunDir::write_summary`]);
//! - CSV tables ([`CsvWriter`]), figures (see [`crate::plot`]) and a self-contained `index.html`
//!   ([`write_index_html`]).
//!
//! Several runs can be gathered into one `report.html` with [`write_report_html`].

use std::fmt::{self, Write as _};
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Name of the configuration file in a run directory.
pub const CONFIG_FILE: &str = "config.json";
/// Name of the summary file in a run directory.
pub const SUMMARY_FILE: &str = "summary.json";
/// Name of the HTML page in a run directory.
pub const INDEX_FILE: &str = "index.html";

/// How many suffixes `-1`, `-2`, … [`RunDir::create`] tries before giving up: a guard against a
/// directory that refuses every name, not a limit anyone should reach.
const MAX_DIR_SUFFIX: u32 = 10_000;

/// Default interval after which [`CsvWriter::push`] rewrites the file on its own, so a run that is
/// killed still leaves a recent, valid table.
pub const CSV_FLUSH_INTERVAL: Duration = Duration::from_secs(2);

/// Errors of this module: what failed and on which file.
#[derive(Debug)]
#[non_exhaustive]
pub enum RecordError {
    /// A file system operation failed on `path`.
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A value could not be serialized or a JSON file could not be parsed.
    Json {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// A caller passed data that does not fit (for example a CSV row of the wrong length).
    Invalid(String),
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::Json { path, source } => write!(f, "{}: {source}", path.display()),
            Self::Invalid(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for RecordError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Json { source, .. } => Some(source),
            Self::Invalid(_) => None,
        }
    }
}

/// Result type of this module.
pub type Result<T, E = RecordError> = std::result::Result<T, E>;

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> RecordError + '_ {
    move |source| RecordError::Io {
        path: path.to_path_buf(),
        source,
    }
}

// ---------------------------------------------------------------------------------------------
// Time stamps (UTC, without a date library)
// ---------------------------------------------------------------------------------------------

/// A civil UTC date and time, enough to name directories and stamp files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    /// Year (proleptic Gregorian).
    pub year: i64,
    /// Month, 1–12.
    pub month: u32,
    /// Day of month, 1–31.
    pub day: u32,
    /// Hour, 0–23.
    pub hour: u32,
    /// Minute, 0–59.
    pub minute: u32,
    /// Second, 0–59.
    pub second: u32,
}

impl UtcTime {
    /// The current time; a clock before 1970 reads as the epoch.
    pub fn now() -> Self {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self::from_unix(i64::try_from(secs).unwrap_or(i64::MAX))
    }

    /// Converts seconds since 1970-01-01T00:00:00Z.
    pub fn from_unix(secs: i64) -> Self {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        // `rem` < 86 400, so the casts below cannot truncate.
        Self {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
        }
    }

    /// `YYYYMMDD-HHMMSS`, the form used in directory names (sorts chronologically).
    pub fn compact(&self) -> String {
        format!(
            "{:04}{:02}{:02}-{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }

    /// Reads the form [`iso8601`](Self::iso8601) writes; `None` for anything else.
    pub fn parse_iso8601(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let shape_ok = b.len() == 20
            && [4, 7].iter().all(|&i| b[i] == b'-')
            && b[10] == b'T'
            && [13, 16].iter().all(|&i| b[i] == b':')
            && b[19] == b'Z';
        if !shape_ok {
            return None;
        }
        let number = |range: std::ops::Range<usize>| text.get(range)?.parse::<u32>().ok();
        let time = Self {
            year: i64::from(number(0..4)?),
            month: number(5..7)?,
            day: number(8..10)?,
            hour: number(11..13)?,
            minute: number(14..16)?,
            second: number(17..19)?,
        };
        let valid = (1..=12).contains(&time.month)
            && (1..=31).contains(&time.day)
            && time.hour < 24
            && time.minute < 60
            && time.second < 60;
        valid.then_some(time)
    }

    /// ISO 8601, `YYYY-MM-DDTHH:MM:SSZ`, the form used inside files.
    pub fn iso8601(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// Days since 1970-01-01 to a (year, month, day) in the proleptic Gregorian calendar.
///
/// Howard Hinnant's `civil_from_days` algorithm: shift the era to start on 1 March so that the
/// leap day is the last day of the year, then split into 400-year eras.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from 1 March, [0, 365]
    let mp = (5 * doy + 2) / 153; // month from March, [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

// ---------------------------------------------------------------------------------------------
// Atomic writes
// ---------------------------------------------------------------------------------------------

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Held shared by every [`write_atomic`] while its temporary file exists, and exclusively by
/// [`between_writes`]: what runs there sees no temporary file of this process, and a process
/// that quits there ([`exit_between_writes`], a second Ctrl-C) leaves none behind.
static WRITING: RwLock<()> = RwLock::new(());

/// Runs `f` while no [`write_atomic`] of this process is under way: after the writes under way
/// have renamed their files, before any other starts (they wait).
pub fn between_writes<T>(f: impl FnOnce() -> T) -> T {
    let _no_writes = WRITING.write().unwrap_or_else(PoisonError::into_inner);
    f()
}

/// Ends the process with `code` between two writes ([`between_writes`]), so that no temporary
/// file is left half-written: at most the write under way finishes first.
pub fn exit_between_writes(code: i32) -> ! {
    between_writes(|| std::process::exit(code))
}

/// Writes `bytes` to `path` atomically: readers see the old file or the new one, never a mix.
///
/// The data goes to a hidden temporary file in the same directory, is flushed to disk, and is then
/// renamed over `path`. On failure the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| RecordError::Invalid(format!("{}: not a file path", path.display())))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let writing = WRITING.read().unwrap_or_else(PoisonError::into_inner);
    let result = (|| {
        let mut file = File::create(&tmp).map_err(io_err(&tmp))?;
        file.write_all(bytes).map_err(io_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
        drop(file);
        fs::rename(&tmp, path).map_err(io_err(path))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
        return result;
    }
    drop(writing);
    sync_dir(dir);
    Ok(())
}

/// Makes a rename durable; best effort, since not every platform can open a directory.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Writes `value` as pretty-printed JSON (with a final newline), atomically.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|source| RecordError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Reads a JSON file written by [`write_json`] (or anyone else).
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    serde_json::from_str(&text).map_err(|source| RecordError::Json {
        path: path.to_path_buf(),
        source,
    })
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

/// One CSV cell: a number or a piece of text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// A number, written in the shortest form that reads back exactly.
    Num(f64),
    /// Text, quoted when it holds a comma, a quote or a line break.
    Text(&'a str),
}

impl From<f64> for Cell<'_> {
    fn from(v: f64) -> Self {
        Self::Num(v)
    }
}

impl From<f32> for Cell<'_> {
    fn from(v: f32) -> Self {
        Self::Num(f64::from(v))
    }
}

impl From<usize> for Cell<'_> {
    fn from(v: usize) -> Self {
        Self::Num(v as f64)
    }
}

impl From<u32> for Cell<'_> {
    fn from(v: u32) -> Self {
        Self::Num(f64::from(v))
    }
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(v: &'a str) -> Self {
        Self::Text(v)
    }
}

/// Formats a number for CSV: plain decimals in the usual range, exponent form outside it,
/// `NaN`/`inf`/`-inf` for the rest (the spellings common CSV readers accept).
fn format_number(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "inf" } else { "-inf" });
    } else if v == 0.0 || (1e-4..1e15).contains(&v.abs()) {
        let _ = write!(out, "{v}");
    } else {
        let _ = write!(out, "{v:e}");
    }
}

fn format_text(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// A CSV table kept in memory and written atomically, so the file on disk is always complete.
///
/// Rows are appended with [`push`](Self::push); the whole file is rewritten by
/// [`flush`](Self::flush), automatically at most every [`CSV_FLUSH_INTERVAL`] while pushing, and
/// by [`finish`](Self::finish). A run that is interrupted thus leaves a valid table of the rows up
/// to the last flush.
#[derive(Debug)]
pub struct CsvWriter {
    path: PathBuf,
    columns: usize,
    text: String,
    rows: usize,
    flushed_rows: usize,
    interval: Option<Duration>,
    last_flush: Instant,
}

impl CsvWriter {
    /// Starts a table with the given column names and writes the header right away.
    pub fn create(path: impl Into<PathBuf>, header: &[&str]) -> Result<Self> {
        if header.is_empty() {
            return Err(RecordError::Invalid("a CSV table needs columns".into()));
        }
        let mut text = String::new();
        for (i, name) in header.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            format_text(&mut text, name);
        }
        text.push('\n');
        let mut writer = Self {
            path: path.into(),
            columns: header.len(),
            text,
            rows: 0,
            flushed_rows: 0,
            interval: Some(CSV_FLUSH_INTERVAL),
            last_flush: Instant::now(),
        };
        writer.flush()?;
        Ok(writer)
    }

    /// Sets how often `push` rewrites the file on its own; `None` writes only on `flush`/`finish`.
    pub fn with_flush_interval(mut self, interval: Option<Duration>) -> Self {
        self.interval = interval;
        self
    }

    /// The file this table is written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of data rows so far (the header not counted).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Appends one row; it must have one cell per column.
    pub fn push(&mut self, row: &[Cell<'_>]) -> Result<()> {
        if row.len() != self.columns {
            return Err(RecordError::Invalid(format!(
                "{}: row has {} cells, the header {}",
                self.path.display(),
                row.len(),
                self.columns
            )));
        }
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            match *cell {
                Cell::Num(v) => format_number(&mut self.text, v),
                Cell::Text(s) => format_text(&mut self.text, s),
            }
        }
        self.text.push('\n');
        self.rows += 1;
        if self
            .interval
            .is_some_and(|d| self.last_flush.elapsed() >= d)
        {
            self.flush()?;
        }
        Ok(())
    }

    /// Appends a row of numbers only.
    pub fn push_numbers(&mut self, row: &[f64]) -> Result<()> {
        let cells: Vec<Cell<'_>> = row.iter().map(|&v| Cell::Num(v)).collect();
        self.push(&cells)
    }

    /// Rewrites the file with every row so far (atomically); a no-op when nothing changed.
    pub fn flush(&mut self) -> Result<()> {
        if self.flushed_rows == self.rows && self.path.exists() {
            return Ok(());
        }
        write_atomic(&self.path, self.text.as_bytes())?;
        self.flushed_rows = self.rows;
        self.last_flush = Instant::now();
        Ok(())
    }

    /// Writes the final file and returns its path.
    pub fn finish(mut self) -> Result<PathBuf> {
        self.flush()?;
        Ok(self.path)
    }
}

// ---------------------------------------------------------------------------------------------
// Run directories, config and summary
// ---------------------------------------------------------------------------------------------

/// State of a run, as recorded in `summary.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// The run has started and not yet ended (or died without saying so).
    Running,
    /// The run reached its end.
    Completed,
    /// The run was stopped early (for example by Ctrl-C); its files hold the results so far.
    Interrupted,
    /// The loss became non-finite; training stopped.
    Diverged,
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Interrupted => "interrupted",
            Self::Diverged => "diverged",
        })
    }
}

/// Facts about the program that produced a run, recorded beside its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildInfo {
    /// Version of this crate.
    pub crate_version: String,
    /// CPU architecture the program was built for (e.g. `x86_64`).
    pub target_arch: String,
    /// Operating system the program was built for (e.g. `linux`).
    pub target_os: String,
    /// Whether the program was built with debug assertions (an unoptimized build).
    pub debug_build: bool,
    /// How the networks rounded their multiply-adds; results depend on it.
    #[serde(default)]
    pub arithmetic: fprinciple_core::dense::Arithmetic,
    /// Threads a batch could be split across (one per core): batches large enough are split,
    /// and how the parts' gradients are added depends on it. 0 in records that predate it.
    #[serde(default)]
    pub threads: usize,
}

impl BuildInfo {
    /// The facts of the running program.
    pub fn current() -> Self {
        Self {
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            target_arch: std::env::consts::ARCH.to_string(),
            target_os: std::env::consts::OS.to_string(),
            debug_build: cfg!(debug_assertions),
            arithmetic: crate::network::HOST_ARITHMETIC,
            threads: crate::network::training_threads(),
        }
    }
}

/// Contents of `config.json`: enough to rerun the experiment and get the same numbers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConfigRecord<T> {
    /// Experiment name (the directory prefix).
    pub experiment: String,
    /// Seed of every random choice of the run.
    pub seed: u64,
    /// Every setting of the run.
    pub settings: T,
    /// Program that produced the run.
    pub build: BuildInfo,
    /// When the run started (UTC, ISO 8601).
    pub created: String,
}

/// Contents of `summary.json`: the status of the run and its headline results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary<T = serde_json::Value> {
    /// Experiment name.
    pub experiment: String,
    /// Current state of the run.
    pub status: RunStatus,
    /// When the summary was written (UTC, ISO 8601).
    pub updated: String,
    /// Headline results (free form; `null` while running).
    pub results: T,
}

/// Name of the lock file in a run directory: the process writing the run holds an exclusive
/// lock on it, so a second process (a `--resume` while the run goes on, or two resumes) is
/// refused instead of writing the same files. The operating system drops the lock when the
/// process ends, however it ends.
pub const LOCK_FILE: &str = ".lock";

/// Takes the exclusive lock of the run directory `dir` ([`LOCK_FILE`]), or says which process
/// holds it.
fn lock_run(dir: &Path) -> Result<Arc<File>> {
    let path = dir.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io_err(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(Arc::new(file)),
        Err(fs::TryLockError::WouldBlock) => Err(RecordError::Invalid(format!(
            "{}: another fprinciple process is writing this run; wait for it to end or stop it first",
            dir.display()
        ))),
        Err(fs::TryLockError::Error(e)) => Err(io_err(&path)(e)),
    }
}

/// Removes from `dir` the temporary files [`write_atomic`] (`.NAME.tmp-PID-N`) leaves when its
/// process is killed between creating and renaming one (a second Ctrl-C, say). Best effort.
/// Only under the run's lock, so that no other process is writing them.
pub fn remove_temporaries(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.contains(".tmp-") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// A fresh directory that holds the files of one run.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
    experiment: String,
    created: UtcTime,
    /// The locked [`LOCK_FILE`], held as long as any clone of this value lives.
    _lock: Arc<File>,
}

impl RunDir {
    /// Creates `base/<experiment>-<YYYYMMDD-HHMMSS>` (UTC), or with a suffix `-1`, `-2`, … when
    /// that name exists: an existing directory is never reused. `base` is created if missing.
    /// A `summary.json` with status [`RunStatus::Running`] is written at once.
    pub fn create(base: &Path, experiment: &str) -> Result<Self> {
        if experiment.is_empty()
            || experiment
                .chars()
                .any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        {
            return Err(RecordError::Invalid(format!(
                "experiment name {experiment:?}: use letters, digits, '-' and '_'"
            )));
        }
        // The nearest part of `base` that exists must be a directory (the system would say
        // only "File exists"); the rest is created.
        if let Some(file) = base
            .ancestors()
            .filter(|p| !p.as_os_str().is_empty())
            .find_map(|p| fs::metadata(p).ok().map(|m| (p, m.is_dir())))
            .and_then(|(p, is_dir)| (!is_dir).then_some(p))
        {
            return Err(RecordError::Invalid(format!(
                "{}: {} is not a directory (run directories go in a folder)",
                base.display(),
                file.display()
            )));
        }
        fs::create_dir_all(base).map_err(io_err(base))?;
        let created = UtcTime::now();
        let stem = format!("{experiment}-{}", created.compact());
        for n in 0..=MAX_DIR_SUFFIX {
            let name = if n == 0 {
                stem.clone()
            } else {
                format!("{stem}-{n}")
            };
            let path = base.join(name);
            match fs::create_dir(&path) {
                Ok(()) => {
                    let lock = lock_run(&path)?;
                    let dir = Self {
                        path,
                        experiment: experiment.to_string(),
                        created,
                        _lock: lock,
                    };
                    dir.write_summary(RunStatus::Running, &serde_json::Value::Null)?;
                    return Ok(dir);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_err(&path)(e)),
            }
        }
        Err(RecordError::Invalid(format!(
            "{}: no free run directory name for {stem}",
            base.display()
        )))
    }

    /// Opens the existing run directory `path` to continue its run (`--resume`): the one case
    /// where a run directory is written again, by the run it belongs to. Returns it with its
    /// `config.json`, whose settings the caller reads; nothing is written here.
    pub fn reopen(path: &Path) -> Result<(Self, ConfigRecord<serde_json::Value>)> {
        if path.exists() && !path.is_dir() {
            return Err(RecordError::Invalid(format!(
                "{}: not a directory (--resume takes a run directory)",
                path.display()
            )));
        }
        if !path.is_dir() {
            return Err(RecordError::Invalid(format!(
                "{}: no such run directory",
                path.display()
            )));
        }
        let config_path = path.join(CONFIG_FILE);
        if !config_path.is_file() {
            return Err(RecordError::Invalid(format!(
                "{}: not a run directory (it has no {CONFIG_FILE})",
                path.display()
            )));
        }
        let record: ConfigRecord<serde_json::Value> = read_json(&config_path)?;
        let lock = lock_run(path)?;
        remove_temporaries(path);
        let dir = Self {
            path: path.to_path_buf(),
            experiment: record.experiment.clone(),
            created: UtcTime::parse_iso8601(&record.created).unwrap_or_else(UtcTime::now),
            _lock: lock,
        };
        Ok((dir, record))
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The experiment name given at creation.
    pub fn experiment(&self) -> &str {
        &self.experiment
    }

    /// When the run directory was created.
    pub fn created(&self) -> UtcTime {
        self.created
    }

    /// A path inside the directory (for figures, tables, checkpoints).
    pub fn file(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `config.json`: the settings, the seed and the [`BuildInfo`].
    pub fn write_config<T: Serialize>(&self, seed: u64, settings: &T) -> Result<PathBuf> {
        let record = ConfigRecord {
            experiment: self.experiment.clone(),
            seed,
            settings,
            build: BuildInfo::current(),
            created: self.created.iso8601(),
        };
        let path = self.file(CONFIG_FILE);
        write_json(&path, &record)?;
        Ok(path)
    }

    /// Writes `summary.json` with the status and headline results of the run.
    pub fn write_summary<T: Serialize>(&self, status: RunStatus, results: &T) -> Result<PathBuf> {
        let summary = Summary {
            experiment: self.experiment.clone(),
            status,
            updated: UtcTime::now().iso8601(),
            results,
        };
        let path = self.file(SUMMARY_FILE);
        write_json(&path, &summary)?;
        Ok(path)
    }

    /// Starts a CSV table inside the directory.
    pub fn csv(&self, name: &str, header: &[&str]) -> Result<CsvWriter> {
        CsvWriter::create(self.file(name), header)
    }

    /// Writes `index.html` for this run (see [`write_index_html`]).
    pub fn write_index(
        &self,
        title: &str,
        summary: &[(String, String)],
        figures: &[FigureRef],
    ) -> Result<PathBuf> {
        let path = self.file(INDEX_FILE);
        write_index_html(&path, title, summary, figures)?;
        Ok(path)
    }
}

/// Reads the `summary.json` of a run directory.
pub fn read_summary(dir: &Path) -> Result<Summary> {
    read_json(&dir.join(SUMMARY_FILE))
}

// ---------------------------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------------------------

const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 (RFC 4648, with padding), for embedding images in HTML and SVG files.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(BASE64_ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A figure to show on a run page: a PNG file and its caption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FigureRef {
    /// The PNG file (embedded into the page).
    pub png: PathBuf,
    /// One or two sentences saying what the figure shows.
    pub caption: String,
}

impl FigureRef {
    /// A figure from its PNG path and caption.
    pub fn new(png: impl Into<PathBuf>, caption: impl Into<String>) -> Self {
        Self {
            png: png.into(),
            caption: caption.into(),
        }
    }
}

const PAGE_STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;\
max-width:1100px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
h1{font-size:1.6em;border-bottom:2px solid #ddd;padding-bottom:.3em}\
table{border-collapse:collapse;margin:1em 0}\
th,td{border:1px solid #ddd;padding:.3em .7em;text-align:left;vertical-align:top}\
th{background:#f4f4f4;font-weight:600}\
td.num{font-variant-numeric:tabular-nums}\
figure{margin:2em 0;padding:0}\
figure img{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{color:#444;margin-top:.4em}\
.muted{color:#777;font-size:.9em}";

fn page_head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{t}</title>\n<style>{PAGE_STYLE}</style>\n</head>\n<body>\n<h1>{t}</h1>\n",
        t = html_escape(title)
    )
}

/// Writes a self-contained HTML page (inline style, images embedded as data URIs, nothing fetched
/// from elsewhere): the title, a table of `summary` key/value pairs and every figure with its caption.
///
/// When an SVG with the same stem sits beside a PNG, the caption links to it (relative link).
pub fn write_index_html(
    path: &Path,
    title: &str,
    summary: &[(String, String)],
    figures: &[FigureRef],
) -> Result<()> {
    let mut html = page_head(title);
    if !summary.is_empty() {
        html.push_str("<table>\n");
        for (key, value) in summary {
            let _ = writeln!(
                html,
                "<tr><th>{}</th><td class=\"num\">{}</td></tr>",
                html_escape(key),
                html_escape(value)
            );
        }
        html.push_str("</table>\n");
    }
    let page_dir = path.parent().unwrap_or(Path::new(""));
    for fig in figures {
        let bytes = fs::read(&fig.png).map_err(io_err(&fig.png))?;
        let _ = write!(
            html,
            "<figure>\n<img alt=\"{alt}\" src=\"data:image/png;base64,{data}\">\n<figcaption>{alt}",
            alt = html_escape(&fig.caption),
            data = base64_encode(&bytes)
        );
        let svg = fig.png.with_extension("svg");
        if svg.is_file() {
            if let Some(rel) = relative_path(page_dir, &svg) {
                let _ = write!(
                    html,
                    " <a class=\"muted\" href=\"{}\">(SVG)</a>",
                    html_escape(&url_path(&rel))
                );
            }
        }
        html.push_str("</figcaption>\n</figure>\n");
    }
    let _ = writeln!(
        html,
        "<p class=\"muted\">Written {} by fprinciple {}.</p>\n</body>\n</html>",
        UtcTime::now().iso8601(),
        env!("CARGO_PKG_VERSION")
    );
    write_atomic(path, html.as_bytes())
}

/// One run listed in a report: where it is and what it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLink {
    /// The run directory (its `index.html` is linked).
    pub dir: PathBuf,
    /// Short name of the run.
    pub title: String,
    /// One line of results.
    pub summary: String,
}

impl RunLink {
    /// Describes a run directory from its `summary.json`: the title is the directory name and the
    /// summary line the status followed by the scalar results (`key = value`, the key's
    /// underscores as spaces, numbers in short form, booleans as yes/no).
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let summary = read_summary(dir)?;
        let mut line = summary.status.to_string();
        if let serde_json::Value::Object(map) = &summary.results {
            for (key, value) in map {
                let text = match value {
                    serde_json::Value::Number(n) => match n.as_u64() {
                        Some(whole) => whole.to_string(),
                        None => n
                            .as_f64()
                            .map_or_else(|| n.to_string(), crate::report::short),
                    },
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Bool(true) => "yes".into(),
                    serde_json::Value::Bool(false) => "no".into(),
                    _ => continue,
                };
                let _ = write!(line, "; {} = {text}", key.replace('_', " "));
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            title: dir.file_name().map_or_else(
                || summary.experiment.clone(),
                |n| n.to_string_lossy().into(),
            ),
            summary: line,
        })
    }
}

/// Writes a self-contained page linking several run directories (relative links to their
/// `index.html`), one line of summary each.
pub fn write_report_html(path: &Path, title: &str, runs: &[RunLink]) -> Result<()> {
    let page_dir = path.parent().unwrap_or(Path::new(""));
    let mut html = page_head(title);
    html.push_str("<table>\n<tr><th>run</th><th>summary</th></tr>\n");
    for run in runs {
        let target = run.dir.join(INDEX_FILE);
        let rel = relative_path(page_dir, &target).ok_or_else(|| {
            RecordError::Invalid(format!(
                "{}: no relative path from {}",
                target.display(),
                page_dir.display()
            ))
        })?;
        let _ = writeln!(
            html,
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td></tr>",
            html_escape(&url_path(&rel)),
            html_escape(&run.title),
            html_escape(&run.summary)
        );
    }
    html.push_str("</table>\n</body>\n</html>\n");
    write_atomic(path, html.as_bytes())
}

/// A relative path as a URL path: `/` separators, spaces and `%`/`#`/`?` percent-encoded.
fn url_path(rel: &Path) -> String {
    let parts: Vec<String> = rel
        .components()
        .map(|c| {
            c.as_os_str()
                .to_string_lossy()
                .replace('%', "%25")
                .replace(' ', "%20")
                .replace('#', "%23")
                .replace('?', "%3F")
        })
        .collect();
    parts.join("/")
}

/// The path of `target` relative to the directory `from`, or `None` when there is none
/// (for example different drives). Paths are made absolute against the current directory first.
pub fn relative_path(from: &Path, target: &Path) -> Option<PathBuf> {
    let absolute = |p: &Path| -> Option<PathBuf> {
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir().ok()?.join(p)
        };
        // Lexical normalisation: drop `.`, resolve `..`.
        let mut out = PathBuf::new();
        for c in p.components() {
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    out.pop();
                }
                other => out.push(other),
            }
        }
        Some(out)
    };
    let from = absolute(from)?;
    let target = absolute(target)?;
    let from_parts: Vec<Component<'_>> = from.components().collect();
    let target_parts: Vec<Component<'_>> = target.components().collect();
    let common = from_parts
        .iter()
        .zip(&target_parts)
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 {
        return None;
    }
    let mut rel = PathBuf::new();
    for _ in common..from_parts.len() {
        rel.push("..");
    }
    for c in &target_parts[common..] {
        rel.push(c);
    }
    Some(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory under the system temp dir, removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Self {
            let dir = std::env::temp_dir().join(format!(
                "fprinciple-record-{tag}-{}-{}",
                std::process::id(),
                TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn civil_dates_match_known_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        // 2038-01-19T03:14:07Z is i32::MAX seconds.
        let t = UtcTime::from_unix(i64::from(i32::MAX));
        assert_eq!(t.iso8601(), "2038-01-19T03:14:07Z");
        assert_eq!(t.compact(), "20380119-031407");
        assert_eq!(
            UtcTime::from_unix(951_782_400).iso8601(),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn civil_dates_are_consecutive() {
        // Every day over a few centuries follows the previous one.
        let mut prev = civil_from_days(-100_000);
        for d in -99_999..100_000 {
            let cur = civil_from_days(d);
            let next_in_month = cur == (prev.0, prev.1, prev.2 + 1);
            let next_month =
                cur.2 == 1 && (cur == (prev.0, prev.1 + 1, 1) || cur == (prev.0 + 1, 1, 1));
            assert!(next_in_month || next_month, "{prev:?} -> {cur:?}");
            prev = cur;
        }
    }

    #[test]
    fn iso_times_read_back() {
        let t = UtcTime::from_unix(1_700_000_000);
        assert_eq!(UtcTime::parse_iso8601(&t.iso8601()), Some(t));
        for bad in [
            "",
            "2024-13-01T00:00:00Z",
            "2024-01-01 00:00:00Z",
            "2024-01-01T00:00:0xZ",
        ] {
            assert_eq!(UtcTime::parse_iso8601(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_run_dir_reopens_with_its_config() {
        let scratch = Scratch::new("reopen");
        let dir = RunDir::create(&scratch.0, "demo").unwrap();
        dir.write_config(7, &serde_json::json!({ "steps": 3 }))
            .unwrap();
        let (path, created) = (dir.path().to_path_buf(), dir.created());
        drop(dir);
        let (again, config) = RunDir::reopen(&path).unwrap();
        assert_eq!(again.path(), path);
        assert_eq!(again.experiment(), "demo");
        assert_eq!(again.created(), created);
        assert_eq!(
            (config.seed, config.settings["steps"].as_u64()),
            (7, Some(3))
        );
        let err = RunDir::reopen(&scratch.0).unwrap_err().to_string();
        assert!(err.contains("not a run directory"), "{err}");
        let err = RunDir::reopen(&scratch.0.join("missing"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no such run directory"), "{err}");
        let err = RunDir::reopen(&path.join(CONFIG_FILE))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a directory"), "{err}");
    }

    #[test]
    fn a_run_being_written_cannot_be_reopened() {
        let scratch = Scratch::new("lock");
        let dir = RunDir::create(&scratch.0, "demo").unwrap();
        dir.write_config(1, &serde_json::json!({})).unwrap();
        let clone = dir.clone();
        drop(dir);
        // A clone still holds the lock: the run goes on.
        let err = RunDir::reopen(clone.path()).unwrap_err().to_string();
        assert!(err.contains("another fprinciple process"), "{err}");
        let path = clone.path().to_path_buf();
        drop(clone);
        let (resumed, _) = RunDir::reopen(&path).unwrap();
        // And the resumed run holds it in turn.
        let err = RunDir::reopen(&path).unwrap_err().to_string();
        assert!(err.contains("another fprinciple process"), "{err}");
        drop(resumed);
        assert!(RunDir::reopen(&path).is_ok());
    }

    #[test]
    fn run_dirs_are_not_made_under_a_file() {
        let scratch = Scratch::new("under-file");
        let file = scratch.0.join("results.txt");
        fs::write(&file, "keep").unwrap();
        for base in [file.clone(), file.join("runs")] {
            let err = RunDir::create(&base, "freq").unwrap_err().to_string();
            assert!(err.contains("results.txt is not a directory"), "{err}");
        }
        assert_eq!(fs::read_to_string(&file).unwrap(), "keep");
    }

    #[test]
    fn temporaries_are_removed_and_nothing_else() {
        let scratch = Scratch::new("temps");
        for name in [
            ".a.csv.tmp-7-1",
            ".b.json.tmp-8-2",
            "a.csv",
            ".keep",
            "c.tmp-1-1",
        ] {
            fs::write(scratch.0.join(name), "x").unwrap();
        }
        remove_temporaries(&scratch.0);
        assert_eq!(names(&scratch.0), [".keep", "a.csv", "c.tmp-1-1"]);
    }

    /// While other threads write files as fast as they can, what runs between writes (where a
    /// second Ctrl-C quits) never sees a temporary file, and every write still lands whole.
    #[test]
    fn between_writes_no_temporary_file_exists() {
        let scratch = Scratch::new("between");
        let done = std::sync::atomic::AtomicBool::new(false);
        let payload = vec![7u8; 1 << 16];
        std::thread::scope(|s| {
            for t in 0..2 {
                let (dir, done, payload) = (&scratch.0, &done, &payload);
                s.spawn(move || {
                    let path = dir.join(format!("file-{t}.bin"));
                    while !done.load(Ordering::Relaxed) {
                        write_atomic(&path, payload).unwrap();
                    }
                });
            }
            let (mut seen_files, mut seen_temporaries) = (0, 0);
            for _ in 0..300 {
                let (temporaries, files) = between_writes(|| {
                    let names = names(&scratch.0);
                    let temporaries = names.iter().filter(|n| n.contains(".tmp-")).count();
                    (temporaries, names.len())
                });
                seen_temporaries += temporaries;
                seen_files = seen_files.max(files);
                std::thread::sleep(Duration::from_micros(200));
            }
            // Stop the writers before asserting, so that a failure ends the test.
            done.store(true, Ordering::Relaxed);
            assert_eq!(seen_temporaries, 0, "temporary files between writes");
            assert!(seen_files > 0, "the writers never wrote");
        });
        for t in 0..2 {
            let written = fs::read(scratch.0.join(format!("file-{t}.bin"))).unwrap();
            assert_eq!(written, payload);
        }
    }

    #[test]
    fn reopening_removes_temporaries_of_a_killed_write() {
        let scratch = Scratch::new("stale");
        let dir = RunDir::create(&scratch.0, "demo").unwrap();
        dir.write_config(1, &serde_json::json!({})).unwrap();
        let path = dir.path().to_path_buf();
        drop(dir);
        fs::write(path.join(".metrics.csv.tmp-999-4"), "half").unwrap();
        fs::write(path.join("metrics.csv"), "step\n").unwrap();
        let _resumed = RunDir::reopen(&path).unwrap();
        assert_eq!(
            names(&path),
            [LOCK_FILE, CONFIG_FILE, "metrics.csv", SUMMARY_FILE]
        );
    }

    #[test]
    fn run_dirs_never_collide() {
        let scratch = Scratch::new("rundir");
        let base = scratch.0.join("runs");
        let a = RunDir::create(&base, "freq").unwrap();
        let b = RunDir::create(&base, "freq").unwrap();
        let c = RunDir::create(&base, "freq").unwrap();
        assert_ne!(a.path(), b.path());
        assert_ne!(b.path(), c.path());
        assert_ne!(a.path(), c.path());
        for d in [&a, &b, &c] {
            let name = d.path().file_name().unwrap().to_string_lossy().into_owned();
            assert!(name.starts_with("freq-"), "{name}");
            let s = read_summary(d.path()).unwrap();
            assert_eq!(s.status, RunStatus::Running);
        }
        assert!(RunDir::create(&base, "../escape").is_err());
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let scratch = Scratch::new("atomic");
        let path = scratch.0.join("a.txt");
        write_atomic(&path, b"first version, long").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(names(&scratch.0), vec!["a.txt".to_string()]);
        // A failing write (missing directory) leaves nothing behind either.
        assert!(write_atomic(&scratch.0.join("missing/b.txt"), b"x").is_err());
        assert_eq!(names(&scratch.0), vec!["a.txt".to_string()]);
    }

    #[test]
    fn config_and_summary_round_trip() {
        #[derive(Serialize)]
        struct Settings {
            steps: u32,
            learning_rate: f64,
        }
        let scratch = Scratch::new("config");
        let run = RunDir::create(&scratch.0, "init").unwrap();
        let path = run
            .write_config(
                7,
                &Settings {
                    steps: 100,
                    learning_rate: 1e-3,
                },
            )
            .unwrap();
        let v: serde_json::Value = read_json(&path).unwrap();
        assert_eq!(v["seed"], 7);
        assert_eq!(v["settings"]["steps"], 100);
        assert_eq!(v["build"]["crate_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(v["build"]["target_os"], std::env::consts::OS);
        assert_eq!(v["experiment"], "init");

        run.write_summary(
            RunStatus::Diverged,
            &serde_json::json!({"step": 12, "loss": "NaN"}),
        )
        .unwrap();
        let s = read_summary(run.path()).unwrap();
        assert_eq!(s.status, RunStatus::Diverged);
        assert_eq!(s.results["step"], 12);
        let text = fs::read_to_string(run.file(SUMMARY_FILE)).unwrap();
        assert!(text.contains("\"diverged\""), "{text}");
    }

    #[test]
    fn csv_is_valid_after_every_flush() {
        let scratch = Scratch::new("csv");
        let path = scratch.0.join("metrics.csv");
        let mut csv = CsvWriter::create(&path, &["step", "loss", "note"])
            .unwrap()
            .with_flush_interval(None);
        assert_eq!(fs::read_to_string(&path).unwrap(), "step,loss,note\n");
        csv.push(&[1usize.into(), 0.5.into(), "a, \"b\"".into()])
            .unwrap();
        csv.push(&[2usize.into(), 1e-7.into(), Cell::Text("")])
            .unwrap();
        // Not flushed yet: the file still holds the header only, and is valid.
        assert_eq!(fs::read_to_string(&path).unwrap(), "step,loss,note\n");
        csv.flush().unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "step,loss,note\n1,0.5,\"a, \"\"b\"\"\"\n2,1e-7,\n"
        );
        assert!(csv.push_numbers(&[1.0]).is_err());
        csv.push_numbers(&[3.0, f64::NAN, f64::INFINITY]).unwrap();
        let path = csv.finish().unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("3,NaN,inf\n"), "{text}");
        assert_eq!(names(&scratch.0), vec!["metrics.csv".to_string()]);
    }

    #[test]
    fn csv_flushes_on_its_own() {
        let scratch = Scratch::new("csvauto");
        let path = scratch.0.join("m.csv");
        let mut csv = CsvWriter::create(&path, &["x"])
            .unwrap()
            .with_flush_interval(Some(Duration::ZERO));
        csv.push_numbers(&[0.25]).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "x\n0.25\n");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64_encode(plain.as_bytes()), encoded);
        }
        assert_eq!(base64_encode(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn relative_paths() {
        let rel = |a: &str, b: &str| relative_path(Path::new(a), Path::new(b)).unwrap();
        assert_eq!(
            rel("/r", "/r/run-1/index.html"),
            Path::new("run-1/index.html")
        );
        assert_eq!(rel("/r/a", "/r/b/x"), Path::new("../b/x"));
        assert_eq!(rel("/r/./a/../a", "/r/a/x"), Path::new("x"));
    }

    #[test]
    fn html_pages_embed_figures_and_link_runs() {
        let scratch = Scratch::new("html");
        let run = RunDir::create(&scratch.0, "image").unwrap();
        let png = run.file("fig.png");
        let pixels = image::RgbImage::from_pixel(4, 3, image::Rgb([200, 10, 10]));
        pixels.save(&png).unwrap();
        fs::write(run.file("fig.svg"), "<svg></svg>").unwrap();
        let page = run
            .write_index(
                "Image <run>",
                &[("test MSE".into(), "0.002".into())],
                &[FigureRef::new(&png, "Output & target")],
            )
            .unwrap();
        let html = fs::read_to_string(&page).unwrap();
        let encoded = base64_encode(&fs::read(&png).unwrap());
        assert!(html.contains(&format!("data:image/png;base64,{encoded}")));
        assert!(html.contains("Image &lt;run&gt;"));
        assert!(html.contains("Output &amp; target"));
        assert!(html.contains("href=\"fig.svg\""));
        assert!(html.contains("<td class=\"num\">0.002</td>"));
        assert!(!html.contains("http://") && !html.contains("https://"));

        run.write_summary(
            RunStatus::Completed,
            &serde_json::json!({
                "test_mse": 0.002,
                "final_train_loss": 0.000_392_113_724_956_288_93,
                "steps": 9937,
                "low_to_high": true,
                "curve": [1, 2]
            }),
        )
        .unwrap();
        let link = RunLink::from_dir(run.path()).unwrap();
        assert_eq!(
            link.summary,
            "completed; final train loss = 3.921e-4; low to high = yes; steps = 9937; test mse = 2.000e-3"
        );
        let report = scratch.0.join("report.html");
        write_report_html(&report, "All runs", &[link]).unwrap();
        let html = fs::read_to_string(&report).unwrap();
        let name = run.path().file_name().unwrap().to_string_lossy();
        assert!(
            html.contains(&format!("href=\"{name}/index.html\"")),
            "{html}"
        );
    }
}
