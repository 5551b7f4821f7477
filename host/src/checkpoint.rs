//! Checkpoints: everything that decides the rest of a long run, in one file, so a stopped run
//! continues to the same numbers as one that never stopped.
//!
//! A checkpoint holds the network parameters, the optimizer state, the random generator, the
//! position in the run and every measurement so far (so the resumed run's figures and summary
//! are complete). What goes in is up to each experiment: any serde type; this module owns the
//! file around it.
//!
//! # File format, version 3
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `FPCKPT` `\r\n` |
//! | 4 | format version (`u32`, little-endian) |
//! | … | the experiment's name (a string), then its state, both in [postcard] |
//! | 8 | FNV-1a 64 of every byte before it (`u64`, little-endian) |
//!
//! [postcard] writes a struct as its fields in declaration order, without names; an integer
//! wider than a byte as a varint, a sequence or string as its varint length and its items, an
//! `Option` as a `0`/`1` byte and the value, an enum as its variant's index and the variant's
//! fields; and every `f32`/`f64` as its little-endian bytes, so values come back bit for bit
//! (NaN payloads and ∞ included, which JSON cannot carry). The types saved here must therefore
//! keep to what a format without field names can read back: no `skip_serializing_if`, no
//! `flatten`, no internally tagged or untagged enums; and changing a saved type's fields
//! changes the format, so [`VERSION`] goes up with it.
//!
//! Reading checks the magic, the checksum, the version and the name before the state, and
//! refuses anything else with a message that says what is wrong: a damaged or truncated file
//! is an error, never a panic. Postcard gives serde no sequence length beyond the bytes left, and
//! serde reserves at most 1 MiB ahead for a sequence, so a file with a lying length (even with
//! its checksum fixed up) costs at most a few MiB and a small multiple of its own size to
//! refuse (`host/tests/corpus.rs` measures it).
//!
//! [postcard]: https://docs.rs/postcard

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::network::AnyOptimizer;
use crate::record::write_atomic;

/// Name of the checkpoint file in a run directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.bin";

/// The first bytes of every checkpoint (the line break catches text-mode mangling).
pub const MAGIC: [u8; 8] = *b"FPCKPT\r\n";

/// The format version this build writes and reads. Version 1 was a hand-written encoding of the
/// same states; version 2 is postcard; version 3 stores each layer's weight `inputs × outputs`
/// (see `fprinciple_core::dense`), where 2 stored it `outputs × inputs`.
pub const VERSION: u32 = 3;

/// Bytes of the version field.
const VERSION_LEN: usize = 4;

/// Bytes of the checksum at the end.
const SUM_LEN: usize = 8;

/// Why a checkpoint could not be written, read or used.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The file could not be written or read.
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        message: String,
    },
    /// The state could not be turned into bytes.
    Encode(String),
    /// The bytes are not a usable checkpoint (damaged, truncated, another format).
    Damaged(String),
    /// A checkpoint of another format version (written by another version of fprinciple).
    Version(u32),
    /// The checkpoint is sound but does not belong to this run (other settings, data or
    /// experiment).
    Mismatch(String),
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, message } => write!(f, "{}: {message}", path.display()),
            Self::Encode(why) => write!(f, "cannot encode the checkpoint: {why}"),
            Self::Damaged(why) => write!(f, "damaged checkpoint: {why}"),
            Self::Version(found) => write!(
                f,
                "unsupported checkpoint: format version {found}; this build reads version \
                 {VERSION} (it was written by another version of fprinciple: start the run again)"
            ),
            Self::Mismatch(why) => write!(f, "the checkpoint does not fit this run: {why}"),
        }
    }
}

impl std::error::Error for CheckpointError {}

fn damaged(why: impl Into<String>) -> CheckpointError {
    CheckpointError::Damaged(why.into())
}

/// The result type of reading and writing checkpoints.
pub type Result<T, E = CheckpointError> = std::result::Result<T, E>;

/// What is wrong with bytes that passed the checksum but do not decode as `what` (only a file
/// made or edited on purpose gets here: damage is caught by the checksum).
fn undecodable(what: &str, error: &postcard::Error) -> CheckpointError {
    use postcard::Error as E;
    let why = match error {
        E::DeserializeUnexpectedEnd => "it ends early".to_string(),
        E::DeserializeBadVarint => "a malformed integer, or one too large for its field".into(),
        E::DeserializeBadBool => "a byte other than 0 or 1 where a flag belongs".into(),
        E::DeserializeBadOption => "a byte other than 0 or 1 where an optional value begins".into(),
        E::DeserializeBadUtf8 | E::DeserializeBadChar => "text that is not UTF-8".into(),
        E::DeserializeBadEnum | E::SerdeDeCustom => {
            "a value its type cannot hold (such as an unknown optimizer kind)".into()
        }
        other => other.to_string(),
    };
    damaged(format!("{what} does not decode: {why}"))
}

