//! The IDX file format (MNIST, Fashion-MNIST), raw or gzip-compressed, and the embedded digits.
//!
//! An IDX file is a header — two zero bytes, an element-type code, the number of dimensions, then
//! each dimension as a big-endian `u32` — followed by the elements in row-major order. MNIST uses
//! unsigned bytes: images have magic 2051 (`00 00 08 03`, n × rows × cols) and labels magic 2049
//! (`00 00 08 01`, n). Parsing works on byte slices; a file is recognised as gzip by its first
//! two bytes (`1f 8b`).
//!
//! Nothing is allocated from a header's claim alone: sizes are checked against
//! [`MAX_IDX_BYTES`] and against the bytes actually present, and a gzip stream is inflated only
//! as far as its header declares (see [`decompress_if_gzip`]).

use std::borrow::Cow;
use std::fmt;
use std::io::Read;
use std::path::Path;

use super::{read_bounded, DataError};

/// The largest IDX payload accepted, compressed or decompressed, in bytes (100 MB).
///
/// The full MNIST training images take 47 MB; the cap leaves room for similar data sets while
/// refusing gzip bombs and absurd headers before they allocate.
pub const MAX_IDX_BYTES: usize = 100_000_000;

/// Number of classes in MNIST and Fashion-MNIST: labels must be below this.
pub const MNIST_CLASSES: usize = 10;

/// Number of embedded samples used for training: the first 8,000 (see `data/README.md`).
pub const EMBEDDED_TRAIN: usize = 8_000;

/// Number of embedded samples used for testing: the last 2,000.
pub const EMBEDDED_TEST: usize = 2_000;

/// Magic number of an IDX file of unsigned-byte images (n × rows × cols).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;

/// Magic number of an IDX file of unsigned-byte labels (n).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

const EMBEDDED_IMAGES_NAME: &str = "embedded data/mnist-10k/images-idx3-ubyte.gz";
const EMBEDDED_LABELS_NAME: &str = "embedded data/mnist-10k/labels-idx1-ubyte.gz";
static EMBEDDED_IMAGES_GZ: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../data/mnist-10k/images-idx3-ubyte.gz"
));
static EMBEDDED_LABELS_GZ: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../data/mnist-10k/labels-idx1-ubyte.gz"
));

/// What is wrong with an IDX byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdxError {
    /// The stream ends inside the header.
    TruncatedHeader {
        /// Bytes the header needs.
        needed: usize,
        /// Bytes present.
        found: usize,
    },
    /// The first two bytes are not zero: not an IDX stream.
    NotIdx {
        /// The first four bytes, big-endian (the would-be magic number).
        magic: u32,
    },
    /// The element-type code (third byte) is not one the format defines.
    UnknownElementType {
        /// The code found.
        code: u8,
    },
    /// The header declares zero dimensions.
    NoDimensions,
    /// The magic number is a valid IDX header but not the kind expected here.
    WrongMagic {
        /// The magic number required.
        expected: u32,
        /// The magic number found.
        found: u32,
    },
    /// A dimension that must be positive is zero.
    ZeroDimension {
        /// Index of the dimension in the header.
        axis: usize,
    },
    /// The payload the header declares exceeds [`MAX_IDX_BYTES`] (or overflows).
    TooLarge {
        /// The declared dimensions.
        dims: Vec<u32>,
        /// The cap, in bytes.
        limit: usize,
    },
    /// The stream ends before the payload the header declares.
    TruncatedData {
        /// Payload bytes declared.
        expected: usize,
        /// Payload bytes present.
        found: usize,
    },
    /// The stream holds bytes after the declared payload (usually a wrong header).
    TrailingBytes {
        /// Payload bytes declared.
        expected: usize,
        /// Payload bytes present.
        found: usize,
    },
    /// A label is not below the number of classes.
    BadLabel {
        /// Index of the sample.
        index: usize,
        /// The label found.
        label: u8,
        /// The number of classes.
        classes: usize,
    },
    /// The source does not hold the number of samples it must hold.
    WrongCount {
        /// Samples required.
        expected: usize,
        /// Samples found.
        found: usize,
    },
    /// The gzip stream is corrupt.
    Gzip {
        /// The decoder's message.
        message: String,
    },
    /// The gzip stream decompresses to more than the payload its IDX header declares (a gzip
    /// bomb, or a wrong header); decompression stopped one byte past the payload.
    GzipLongerThanDeclared {
        /// Payload bytes declared.
        expected: usize,
    },
}

