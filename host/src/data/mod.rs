//! Datasets: 1-D targets, images, MNIST in IDX format, and the data embedded in the binary.
//!
//! Each concept has its own module: [`target`] (sums of sines and grids), [`image`] (grayscale
//! photographs, area-averaged downsampling), [`idx`] (the MNIST file format). Every fallible
//! function returns [`DataError`], which names the file (or embedded resource) and the problem.

pub mod error;
pub mod idx;
pub mod image;
pub mod target;

pub use error::DataError;

use std::io::Read;
use std::path::Path;

/// Reads a whole file, refusing files longer than `limit` bytes so that a wrong path (a device,
/// a huge file) cannot exhaust memory.
pub(crate) fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, DataError> {
    let io_error = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let mut bytes = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    file.take(cap).read_to_end(&mut bytes).map_err(io_error)?;
    if bytes.len() > limit {
        return Err(DataError::FileTooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }
    Ok(bytes)
}

/// Configuration of the data layer's byte fuzzers: 2,048 cases each, or `PROPTEST_CASES`.
#[cfg(test)]
pub(crate) fn fuzz_config() -> proptest::test_runner::Config {
    use proptest::test_runner::Config;
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        Config::default().cases
    } else {
        2048
    };
    Config {
        cases,
        ..Config::default()
    }
}
