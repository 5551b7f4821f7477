//! Checkpoints: everything that decides the rest of a long run, in one file, so a stopped run
//! continues to the same numbers as one that never stopped.
//!
//! A checkpoint holds the network parameters, the optimizer state, the random generator, the
//! position in the run and every measurement so far (so the resumed run's figures and summary
//! are complete). What goes in is up to each experiment ([`Encode`] / [`Decode`]); this module
//! owns the file around it.
//!
//! # File format, version 1
//!
//! Binary, every number little-endian, so `f32` values come back bit for bit (NaN and ∞
//! included, which JSON cannot carry):
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `FPCKPT` `\r\n` |
//! | 4 | format version (`u32`) |
//! | 8 + n | the experiment's name (`u64` length, UTF-8) |
//! | … | the experiment's state ([`Encode`]) |
//! | 8 | FNV-1a 64 of every byte before it |
//!
//! A sequence is its `u64` length and its items; an `Option` a `0`/`1` byte and the value.
//! Reading checks the magic, the checksum, the version and the name before the state, and
//! refuses anything else with a message that says what is wrong: a damaged or truncated file
//! is an error, never a panic, and never a huge allocation (no length may exceed the bytes
//! left).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::network::AnyOptimizer;
use crate::record::write_atomic;

/// Name of the checkpoint file in a run directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.bin";

/// The first bytes of every checkpoint (the line break catches text-mode mangling).
pub const MAGIC: [u8; 8] = *b"FPCKPT\r\n";

/// The format version this build writes and reads.
pub const VERSION: u32 = 1;

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
    /// The bytes are not a usable checkpoint (damaged, truncated, another format or version).
    Damaged(String),
    /// The checkpoint is sound but does not belong to this run (other settings, data or
    /// experiment).
    Mismatch(String),
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, message } => write!(f, "{}: {message}", path.display()),
            Self::Damaged(why) => write!(f, "damaged checkpoint: {why}"),
            Self::Mismatch(why) => write!(f, "the checkpoint does not fit this run: {why}"),
        }
    }
}

impl std::error::Error for CheckpointError {}

fn damaged(why: impl Into<String>) -> CheckpointError {
    CheckpointError::Damaged(why.into())
}

/// The result type of decoding.
pub type Result<T, E = CheckpointError> = std::result::Result<T, E>;

/// A value that can be written into a checkpoint.
pub trait Encode {
    /// Appends the value's bytes.
    fn encode(&self, out: &mut Encoder);
}

/// A value that can be read back from a checkpoint.
pub trait Decode: Sized {
    /// Reads the value written by [`Encode::encode`].
    fn decode(input: &mut Decoder<'_>) -> Result<Self>;
}

/// Collects the bytes of a checkpoint.
#[derive(Debug, Default)]
pub struct Encoder {
    bytes: Vec<u8>,
}

impl Encoder {
    /// Appends raw bytes.
    pub fn put_bytes(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    /// Appends any encodable value.
    pub fn put<T: Encode + ?Sized>(&mut self, value: &T) {
        value.encode(self);
    }
}

/// Reads the bytes of a checkpoint front to back; every read checks the bytes left.
#[derive(Debug)]
pub struct Decoder<'a> {
    bytes: &'a [u8],
}

impl<'a> Decoder<'a> {
    /// A decoder over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Decoder { bytes }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.bytes.len() {
            return Err(damaged(format!(
                "it ends early ({n} bytes needed, {} left)",
                self.bytes.len()
            )));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Reads any decodable value.
    pub fn get<T: Decode>(&mut self) -> Result<T> {
        T::decode(self)
    }

    /// A sequence length, refused when it claims more items than bytes left (every item
    /// takes at least one byte), so a damaged length cannot trigger a huge allocation.
    pub fn length(&mut self) -> Result<usize> {
        let n = u64::decode(self)?;
        match usize::try_from(n) {
            Ok(n) if n <= self.bytes.len() => Ok(n),
            _ => Err(damaged(format!(
                "a length of {n} items with only {} bytes left",
                self.bytes.len()
            ))),
        }
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<()> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(damaged(format!(
                "{} unexpected bytes after the state",
                self.bytes.len()
            )))
        }
    }
}

macro_rules! le_number {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn encode(&self, out: &mut Encoder) {
                out.put_bytes(&self.to_le_bytes());
            }
        }
        impl Decode for $t {
            fn decode(input: &mut Decoder<'_>) -> Result<Self> {
                Ok(<$t>::from_le_bytes(input.array()?))
            }
        }
    )*};
}