/// FNV-1a 64 (Fowler, Noll, Vo): a checksum that catches damaged bytes, not tampering.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    Fingerprint::default().bytes(bytes).value()
}

/// The bytes of a checkpoint of `experiment` holding `state`.
pub fn to_bytes<S: Serialize + ?Sized>(experiment: &str, state: &S) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(MAGIC.len() + VERSION_LEN + SUM_LEN + 64);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    let encode_error = |e: postcard::Error| CheckpointError::Encode(e.to_string());
    let out = postcard::to_extend(experiment, out).map_err(encode_error)?;
    let mut out = postcard::to_extend(state, out).map_err(encode_error)?;
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    Ok(out)
}

/// The state in the bytes of a checkpoint of `experiment`; anything else is refused.
pub fn from_bytes<S: DeserializeOwned>(bytes: &[u8], experiment: &str) -> Result<S> {
    let Some(rest) = bytes.strip_prefix(&MAGIC) else {
        return Err(damaged("not a fprinciple checkpoint (wrong first bytes)"));
    };
    let sealed = rest
        .len()
        .checked_sub(SUM_LEN)
        .filter(|&body| body >= VERSION_LEN)
        .map(|body| rest.split_at(body));
    let Some((body, sum)) = sealed else {
        return Err(damaged(format!(
            "it is truncated ({} bytes, fewer than the {} of its header and checksum)",
            bytes.len(),
            MAGIC.len() + VERSION_LEN + SUM_LEN
        )));
    };
    let mut sum_bytes = [0; SUM_LEN];
    sum_bytes.copy_from_slice(sum);
    if fnv1a(&bytes[..MAGIC.len() + body.len()]) != u64::from_le_bytes(sum_bytes) {
        return Err(damaged(
            "its checksum does not match (the file is truncated or altered)",
        ));
    }
    let (version, payload) = body.split_at(VERSION_LEN);
    let mut version_bytes = [0; VERSION_LEN];
    version_bytes.copy_from_slice(version);
    let version = u32::from_le_bytes(version_bytes);
    if version != VERSION {
        return Err(CheckpointError::Version(version));
    }
    let (name, payload) = postcard::take_from_bytes::<&str>(payload)
        .map_err(|e| undecodable("the experiment's name", &e))?;
    if name != experiment {
        return Err(CheckpointError::Mismatch(format!(
            "it belongs to the {} experiment, not to {experiment}",
            shown_name(name)
        )));
    }
    let (state, left) = postcard::take_from_bytes::<S>(payload)
        .map_err(|e| undecodable(&format!("the {experiment} state"), &e))?;
    if !left.is_empty() {
        return Err(damaged(format!(
            "{} unexpected bytes after the state",
            left.len()
        )));
    }
    Ok(state)
}

/// An experiment's name read from a file, fit for a message: as it is when it looks like a
/// name, otherwise quoted with escapes and cut short.
fn shown_name(name: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if !name.is_empty() && name.len() <= 40 && name.chars().all(plain) {
        return name.to_string();
    }
    let head: String = name.chars().take(40).collect();
    let cut = if head.len() < name.len() { "…" } else { "" };
    format!("{head:?}{cut}")
}