impl fmt::Display for IdxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TruncatedHeader { needed, found } => write!(
                f,
                "truncated IDX header: needs {needed} bytes, only {found} present"
            ),
            Self::NotIdx { magic } => write!(
                f,
                "not an IDX file: it starts with {magic:#010x}, an IDX file starts with two zero bytes"
            ),
            Self::UnknownElementType { code } => {
                write!(f, "unknown IDX element type code {code:#04x}")
            }
            Self::NoDimensions => write!(f, "IDX header declares zero dimensions"),
            Self::WrongMagic { expected, found } => write!(
                f,
                "wrong IDX magic number {found} ({found:#010x}), expected {expected} ({expected:#010x})"
            ),
            Self::ZeroDimension { axis } => write!(f, "IDX dimension {axis} is zero"),
            Self::TooLarge { dims, limit } => write!(
                f,
                "IDX header declares dimensions {dims:?}, more than the accepted {limit} bytes"
            ),
            Self::TruncatedData { expected, found } => write!(
                f,
                "truncated IDX data: header declares {expected} bytes of data, only {found} present"
            ),
            Self::TrailingBytes { expected, found } => write!(
                f,
                "IDX data longer than declared: header declares {expected} bytes, {found} present"
            ),
            Self::BadLabel {
                index,
                label,
                classes,
            } => write!(
                f,
                "label {label} of sample {index} is not below the number of classes ({classes})"
            ),
            Self::WrongCount { expected, found } => {
                write!(f, "holds {found} samples, expected {expected}")
            }
            Self::Gzip { message } => write!(f, "corrupt gzip data: {message}"),
            Self::GzipLongerThanDeclared { expected } => write!(
                f,
                "gzip data decompresses to more than the {expected} bytes of data the IDX header declares; stopped there"
            ),
        }
    }
}

impl std::error::Error for IdxError {}

/// Element type of an IDX file (third header byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    /// `0x08`: unsigned byte.
    U8,
    /// `0x09`: signed byte.
    I8,
    /// `0x0B`: big-endian 16-bit integer.
    I16,
    /// `0x0C`: big-endian 32-bit integer.
    I32,
    /// `0x0D`: big-endian 32-bit float.
    F32,
    /// `0x0E`: big-endian 64-bit float.
    F64,
}

impl ElementType {
    /// Decodes a type code, or `None` if the format does not define it.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0x08 => Some(Self::U8),
            0x09 => Some(Self::I8),
            0x0B => Some(Self::I16),
            0x0C => Some(Self::I32),
            0x0D => Some(Self::F32),
            0x0E => Some(Self::F64),
            _ => None,
        }
    }

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            Self::U8 | Self::I8 => 1,
            Self::I16 => 2,
            Self::I32 | Self::F32 => 4,
            Self::F64 => 8,
        }
    }
}

/// A checked IDX header: the payload it declares fits the cap and is exactly present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxHeader {
    /// The first four bytes as a big-endian number (2051 for MNIST images, 2049 for labels).
    pub magic: u32,
    /// Element type.
    pub element: ElementType,
    /// Dimensions, outermost first.
    pub dims: Vec<u32>,
    /// Header length in bytes: where the payload starts.
    pub header_len: usize,
    /// Payload length in bytes (product of dimensions times element size).
    pub payload_len: usize,
}

/// Parses and checks the header of a raw (decompressed) IDX stream.
///
/// Checks the two zero bytes, the type code, the dimension count, that the declared payload
/// neither overflows nor exceeds [`MAX_IDX_BYTES`], and that exactly that many bytes follow.
pub fn parse_header(bytes: &[u8]) -> Result<IdxHeader, IdxError> {
    let header = parse_header_prefix(bytes)?;
    let found = bytes.len() - header.header_len;
    if found < header.payload_len {
        return Err(IdxError::TruncatedData {
            expected: header.payload_len,
            found,
        });
    }
    if found > header.payload_len {
        return Err(IdxError::TrailingBytes {
            expected: header.payload_len,
            found,
        });
    }
    Ok(header)
}