le_number!(u8, u32, u64, f32, f64);

impl Encode for usize {
    fn encode(&self, out: &mut Encoder) {
        (*self as u64).encode(out);
    }
}

impl Decode for usize {
    fn decode(input: &mut Decoder<'_>) -> Result<Self> {
        let n = u64::decode(input)?;
        usize::try_from(n).map_err(|_| damaged(format!("{n} does not fit this machine's usize")))
    }
}

impl Encode for bool {
    fn encode(&self, out: &mut Encoder) {
        u8::from(*self).encode(out);
    }
}

impl Decode for bool {
    fn decode(input: &mut Decoder<'_>) -> Result<Self> {
        match u8::decode(input)? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(damaged(format!("{b} where a flag (0 or 1) belongs"))),
        }
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, out: &mut Encoder) {
        match self {
            None => out.put(&false),
            Some(v) => {
                out.put(&true);
                out.put(v);
            }
        }
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(input: &mut Decoder<'_>) -> Result<Self> {
        Ok(if bool::decode(input)? {
            Some(T::decode(input)?)
        } else {
            None
        })
    }
}

impl<T: Encode> Encode for [T] {
    fn encode(&self, out: &mut Encoder) {
        self.len().encode(out);
        for item in self {
            item.encode(out);
        }
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, out: &mut Encoder) {
        self.as_slice().encode(out);
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(input: &mut Decoder<'_>) -> Result<Self> {
        let n = input.length()?;
        (0..n).map(|_| T::decode(input)).collect()
    }
}

impl Encode for str {
    fn encode(&self, out: &mut Encoder) {
        self.len().encode(out);
        out.put_bytes(self.as_bytes());
    }
}

impl Encode for String {
    fn encode(&self, out: &mut Encoder) {
        self.as_str().encode(out);
    }
}

impl Decode for String {
    fn decode(input: &mut Decoder<'_>) -> Result<Self> {
        let n = input.length()?;
        String::from_utf8(input.take(n)?.to_vec()).map_err(|_| damaged("text that is not UTF-8"))
    }
}

impl<A: Encode, B: Encode> Encode for (A, B) {
    fn encode(&self, out: &mut Encoder) {
        out.put(&self.0);
        out.put(&self.1);
    }
}

impl<A: Decode, B: Decode> Decode for (A, B) {
    fn decode(input: &mut Decoder<'_>) -> Result<Self> {
        Ok((input.get()?, input.get()?))
    }
}

/// FNV-1a 64 (Fowler, Noll, Vo): a checksum that catches damaged bytes, not tampering.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    Fingerprint::default().bytes(bytes).value()
}

/// The bytes of a checkpoint of `experiment` holding `state`.
pub fn to_bytes<S: Encode>(experiment: &str, state: &S) -> Vec<u8> {
    let mut out = Encoder::default();
    out.put_bytes(&MAGIC);
    out.put(&VERSION);
    out.put(experiment);
    out.put(state);
    let sum = fnv1a(&out.bytes);
    out.put(&sum);
    out.bytes
}

/// The state in the bytes of a checkpoint of `experiment`; anything else is refused.
pub fn from_bytes<S: Decode>(bytes: &[u8], experiment: &str) -> Result<S> {
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(damaged("not a fprinciple checkpoint (wrong first bytes)"));
    }
    let Some(body_len) = bytes.len().checked_sub(8) else {
        return Err(damaged("too short"));
    };
    let (body, sum) = bytes.split_at(body_len);
    let mut sum_bytes = [0; 8];
    sum_bytes.copy_from_slice(sum);
    if body.len() < MAGIC.len() + 4 || fnv1a(body) != u64::from_le_bytes(sum_bytes) {
        return Err(damaged(
            "its checksum does not match (the file is truncated or altered)",
        ));
    }
    let mut input = Decoder::new(&body[MAGIC.len()..]);
    let version: u32 = input.get()?;
    if version != VERSION {
        return Err(damaged(format!(
            "format version {version}; this build reads version {VERSION}"
        )));
    }
    let name: String = input.get()?;
    if name != experiment {
        return Err(CheckpointError::Mismatch(format!(
            "it belongs to the {name} experiment, not to {experiment}"
        )));
    }
    let state = S::decode(&mut input)?;
    input.finish()?;
    Ok(state)
}

