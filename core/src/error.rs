//! The one error type of the core.

use core::fmt;

/// Everything that can go wrong in the core: bad shapes and settings supplied by the caller.
///
/// The core never panics on caller data; each function that takes slices or settings checks
/// them and returns one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// A buffer has the wrong length for the shape it must hold.
    LengthMismatch {
        /// Which buffer.
        what: &'static str,
        /// The length the shape requires.
        expected: usize,
        /// The length that was passed.
        actual: usize,
    },
    /// A network description is unusable (fewer than two widths, or a zero width).
    InvalidArchitecture,
    /// The stored parameter count of a const-generic network does not match its widths.
    ParameterCountMismatch {
        /// The count the widths imply.
        expected: usize,
        /// The const parameter `P`.
        actual: usize,
    },
    /// A batch (or dataset) with no samples.
    EmptyBatch,
    /// A setting is out of its valid range (the name says which).
    InvalidSetting(&'static str),
    /// The loss became NaN or infinite: training diverged.
    NonFiniteLoss,
    /// A fixed-capacity container (peaks, bands) is full.
    CapacityExceeded,
    /// A size that must be a power of two is not, or no FFT of that size is compiled in.
    UnsupportedSize(usize),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::LengthMismatch {
                what,
                expected,
                actual,
            } => write!(f, "{what}: expected length {expected}, got {actual}"),
            Error::InvalidArchitecture => {
                write!(f, "a network needs at least two widths, all non-zero")
            }
            Error::ParameterCountMismatch { expected, actual } => write!(
                f,
                "the widths need {expected} parameters but the network stores {actual}"
            ),
            Error::EmptyBatch => write!(f, "a batch needs at least one sample"),
            Error::InvalidSetting(what) => write!(f, "invalid setting: {what}"),
            Error::NonFiniteLoss => write!(f, "the loss is NaN or infinite: training diverged"),
            Error::CapacityExceeded => write!(f, "a fixed-capacity buffer is full"),
            Error::UnsupportedSize(n) => {
                write!(f, "size {n} is not a supported power of two")
            }
        }
    }
}

impl core::error::Error for Error {}

/// Shorthand for results of the core.
pub type Result<T> = core::result::Result<T, Error>;

/// Checks that `actual == expected`, naming the buffer otherwise.
pub(crate) fn check_len(what: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            expected,
            actual,
        })
    }
}