/// Checks the header at the start of `bytes`, ignoring what follows it: every check of
/// [`parse_header`] except the payload's length.
fn parse_header_prefix(bytes: &[u8]) -> Result<IdxHeader, IdxError> {
    let Some(&[z0, z1, code, ndims]) = bytes.get(..4) else {
        return Err(IdxError::TruncatedHeader {
            needed: 4,
            found: bytes.len(),
        });
    };
    let magic = u32::from_be_bytes([z0, z1, code, ndims]);
    if z0 != 0 || z1 != 0 {
        return Err(IdxError::NotIdx { magic });
    }
    let element = ElementType::from_code(code).ok_or(IdxError::UnknownElementType { code })?;
    if ndims == 0 {
        return Err(IdxError::NoDimensions);
    }
    let header_len = header_len(ndims);
    let dim_bytes = bytes.get(4..header_len).ok_or(IdxError::TruncatedHeader {
        needed: header_len,
        found: bytes.len(),
    })?;
    let dims: Vec<u32> = dim_bytes
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let too_large = || IdxError::TooLarge {
        dims: dims.clone(),
        limit: MAX_IDX_BYTES,
    };
    let payload_len = dims
        .iter()
        .try_fold(element.size(), |acc, &d| {
            acc.checked_mul(usize::try_from(d).ok()?)
        })
        .filter(|&len| len <= MAX_IDX_BYTES)
        .ok_or_else(too_large)?;
    Ok(IdxHeader {
        magic,
        element,
        dims,
        header_len,
        payload_len,
    })
}

/// Length of a header with `ndims` dimensions.
fn header_len(ndims: u8) -> usize {
    4 + 4 * usize::from(ndims)
}

/// Returns the bytes unchanged, or decompressed if they start with the gzip magic `1f 8b`.
///
/// A gzip stream is inflated only as far as the IDX header inside it allows: first the header,
/// which is checked as [`parse_header`] checks it (so a header declaring more than
/// [`MAX_IDX_BYTES`] is refused before any data is inflated), then at most one byte more than
/// the payload it declares. A stream that goes on past that (a gzip bomb behind a small header)
/// is refused with [`IdxError::GzipLongerThanDeclared`] without inflating the rest; a stream
/// that ends exactly there has its checksum verified.
pub fn decompress_if_gzip(bytes: &[u8]) -> Result<Cow<'_, [u8]>, IdxError> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(Cow::Borrowed(bytes));
    }
    inflate_as_declared(flate2::read::MultiGzDecoder::new(bytes)).map(Cow::Owned)
}

/// Reads an IDX header from `decoder`, then at most one byte more than the payload it declares
/// (see [`decompress_if_gzip`]).
fn inflate_as_declared(mut decoder: impl Read) -> Result<Vec<u8>, IdxError> {
    let mut out = Vec::new();
    read_at_most(&mut decoder, &mut out, 4)?;
    if let Some(&ndims) = out.get(3) {
        read_at_most(&mut decoder, &mut out, header_len(ndims) - 4)?;
    }
    let header = match parse_header_prefix(&out) {
        // The stream ended inside the header (and its checksum held): the caller's
        // `parse_header` reports the truncation.
        Err(IdxError::TruncatedHeader { .. }) => return Ok(out),
        Err(e) => return Err(e),
        Ok(header) => header,
    };
    // `payload_len` ≤ MAX_IDX_BYTES, so this neither overflows nor over-reads.
    let room = header.payload_len + 1;
    read_at_most(&mut decoder, &mut out, room)?;
    if out.len() - header.header_len > header.payload_len {
        return Err(IdxError::GzipLongerThanDeclared {
            expected: header.payload_len,
        });
    }
    Ok(out)
}

/// Appends up to `n` more bytes of `reader` to `out`, fewer only at the end of the stream.
///
/// Nothing is reserved ahead: `out` grows with the bytes actually inflated.
fn read_at_most(reader: &mut impl Read, out: &mut Vec<u8>, n: usize) -> Result<(), IdxError> {
    // usize fits in u64 on every platform Rust supports.
    reader
        .take(n as u64)
        .read_to_end(out)
        .map(drop)
        .map_err(|e| IdxError::Gzip {
            message: e.to_string(),
        })
}

/// Unsigned-byte images from an IDX stream with magic 2051.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count × rows × cols` bytes, row-major.
    pub pixels: Vec<u8>,
}

/// Parses an IDX image stream (raw or gzip): magic 2051, three positive dimensions.
pub fn parse_images(bytes: &[u8]) -> Result<IdxImages, IdxError> {
    let raw = decompress_if_gzip(bytes)?;
    let header = parse_header(&raw)?;
    expect_magic(&header, IMAGES_MAGIC)?;
    let [count, rows, cols] = [0, 1, 2].map(|axis| header.dims[axis] as usize);
    for (axis, &d) in header.dims.iter().enumerate() {
        if d == 0 {
            return Err(IdxError::ZeroDimension { axis });
        }
    }
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels: payload(raw, header.header_len),
    })
}