/// Writes a checkpoint atomically: a stop at any moment leaves the previous checkpoint or the
/// new one, never a mix.
pub fn write<S: Serialize + ?Sized>(path: &Path, experiment: &str, state: &S) -> Result<()> {
    write_atomic(path, &to_bytes(experiment, state)?).map_err(|e| CheckpointError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Reads the checkpoint of `experiment` at `path`.
pub fn read<S: DeserializeOwned>(path: &Path, experiment: &str) -> Result<S> {
    let bytes = std::fs::read(path).map_err(|e| CheckpointError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    from_bytes(&bytes, experiment)
}

/// Why a checkpoint saved with the settings `saved` (JSON) does not fit the settings `now`:
/// the settings that differ, by name.
pub fn settings_differ(saved: &str, now: &str) -> String {
    let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
    let names: Vec<String> = match (parse(saved), parse(now)) {
        (Some(serde_json::Value::Object(a)), Some(serde_json::Value::Object(b))) => a
            .keys()
            .chain(b.keys().filter(|k| !a.contains_key(*k)))
            .filter(|k| a.get(*k) != b.get(*k))
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    if names.is_empty() {
        "it was saved with other settings".into()
    } else {
        format!(
            "it was saved with other settings ({} differ)",
            names.join(", ")
        )
    }
}

/// How a caller drives a long run from outside: when to stop, where checkpoints go, and which
/// saved state to continue from.
pub struct Control<'a, S> {
    /// Polled at every step (image) or epoch (MNIST) boundary: `true` stops the run there; it
    /// then hands its state to `checkpoint` and returns its results so far, marked
    /// interrupted.
    pub stop: &'a dyn Fn() -> bool,
    /// Checkpoint interval, in the experiment's unit (steps for the image, epochs for MNIST);
    /// a checkpoint is also taken when a run stops, between two runs of a sweep and at the end.
    pub every: u32,
    /// Receives the state at every checkpoint (usually [`write()`]s it).
    pub checkpoint: &'a mut dyn FnMut(&S) -> Result<()>,
    /// A state saved by an earlier part of this run, to continue from.
    pub resume: Option<S>,
}

impl<S> fmt::Debug for Control<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Control")
            .field("every", &self.every)
            .field("resume", &self.resume.is_some())
            .finish_non_exhaustive()
    }
}

/// What one run of a sweep (one σ of the image experiment, one gain of MNIST) is handed:
/// when to stop, and where its state goes at each checkpoint.
pub struct RunDriver<'a, S> {
    /// Polled at every step or epoch boundary: `true` stops the run there.
    pub stop: &'a dyn Fn() -> bool,
    /// Checkpoint interval, in the experiment's unit (steps or epochs).
    pub every: u32,
    /// Receives the run's state at every checkpoint.
    pub save: &'a mut dyn FnMut(S) -> Result<()>,
}

/// How one run of a sweep ended, with its measurements.
#[derive(Debug)]
pub enum RunEnd<R> {
    /// Every step (or epoch) was taken.
    Finished(R),
    /// Stopped part-way: the measurements so far.
    Stopped(R),
}

/// The state of an optimizer: Adam's step count and moments, or SGD's velocity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OptimizerState {
    /// Adam.
    Adam {
        /// Steps taken (the bias correction's `t`).
        steps: u32,
        /// First moments.
        first_moment: Vec<f32>,
        /// Second moments.
        second_moment: Vec<f32>,
    },
    /// SGD with momentum.
    Sgd {
        /// Velocity.
        velocity: Vec<f32>,
    },
}

impl OptimizerState {
    /// A copy of `optimizer`'s state.
    pub fn capture(optimizer: &AnyOptimizer) -> Self {
        match optimizer {
            AnyOptimizer::Adam(adam) => {
                let (steps, m, v) = adam.state();
                OptimizerState::Adam {
                    steps,
                    first_moment: m.to_vec(),
                    second_moment: v.to_vec(),
                }
            }
            AnyOptimizer::Sgd(sgd) => OptimizerState::Sgd {
                velocity: sgd.velocity().to_vec(),
            },
        }
    }

    /// Puts this state into `optimizer`, which must be of the same kind and size (its
    /// learning rate comes from the settings, not from here).
    pub fn restore(&self, optimizer: &mut AnyOptimizer) -> Result<()> {
        let mismatch = |why: String| Err(CheckpointError::Mismatch(why));
        match (self, optimizer) {
            (
                OptimizerState::Adam {
                    steps,
                    first_moment,
                    second_moment,
                },
                AnyOptimizer::Adam(adam),
            ) => adam
                .restore(*steps, first_moment, second_moment)
                .map_err(|e| CheckpointError::Mismatch(format!("Adam state: {e}"))),
            (OptimizerState::Sgd { velocity }, AnyOptimizer::Sgd(sgd)) => {
                let target = sgd.velocity_mut();
                if target.len() != velocity.len() {
                    return mismatch(format!(
                        "SGD velocity of {} values for {} parameters",
                        velocity.len(),
                        target.len()
                    ));
                }
                target.copy_from_slice(velocity);
                Ok(())
            }
            (state, optimizer) => mismatch(format!(
                "a saved {} state for a {} optimizer",
                state.kind(),
                match optimizer {
                    AnyOptimizer::Adam(_) => "Adam",
                    AnyOptimizer::Sgd(_) => "SGD",
                }
            )),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            OptimizerState::Adam { .. } => "Adam",
            OptimizerState::Sgd { .. } => "SGD",
        }
    }
}

/// An FNV-1a 64 fingerprint of data, fed piece by piece: a resumed run checks that it sees the
/// same data as the run it continues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint(u64);

impl Default for Fingerprint {
    fn default() -> Self {
        Fingerprint(FNV_OFFSET)
    }
}

