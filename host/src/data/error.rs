//! The one error type of the data layer: every message names its source and the problem.

use std::fmt;
use std::path::PathBuf;

use super::idx::IdxError;
use super::image::ImageError;
use super::target::TargetError;

/// Why data could not be read, decoded or parsed.
///
/// Errors coming from bytes carry the name of their source (a file path, or the name of an
/// embedded resource), so that a message alone tells the user what to fix.
#[derive(Debug)]
#[non_exhaustive]
pub enum DataError {
    /// A file could not be opened or read.
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file is larger than the data layer accepts for its kind.
    FileTooLarge {
        /// The file.
        path: PathBuf,
        /// The largest accepted size, in bytes.
        limit: usize,
    },
    /// None of the accepted names of a required file exists in a directory.
    MissingFile {
        /// The directory searched.
        dir: PathBuf,
        /// The names tried, in order.
        tried: Vec<String>,
    },
    /// An IDX (MNIST format) source is malformed.
    Idx {
        /// The file or embedded resource.
        source_name: String,
        /// What is wrong with it.
        error: IdxError,
    },
    /// An image file and a label file disagree on the number of samples.
    CountMismatch {
        /// The image source.
        images: String,
        /// The label source.
        labels: String,
        /// Number of images.
        n_images: usize,
        /// Number of labels.
        n_labels: usize,
    },
    /// The training and the test images of a data set differ in size.
    SizeMismatch {
        /// The training image source.
        train: String,
        /// The test image source.
        test: String,
        /// Rows and columns of a training image.
        train_size: (usize, usize),
        /// Rows and columns of a test image.
        test_size: (usize, usize),
    },
    /// An image could not be decoded or processed.
    Image {
        /// The file or embedded resource.
        source_name: String,
        /// What is wrong with it.
        error: ImageError,
    },
    /// A target expression could not be parsed.
    Target(TargetError),
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "{}: {source}", path.display()),
            Self::FileTooLarge { path, limit } => write!(
                f,
                "{}: file is larger than the accepted {limit} bytes",
                path.display()
            ),
            Self::MissingFile { dir, tried } => write!(
                f,
                "{}: none of these files exists: {}",
                dir.display(),
                tried.join(", ")
            ),
            Self::Idx { source_name, error } => write!(f, "{source_name}: {error}"),
            Self::CountMismatch {
                images,
                labels,
                n_images,
                n_labels,
            } => write!(
                f,
                "{images} holds {n_images} images but {labels} holds {n_labels} labels"
            ),
            Self::SizeMismatch {
                train,
                test,
                train_size,
                test_size,
            } => write!(
                f,
                "the training images ({train}) are {}×{} but the test images ({test}) are \
                 {}×{}: both sets need images of the same size",
                train_size.0, train_size.1, test_size.0, test_size.1
            ),
            Self::Image { source_name, error } => write!(f, "{source_name}: {error}"),
            Self::Target(error) => error.fmt(f),
        }
    }
}

/// The message is complete (it includes the inner reason), so `source` is left empty: error
/// reporters that walk the chain would otherwise print the reason twice.
impl std::error::Error for DataError {}

impl From<TargetError> for DataError {
    fn from(error: TargetError) -> Self {
        Self::Target(error)
    }
}