/// Parses an IDX label stream (raw or gzip): magic 2049, every label below `classes`.
pub fn parse_labels(bytes: &[u8], classes: usize) -> Result<Vec<u8>, IdxError> {
    let raw = decompress_if_gzip(bytes)?;
    let header = parse_header(&raw)?;
    expect_magic(&header, LABELS_MAGIC)?;
    let labels = payload(raw, header.header_len);
    if let Some((index, &label)) = labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| usize::from(l) >= classes)
    {
        return Err(IdxError::BadLabel {
            index,
            label,
            classes,
        });
    }
    Ok(labels)
}

/// The bytes after the header, without copying them a second time when they were inflated.
fn payload(raw: Cow<'_, [u8]>, header_len: usize) -> Vec<u8> {
    match raw {
        Cow::Borrowed(bytes) => bytes[header_len..].to_vec(),
        Cow::Owned(mut bytes) => {
            bytes.drain(..header_len);
            bytes
        }
    }
}

fn expect_magic(header: &IdxHeader, expected: u32) -> Result<(), IdxError> {
    if header.magic == expected {
        Ok(())
    } else {
        Err(IdxError::WrongMagic {
            expected,
            found: header.magic,
        })
    }
}

/// A labelled image data set: images as `f32` in [0, 1], one row-major image after another.
///
/// The invariant `images.len() == len() × rows × cols` holds for every value of this type.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    images: Vec<f32>,
    labels: Vec<u8>,
    rows: usize,
    cols: usize,
}