impl Fingerprint {
    /// Adds bytes.
    pub fn bytes(mut self, bytes: &[u8]) -> Self {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
        self
    }

    /// Adds `f32` values by their bits.
    pub fn floats(self, values: &[f32]) -> Self {
        values.iter().fold(self, |f, v| f.bytes(&v.to_le_bytes()))
    }

    /// The fingerprint so far.
    pub fn value(self) -> u64 {
        self.0
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

#[cfg(test)]
mod tests {
    use super::*;
    use fprinciple_core::optim::Optimizer as _;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Sample {
        values: Vec<f32>,
        wide: Vec<f64>,
        label: String,
        pending: Option<(u64, bool)>,
        counts: Vec<usize>,
        optimizer: OptimizerState,
    }

    fn sample() -> Sample {
        Sample {
            values: vec![
                0.1,
                -0.0,
                f32::NAN,
                -f32::NAN,
                f32::from_bits(0x7fa0_0001), // a signalling NaN with a payload
                f32::INFINITY,
                f32::MIN_POSITIVE / 3.0,
            ],
            wide: vec![f64::from_bits(0xfff8_0000_dead_beef), -0.0, 1e300],
            label: "σ = 0.1".into(),
            pending: Some((u64::MAX, true)),
            counts: vec![0, 1, 127, 128, usize::MAX],
            optimizer: OptimizerState::Sgd {
                velocity: vec![1.5, f32::NEG_INFINITY],
            },
        }
    }

    /// Makes `bytes` (a checkpoint whose payload was edited) pass the checksum again.
    fn reseal(bytes: &mut [u8]) {
        let body = bytes.len() - SUM_LEN;
        let sum = fnv1a(&bytes[..body]);
        bytes[body..].copy_from_slice(&sum.to_le_bytes());
    }

    /// A sealed checkpoint of the `test` experiment with `payload` after the name.
    fn sealed(version: u32, payload: &[u8]) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&version.to_le_bytes());
        bytes.extend_from_slice(&postcard::to_allocvec("test").unwrap());
        bytes.extend_from_slice(payload);
        bytes.extend_from_slice(&[0; SUM_LEN]);
        reseal(&mut bytes);
        bytes
    }

    fn damage(bytes: &[u8]) -> String {
        match from_bytes::<Sample>(bytes, "test") {
            Err(CheckpointError::Damaged(why)) => why,
            other => panic!("expected a damaged checkpoint, got {other:?}"),
        }
    }