/// Writes a checkpoint atomically: a stop at any moment leaves the previous checkpoint or the
/// new one, never a mix.
pub fn write<S: Encode>(path: &Path, experiment: &str, state: &S) -> Result<()> {
    write_atomic(path, &to_bytes(experiment, state)).map_err(|e| CheckpointError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Reads the checkpoint of `experiment` at `path`.
pub fn read<S: Decode>(path: &Path, experiment: &str) -> Result<S> {
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

/// The state of an optimizer: Adam's step count and moments, or SGD's velocity.
#[derive(Debug, Clone, PartialEq)]
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

impl Encode for OptimizerState {
    fn encode(&self, out: &mut Encoder) {
        match self {
            OptimizerState::Adam {
                steps,
                first_moment,
                second_moment,
            } => {
                out.put(&0u8);
                out.put(steps);
                out.put(first_moment);
                out.put(second_moment);
            }
            OptimizerState::Sgd { velocity } => {
                out.put(&1u8);
                out.put(velocity);
            }
        }
    }
}

impl Decode for OptimizerState {
    fn decode(input: &mut Decoder<'_>) -> Result<Self> {
        match input.get::<u8>()? {
            0 => Ok(OptimizerState::Adam {
                steps: input.get()?,
                first_moment: input.get()?,
                second_moment: input.get()?,
            }),
            1 => Ok(OptimizerState::Sgd {
                velocity: input.get()?,
            }),
            k => Err(damaged(format!("unknown optimizer kind {k}"))),
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

    #[derive(Debug, PartialEq)]
    struct Sample {
        values: Vec<f32>,
        label: String,
        pending: Option<(u64, bool)>,
    }

    impl Encode for Sample {
        fn encode(&self, out: &mut Encoder) {
            out.put(&self.values);
            out.put(&self.label);
            out.put(&self.pending);
        }
    }

    impl Decode for Sample {
        fn decode(input: &mut Decoder<'_>) -> Result<Self> {
            Ok(Sample {
                values: input.get()?,
                label: input.get()?,
                pending: input.get()?,
            })
        }
    }

    fn sample() -> Sample {
        Sample {
            values: vec![0.1, -0.0, f32::NAN, f32::INFINITY, f32::MIN_POSITIVE / 3.0],
            label: "σ = 0.1".into(),
            pending: Some((u64::MAX, true)),
        }
    }

    #[test]
    fn values_come_back_bit_for_bit() {
        let bytes = to_bytes("test", &sample());
        let back: Sample = from_bytes(&bytes, "test").unwrap();
        let bits = |s: &Sample| s.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back), bits(&sample()));
        assert_eq!(back.label, "σ = 0.1");
        assert_eq!(back.pending, Some((u64::MAX, true)));
    }

    #[test]
    fn damage_is_an_error_that_says_so() {
        let bytes = to_bytes("test", &sample());
        for cut in 0..bytes.len() {
            let err = from_bytes::<Sample>(&bytes[..cut], "test").unwrap_err();
            assert!(matches!(err, CheckpointError::Damaged(_)), "{cut}: {err}");
        }
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x20;
            let err = from_bytes::<Sample>(&flipped, "test").unwrap_err();
            assert!(matches!(err, CheckpointError::Damaged(_)), "{i}: {err}");
        }
        let err = from_bytes::<Sample>(&bytes, "other").unwrap_err();
        assert!(err.to_string().contains("test experiment"), "{err}");
    }

    #[test]
    fn differing_settings_are_named() {
        let why = settings_differ(r#"{"steps": 20, "size": 8}"#, r#"{"steps": 21, "size": 8}"#);
        assert_eq!(why, "it was saved with other settings (steps differ)");
        let why = settings_differ("{}", "not json");
        assert_eq!(why, "it was saved with other settings");
    }

    #[test]
    fn lengths_beyond_the_file_are_refused_before_allocating() {
        let mut out = Encoder::default();
        out.put(&u64::MAX);
        let mut input = Decoder::new(&out.bytes);
        assert!(input.get::<Vec<f32>>().is_err());
        let mut out = Encoder::default();
        out.put(&3u64);
        out.put(&1.0f32);
        assert!(Decoder::new(&out.bytes).get::<Vec<f32>>().is_err());
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
        let mut out = Encoder::default();
        out.put(&state);
        let back: OptimizerState = Decoder::new(&out.bytes).get().unwrap();
        assert_eq!(back, state);
    }
}