impl Dataset {
    /// Builds a data set from its parts, or `None` if the lengths disagree or an image is empty.
    ///
    /// Lets experiments and tests make small synthetic data sets of the same type as MNIST.
    pub fn new(images: Vec<f32>, labels: Vec<u8>, rows: usize, cols: usize) -> Option<Self> {
        let pixels = rows.checked_mul(cols).filter(|&p| p > 0)?;
        (images.len() == labels.len().checked_mul(pixels)?).then_some(Self {
            images,
            labels,
            rows,
            cols,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the data set has no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Rows per image.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns per image.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Pixels per image (`rows × cols`): the network's input width.
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// All images, `len() × pixels_per_image()` values in [0, 1], row-major.
    pub fn images(&self) -> &[f32] {
        &self.images
    }

    /// All labels.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Image `i` as `pixels_per_image()` values, or `None` past the end.
    pub fn image(&self, i: usize) -> Option<&[f32]> {
        let p = self.pixels_per_image();
        self.images.get(i.checked_mul(p)?..(i + 1).checked_mul(p)?)
    }

    /// Number of samples of each class `0..classes` (labels at or above `classes` are not counted).
    pub fn class_counts(&self, classes: usize) -> Vec<usize> {
        let mut counts = vec![0; classes];
        for &label in &self.labels {
            if let Some(c) = counts.get_mut(usize::from(label)) {
                *c += 1;
            }
        }
        counts
    }

    /// Splits into the first `n` samples and the rest (`n` is clamped to `len()`).
    pub fn split_at(mut self, n: usize) -> (Dataset, Dataset) {
        let n = n.min(self.len());
        let rest_images = self.images.split_off(n * self.pixels_per_image());
        let rest_labels = self.labels.split_off(n);
        let rest = Dataset {
            images: rest_images,
            labels: rest_labels,
            rows: self.rows,
            cols: self.cols,
        };
        (self, rest)
    }
}

/// Parses an image stream and a label stream (each raw or gzip) into a [`Dataset`].
///
/// Each argument is `(name, bytes)`: the name identifies the source in error messages.
/// Labels must be below `classes` ([`MNIST_CLASSES`] for MNIST).
pub fn parse_idx_pair(
    images: (&str, &[u8]),
    labels: (&str, &[u8]),
    classes: usize,
) -> Result<Dataset, DataError> {
    let (images_name, images_bytes) = images;
    let (labels_name, labels_bytes) = labels;
    let idx_error = |name: &str| {
        let source_name = name.to_owned();
        move |error| DataError::Idx { source_name, error }
    };
    let parsed = parse_images(images_bytes).map_err(idx_error(images_name))?;
    let labels = parse_labels(labels_bytes, classes).map_err(idx_error(labels_name))?;
    if parsed.count != labels.len() {
        return Err(DataError::CountMismatch {
            images: images_name.to_owned(),
            labels: labels_name.to_owned(),
            n_images: parsed.count,
            n_labels: labels.len(),
        });
    }
    let images = parsed
        .pixels
        .iter()
        .map(|&b| f32::from(b) / 255.0)
        .collect();
    Ok(Dataset {
        images,
        labels,
        rows: parsed.rows,
        cols: parsed.cols,
    })
}

/// Reads an IDX image file and its label file (each raw or gzip) into a [`Dataset`].
pub fn load_idx_pair(
    images_path: &Path,
    labels_path: &Path,
    classes: usize,
) -> Result<Dataset, DataError> {
    let images = read_bounded(images_path, MAX_IDX_BYTES)?;
    let labels = read_bounded(labels_path, MAX_IDX_BYTES)?;
    parse_idx_pair(
        (&images_path.display().to_string(), &images),
        (&labels_path.display().to_string(), &labels),
        classes,
    )
}

/// Reads `(train, test)` from a directory with the four standard MNIST file names.
///
/// The files are `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`
/// and `t10k-labels-idx1-ubyte`, each either raw or with a `.gz` suffix (the layout of the MNIST
/// distribution and of Fashion-MNIST). Labels must be below [`MNIST_CLASSES`].
pub fn load_mnist_dir(dir: &Path) -> Result<(Dataset, Dataset), DataError> {
    let pair = |prefix: &str| -> Result<(Dataset, std::path::PathBuf), DataError> {
        let images = find_either(dir, &format!("{prefix}-images-idx3-ubyte"))?;
        let labels = find_either(dir, &format!("{prefix}-labels-idx1-ubyte"))?;
        Ok((load_idx_pair(&images, &labels, MNIST_CLASSES)?, images))
    };
    let (train, train_images) = pair("train")?;
    let (test, test_images) = pair("t10k")?;
    // One network reads both: a size mismatch is the files' fault, not the settings'.
    if (train.rows, train.cols) != (test.rows, test.cols) {
        return Err(DataError::SizeMismatch {
            train: train_images.display().to_string(),
            test: test_images.display().to_string(),
            train_size: (train.rows, train.cols),
            test_size: (test.rows, test.cols),
        });
    }
    Ok((train, test))
}

/// The path of `name` or `name.gz` in `dir`, whichever exists (raw first).
fn find_either(dir: &Path, name: &str) -> Result<std::path::PathBuf, DataError> {
    let tried = [name.to_owned(), format!("{name}.gz")];
    tried
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| DataError::MissingFile {
            dir: dir.to_path_buf(),
            tried: tried.to_vec(),
        })
}

/// The 10,000 MNIST digits embedded in the binary, split into `(train, test)`: the first
/// [`EMBEDDED_TRAIN`] and the last [`EMBEDDED_TEST`] samples (both hold every class).
///
/// Lets the MNIST experiment run with no download; see `data/README.md` for the source.
pub fn embedded_mnist() -> Result<(Dataset, Dataset), DataError> {
    let all = parse_idx_pair(
        (EMBEDDED_IMAGES_NAME, EMBEDDED_IMAGES_GZ),
        (EMBEDDED_LABELS_NAME, EMBEDDED_LABELS_GZ),
        MNIST_CLASSES,
    )?;
    if all.len() != EMBEDDED_TRAIN + EMBEDDED_TEST {
        return Err(DataError::Idx {
            source_name: EMBEDDED_IMAGES_NAME.to_owned(),
            error: IdxError::WrongCount {
                expected: EMBEDDED_TRAIN + EMBEDDED_TEST,
                found: all.len(),
            },
        });
    }
    Ok(all.split_at(EMBEDDED_TRAIN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// An IDX stream with the given magic and dimensions, followed by `payload`.
    fn idx_bytes(magic: u32, dims: &[u32], payload: &[u8]) -> Vec<u8> {
        let mut out = magic.to_be_bytes().to_vec();
        for d in dims {
            out.extend_from_slice(&d.to_be_bytes());
        }
        out.extend_from_slice(payload);
        out
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder
            .write_all(bytes)
            .expect("writing to a Vec cannot fail");
        encoder.finish().expect("writing to a Vec cannot fail")
    }

    /// Three 2×3 images with distinct pixels, and their labels.
    fn sample_pair() -> (Vec<u8>, Vec<u8>) {
        let pixels: Vec<u8> = (0..18).map(|i| i * 15).collect();
        (
            idx_bytes(IMAGES_MAGIC, &[3, 2, 3], &pixels),
            idx_bytes(LABELS_MAGIC, &[3], &[7, 0, 9]),
        )
    }

    fn parse(images: &[u8], labels: &[u8]) -> Result<Dataset, DataError> {
        parse_idx_pair(("img", images), ("lbl", labels), MNIST_CLASSES)
    }

    fn idx_error(result: Result<Dataset, DataError>) -> IdxError {
        match result {
            Err(DataError::Idx { error, .. }) => error,
            other => panic!("expected an IDX error, got {other:?}"),
        }
    }

    #[test]
    fn round_trip_raw_and_gzip() {
        let (images, labels) = sample_pair();
        let raw = parse(&images, &labels).expect("valid raw IDX");
        let zipped = parse(&gzip(&images), &gzip(&labels)).expect("valid gzip IDX");
        assert_eq!(raw, zipped);
        assert_eq!((raw.len(), raw.rows(), raw.cols()), (3, 2, 3));
        assert_eq!(raw.labels(), &[7, 0, 9]);
        assert_eq!(raw.image(1).map(|im| im[0]), Some(90.0 / 255.0));
        assert_eq!(raw.images()[17], 1.0);
        assert!(raw.image(3).is_none());
    }

    #[test]
    fn round_trip_through_files() {
        let dir = std::env::temp_dir().join(format!("fprinciple-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (images, labels) = sample_pair();
        for prefix in ["train", "t10k"] {
            std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), &images).unwrap();
            std::fs::write(
                dir.join(format!("{prefix}-labels-idx1-ubyte.gz")),
                gzip(&labels),
            )
            .unwrap();
        }
        let (train, test) = load_mnist_dir(&dir).expect("four standard files");
        assert_eq!(train, test);
        assert_eq!(train.labels(), &[7, 0, 9]);

        std::fs::remove_file(dir.join("t10k-labels-idx1-ubyte.gz")).unwrap();
        let missing = load_mnist_dir(&dir).unwrap_err();
        assert!(matches!(missing, DataError::MissingFile { .. }));
        assert!(missing.to_string().contains("t10k-labels-idx1-ubyte.gz"));

        let absent = load_idx_pair(&dir.join("nope"), &dir.join("nope"), 10).unwrap_err();
        assert!(matches!(absent, DataError::Io { .. }));
        assert!(absent.to_string().contains("nope"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn train_and_test_images_of_different_sizes_are_refused_with_both_files() {
        let dir = std::env::temp_dir().join(format!("fprinciple-idx-size-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (images, labels) = sample_pair();
        let pixels: Vec<u8> = (0..18).collect();
        let tall = idx_bytes(IMAGES_MAGIC, &[3, 3, 2], &pixels);
        for (prefix, images) in [("train", &images), ("t10k", &tall)] {
            std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), images).unwrap();
            std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), &labels).unwrap();
        }
        let err = load_mnist_dir(&dir).unwrap_err();
        assert!(matches!(err, DataError::SizeMismatch { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains("train-images-idx3-ubyte") && text.contains("2×3"),
            "{text}"
        );
        assert!(
            text.contains("t10k-images-idx3-ubyte") && text.contains("3×2"),
            "{text}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn general_header() {
        let floats = idx_bytes(0x0000_0D02, &[2, 3], &[0; 24]);
        let header = parse_header(&floats).expect("valid f32 IDX");
        assert_eq!(header.element, ElementType::F32);
        assert_eq!(header.dims, vec![2, 3]);
        assert_eq!((header.header_len, header.payload_len), (12, 24));
    }

    #[test]
    fn truncated_header() {
        assert_eq!(
            parse_header(&[0, 0, 8]),
            Err(IdxError::TruncatedHeader {
                needed: 4,
                found: 3
            })
        );
        let short = &idx_bytes(IMAGES_MAGIC, &[3, 2, 3], &[])[..10];
        assert_eq!(
            parse_header(short),
            Err(IdxError::TruncatedHeader {
                needed: 16,
                found: 10
            })
        );
        let (_, labels) = sample_pair();
        assert!(matches!(
            idx_error(parse(&[], &labels)),
            IdxError::TruncatedHeader { .. }
        ));
    }

    #[test]
    fn truncated_and_overlong_data() {
        let (images, labels) = sample_pair();
        let err = idx_error(parse(&images[..images.len() - 1], &labels));
        assert_eq!(
            err,
            IdxError::TruncatedData {
                expected: 18,
                found: 17
            }
        );
        let mut longer = images.clone();
        longer.push(0);
        assert!(matches!(
            idx_error(parse(&longer, &labels)),
            IdxError::TrailingBytes { .. }
        ));
    }

    #[test]
    fn wrong_magic() {
        let (images, labels) = sample_pair();
        // Labels where images are expected, and the reverse.
        assert_eq!(
            idx_error(parse(&labels, &labels)),
            IdxError::WrongMagic {
                expected: IMAGES_MAGIC,
                found: LABELS_MAGIC
            }
        );
        assert!(matches!(
            idx_error(parse(&images, &images)),
            IdxError::WrongMagic { .. }
        ));
        assert!(matches!(
            parse_header(b"\x89PNG\r\n\x1a\n"),
            Err(IdxError::NotIdx { .. })
        ));
        assert_eq!(
            parse_header(&[0, 0, 0x07, 1, 0, 0, 0, 0]),
            Err(IdxError::UnknownElementType { code: 7 })
        );
        assert_eq!(parse_header(&[0, 0, 8, 0]), Err(IdxError::NoDimensions));
    }

    #[test]
    fn huge_or_overflowing_dimensions() {
        // 4 × 2^32-1 elements of 8 bytes overflows on 32-bit targets and exceeds the cap on 64.
        let overflow = idx_bytes(0x0000_0E04, &[u32::MAX; 4], &[1, 2, 3]);
        assert!(matches!(
            parse_header(&overflow),
            Err(IdxError::TooLarge { .. })
        ));
        // A plausible-looking but absurd MNIST header with almost no data behind it.
        let absurd = idx_bytes(IMAGES_MAGIC, &[1_000_000, 28, 28], &[0; 100]);
        let err = idx_error(parse(&absurd, &sample_pair().1));
        assert!(matches!(err, IdxError::TooLarge { .. }));
        assert!(err.to_string().contains("1000000"));
        // Under the cap but more than is present: truncated, and nothing allocated.
        let claims = idx_bytes(IMAGES_MAGIC, &[100, 28, 28], &[0; 100]);
        assert!(matches!(
            idx_error(parse(&claims, &sample_pair().1)),
            IdxError::TruncatedData {
                expected: 78_400,
                found: 100
            }
        ));
    }

    #[test]
    fn zero_dimensions_are_refused() {
        let empty = idx_bytes(IMAGES_MAGIC, &[0, 28, 28], &[]);
        assert_eq!(
            parse_images(&empty),
            Err(IdxError::ZeroDimension { axis: 0 })
        );
        let no_cols = idx_bytes(IMAGES_MAGIC, &[5, 28, 0], &[]);
        assert_eq!(
            parse_images(&no_cols),
            Err(IdxError::ZeroDimension { axis: 2 })
        );
    }

    #[test]
    fn label_count_mismatch() {
        let (images, _) = sample_pair();
        let labels = idx_bytes(LABELS_MAGIC, &[2], &[1, 2]);
        let err = parse(&images, &labels).unwrap_err();
        assert!(matches!(
            err,
            DataError::CountMismatch {
                n_images: 3,
                n_labels: 2,
                ..
            }
        ));
        assert_eq!(err.to_string(), "img holds 3 images but lbl holds 2 labels");
    }

    #[test]
    fn bad_label_value() {
        let (images, _) = sample_pair();
        let labels = idx_bytes(LABELS_MAGIC, &[3], &[1, 10, 2]);
        let err = parse(&images, &labels).unwrap_err();
        assert_eq!(
            err.to_string(),
            "lbl: label 10 of sample 1 is not below the number of classes (10)"
        );
        // A caller with more classes accepts it.
        let wide = parse_idx_pair(("img", &images), ("lbl", &labels), 11);
        assert!(wide.is_ok());
    }

    #[test]
    fn gzip_of_garbage() {
        let mut garbage = vec![0x1f, 0x8b, 8, 0];
        garbage.extend_from_slice(&[0xAB; 40]);
        assert!(matches!(
            decompress_if_gzip(&garbage),
            Err(IdxError::Gzip { .. })
        ));
        // A valid gzip stream of something that is not IDX.
        let not_idx = gzip(b"hello, world");
        assert!(matches!(
            parse_images(&not_idx),
            Err(IdxError::NotIdx { .. })
        ));
    }

    #[test]
    fn gzip_bomb_stops_after_the_declared_payload() {
        // A few KB that inflate to 8 MB behind a header declaring 18 bytes.
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder
            .write_all(&idx_bytes(IMAGES_MAGIC, &[3, 2, 3], &[]))
            .unwrap();
        encoder.write_all(&vec![0u8; 8 << 20]).unwrap();
        let bomb = encoder.finish().unwrap();
        assert!(bomb.len() < 16 << 10);
        assert_eq!(
            decompress_if_gzip(&bomb),
            Err(IdxError::GzipLongerThanDeclared { expected: 18 })
        );
        let err = idx_error(parse(&bomb, &sample_pair().1));
        assert!(err.to_string().contains("more than the 18 bytes"), "{err}");
    }

    /// Counts the bytes handed out by a reader.
    struct Counted<R> {
        inner: R,
        count: usize,
    }

    impl<R: Read> Read for Counted<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.count += n;
            Ok(n)
        }
    }

    #[test]
    fn an_endless_stream_is_read_only_as_far_as_its_header_declares() {
        // A header declaring 3 × 2 × 3 bytes, then zeros without end: the reader must stop at
        // one byte past the payload.
        let endless = std::io::Cursor::new(idx_bytes(IMAGES_MAGIC, &[3, 2, 3], &[]))
            .chain(std::io::repeat(0));
        let mut counted = Counted {
            inner: endless,
            count: 0,
        };
        assert_eq!(
            inflate_as_declared(&mut counted),
            Err(IdxError::GzipLongerThanDeclared { expected: 18 })
        );
        assert_eq!(counted.count, 16 + 18 + 1);

        // A header declaring more than the cap: refused after the header alone.
        let huge = std::io::Cursor::new(idx_bytes(IMAGES_MAGIC, &[200_000, 28, 28], &[]))
            .chain(std::io::repeat(0));
        let mut counted = Counted {
            inner: huge,
            count: 0,
        };
        assert!(matches!(
            inflate_as_declared(&mut counted),
            Err(IdxError::TooLarge { .. })
        ));
        assert_eq!(counted.count, 16);

        // Not IDX: refused after the first four bytes (and the dimensions they claim).
        let mut counted = Counted {
            inner: std::io::repeat(0xAB),
            count: 0,
        };
        assert!(matches!(
            inflate_as_declared(&mut counted),
            Err(IdxError::NotIdx { .. })
        ));
        assert!(counted.count <= 4 + 4 * 255, "read {}", counted.count);
    }

    #[test]
    fn gzip_checksum_is_verified() {
        let (images, labels) = sample_pair();
        let mut zipped = gzip(&images);
        let crc_at = zipped.len() - 8;
        zipped[crc_at] ^= 0xFF;
        let err = idx_error(parse(&zipped, &labels));
        assert!(matches!(err, IdxError::Gzip { .. }), "{err}");
        assert!(err.to_string().contains("checksum"), "{err}");
    }

    #[test]
    fn dataset_helpers() {
        let (images, labels) = sample_pair();
        let data = parse(&images, &labels).unwrap();
        assert_eq!(data.class_counts(10)[7], 1);
        assert_eq!(data.class_counts(10).iter().sum::<usize>(), 3);
        let (first, rest) = data.clone().split_at(1);
        assert_eq!((first.len(), rest.len()), (1, 2));
        assert_eq!(rest.image(0), data.image(1));
        assert_eq!(data.clone().split_at(99).1.len(), 0);
        assert!(Dataset::new(vec![0.0; 5], vec![0], 2, 3).is_none());
        assert!(Dataset::new(vec![0.0; 6], vec![0], 2, 3).is_some());
        assert!(Dataset::new(vec![], vec![], 0, 3).is_none());
    }

    #[test]
    fn embedded_mnist_has_every_class() {
        let (train, test) = embedded_mnist().expect("embedded MNIST");
        assert_eq!((train.len(), test.len()), (EMBEDDED_TRAIN, EMBEDDED_TEST));
        assert_eq!((train.rows(), train.cols()), (28, 28));
        assert_eq!(train.images().len(), EMBEDDED_TRAIN * 784);
        for set in [&train, &test] {
            let counts = set.class_counts(MNIST_CLASSES);
            assert!(counts.iter().all(|&c| c > 0), "class counts {counts:?}");
            assert!(set.images().iter().all(|v| (0.0..=1.0).contains(v)));
        }
        // Real digits: mostly background, some full-intensity strokes.
        let mean = train.images().iter().sum::<f32>() / train.images().len() as f32;
        assert!((0.05..0.25).contains(&mean), "mean intensity {mean}");
    }

    proptest::proptest! {
        #![proptest_config(crate::data::fuzz_config())]

        #[test]
        fn arbitrary_bytes_never_panic(
            images in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            labels in proptest::collection::vec(proptest::num::u8::ANY, 0..16),
        ) {
            let _ = parse_header(&images);
            let _ = parse(&images, &labels);
        }

        #[test]
        fn arbitrary_bytes_after_a_valid_prefix_never_panic(
            dims in proptest::collection::vec(proptest::num::u32::ANY, 0..4),
            code in proptest::sample::select(vec![0x08u8, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x42]),
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            zipped: bool,
        ) {
            let mut bytes = vec![0, 0, code, dims.len() as u8];
            for d in &dims {
                bytes.extend_from_slice(&(d % 8).to_be_bytes());
            }
            bytes.extend_from_slice(&tail);
            if zipped {
                bytes = gzip(&bytes);
            }
            let _ = parse_header(&bytes);
            let _ = parse_images(&bytes);
            let _ = parse_labels(&bytes, 10);
        }
    }
}