    #[test]
    fn values_come_back_bit_for_bit() {
        let bytes = to_bytes("test", &sample()).unwrap();
        let back: Sample = from_bytes(&bytes, "test").unwrap();
        let bits = |s: &Sample| s.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let wide_bits = |s: &Sample| s.wide.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&sample()));
        assert_eq!(wide_bits(&back), wide_bits(&sample()));
        assert_eq!(back.label, "σ = 0.1");
        assert_eq!(back.pending, Some((u64::MAX, true)));
        assert_eq!(back.counts, sample().counts);
        // The velocity holds no NaN, so `==` compares it exactly.
        assert_eq!(back.optimizer, sample().optimizer);
    }

    #[test]
    fn the_file_starts_with_its_header_and_ends_with_its_checksum() {
        let bytes = to_bytes("test", &sample()).unwrap();
        assert_eq!(bytes[..8], MAGIC);
        assert_eq!(bytes[8..12], 3u32.to_le_bytes());
        assert_eq!(bytes[12..17], *b"\x04test");
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        assert_eq!(sum, fnv1a(body).to_le_bytes());
    }

    #[test]
    fn damage_is_an_error_that_says_so() {
        let bytes = to_bytes("test", &sample()).unwrap();
        for cut in 0..bytes.len() {
            let why = damage(&bytes[..cut]);
            assert!(
                why.contains("truncated") || why.contains("first bytes"),
                "{cut}: {why}"
            );
        }
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[i] ^= 1 << bit;
                damage(&flipped);
            }
        }
        let err = from_bytes::<Sample>(&bytes, "other").unwrap_err();
        assert!(err.to_string().contains("test experiment"), "{err}");
        let odd = to_bytes("line\nbreak", &sample()).unwrap();
        let err = from_bytes::<Sample>(&odd, "test").unwrap_err();
        assert!(
            err.to_string().contains("the \"line\\nbreak\" experiment"),
            "{err}"
        );
        assert_eq!(
            damage(b"steps=20\n"),
            "not a fprinciple checkpoint (wrong first bytes)"
        );
    }

    #[test]
    fn another_format_version_is_refused_by_number() {
        // A version 1 file: the same header and checksum around another encoding.
        let err = from_bytes::<Sample>(&sealed(1, &[1, 2, 3]), "test").unwrap_err();
        assert_eq!(err, CheckpointError::Version(1));
        assert!(
            err.to_string().starts_with(
                "unsupported checkpoint: format version 1; this build reads version 3"
            ),
            "{err}"
        );
        // A version 2 file: the same encoding, its weights laid out the other way.
        let err = from_bytes::<Sample>(&sealed(2, &[1, 2, 3]), "test").unwrap_err();
        assert_eq!(err, CheckpointError::Version(2));
        let err = from_bytes::<Sample>(&sealed(u32::MAX, &[]), "test").unwrap_err();
        assert!(
            err.to_string().contains("format version 4294967295;"),
            "{err}"
        );
        // The checksum comes first: a flipped version bit is damage, not another version.
        let mut flipped = sealed(VERSION, &[]);
        flipped[8] ^= 1;
        assert!(damage(&flipped).contains("checksum"));
    }

    #[test]
    fn resealed_nonsense_is_refused_with_its_reason() {
        // Files whose checksum was fixed up after an edit: only decoding can tell.
        let good = to_bytes("test", &sample()).unwrap();
        let mut longer = good.clone();
        longer.splice(good.len() - SUM_LEN..good.len() - SUM_LEN, [0, 0, 0]);
        reseal(&mut longer);
        assert_eq!(damage(&longer), "3 unexpected bytes after the state");
        let mut shorter = good.clone();
        shorter.drain(good.len() - SUM_LEN - 3..good.len() - SUM_LEN);
        reseal(&mut shorter);
        assert!(damage(&shorter).ends_with("does not decode: it ends early"));
        let why = damage(&sealed(VERSION, &[]));
        assert_eq!(why, "the test state does not decode: it ends early");
        // A flag of 2, an optimizer kind of 7, a name that is not UTF-8.
        let mut payload = postcard::to_allocvec(&sample()).unwrap();
        let flag = payload.len() - 4 * 2 - 1 - 1; // before `velocity`'s 2 floats and length
        assert_eq!(payload[flag], 1, "the SGD kind");
        payload[flag] = 7;
        assert!(damage(&sealed(VERSION, &payload)).contains("unknown optimizer kind"));
        let mut bytes = sealed(VERSION, &[]);
        bytes[13] = 0xff;
        reseal(&mut bytes);
        assert!(damage(&bytes).contains("name does not decode: text that is not UTF-8"));
    }

    #[test]
    fn lengths_beyond_the_file_are_refused_before_allocating() {
        // `values` claims u64::MAX floats, then 2⁶³ and 2³² with a few bytes behind them: the
        // decoder stops at the end of the bytes, having reserved no more than they can hold.
        for claim in [u64::MAX, 1 << 63, 1 << 32, 3] {
            let mut payload = postcard::to_allocvec(&claim).unwrap();
            payload.extend_from_slice(&1.0f32.to_le_bytes());
            let why = damage(&sealed(VERSION, &payload));
            assert!(
                why.ends_with("ends early") || why.contains("too large for its field"),
                "{claim}: {why}"
            );
        }
    }

    #[test]
    fn differing_settings_are_named() {
        let why = settings_differ(r#"{"steps": 20, "size": 8}"#, r#"{"steps": 21, "size": 8}"#);
        assert_eq!(why, "it was saved with other settings (steps differ)");
        let why = settings_differ("{}", "not json");
        assert_eq!(why, "it was saved with other settings");
    }

    #[test]
    fn optimizer_state_restores_only_into_the_same_kind_and_size() {
        use crate::network::OptimizerConfig;
        let adam = OptimizerConfig::Adam {
            learning_rate: 1e-3,
        };
        let sgd = OptimizerConfig::Sgd {
            learning_rate: 1e-3,
            momentum: 0.9,
        };
        let mut a = adam.build(3).unwrap();
        let mut params = [1.0f32, 2.0, 3.0];
        a.step(&mut params, &[0.5, -0.5, 0.25]).unwrap();
        let state = OptimizerState::capture(&a);
        let mut b = adam.build(3).unwrap();
        state.restore(&mut b).unwrap();
        assert_eq!(OptimizerState::capture(&b), state);
        assert!(state.restore(&mut adam.build(4).unwrap()).is_err());
        assert!(state.restore(&mut sgd.build(3).unwrap()).is_err());
        let back: OptimizerState = from_bytes(&to_bytes("test", &state).unwrap(), "test").unwrap();
        assert_eq!(back, state);
    }
}
