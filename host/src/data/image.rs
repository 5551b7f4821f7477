//! Grayscale images: decoding PNG/JPEG to luma in [0, 1], area-averaged downsampling to S×S,
//! PNG output, and the embedded default photograph.
//!
//! Colour is reduced to luma with the Rec. 709 coefficients (0.2126 R + 0.7152 G + 0.0722 B)
//! applied to the stored (gamma-encoded) values, as scikit-image's `rgb2gray` and the `image`
//! crate do; alpha is ignored.

use std::fmt;
use std::io::Cursor;
use std::path::Path;

use ::image::{DynamicImage, ImageBuffer, ImageDecoder, ImageFormat, ImageReader, Limits, Pixel};

use super::{read_bounded, DataError};

/// Largest accepted image file, in bytes (64 MB).
pub const MAX_IMAGE_FILE_BYTES: usize = 64 * 1024 * 1024;

/// Largest accepted width or height, in pixels: larger claims are refused before decoding.
pub const MAX_IMAGE_SIDE: u32 = 8192;

/// Most memory the decoder may allocate, in bytes (256 MiB): an 8192² RGBA image at 8 bits.
pub const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;

/// Most pixels a PNG can hold per byte of file: deflate expands at most 1032:1, and a pixel
/// takes at least one bit.
pub const PNG_PIXELS_PER_BYTE: u64 = 8 * 1032;

/// Most pixels a JPEG can hold per byte of file: a Huffman-coded scan spends at least one bit on
/// each 8×8 block (the decoder does not support arithmetic coding).
pub const JPEG_PIXELS_PER_BYTE: u64 = 64 * 8;

/// Smallest side length S accepted for downsampling.
pub const MIN_SIZE: usize = 4;

const EMBEDDED_CAMERA_NAME: &str = "embedded data/images/camera.png";
static EMBEDDED_CAMERA_PNG: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../data/images/camera.png"
));

/// Rec. 709 luma weights for R, G, B.
const LUMA_709: [f32; 3] = [0.2126, 0.7152, 0.0722];

/// What is wrong with an image or a request on it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImageError {
    /// The input holds no bytes.
    Empty,
    /// The bytes are not a PNG or JPEG image.
    NotAnImage,
    /// The decoder refused the data (corrupt file, or dimensions above the limits).
    Decode {
        /// The decoder's message.
        message: String,
    },
    /// The image has a zero width or height.
    ZeroSized,
    /// The header claims more pixels than a file of this size can encode: the file is truncated
    /// or its header is wrong. Refused before decoding.
    MorePixelsThanBytes {
        /// Width claimed.
        width: u32,
        /// Height claimed.
        height: u32,
        /// Length of the file, in bytes.
        file_bytes: usize,
        /// Most pixels a file of this format and length can hold.
        max_pixels: u64,
    },
    /// The image is larger than [`MAX_IMAGE_SIDE`] a side or [`MAX_DECODE_ALLOC`] bytes decoded.
    OverLimits,
    /// Width × height does not match the number of pixels given.
    ShapeMismatch {
        /// Width claimed.
        width: usize,
        /// Height claimed.
        height: usize,
        /// Pixels given.
        pixels: usize,
    },
    /// The requested side length is not a power of two or is below [`MIN_SIZE`].
    BadSize {
        /// The side length requested.
        size: usize,
    },
    /// The (centre-cropped) image is smaller than the requested side: upsampling is refused.
    TooSmall {
        /// Image width.
        width: usize,
        /// Image height.
        height: usize,
        /// The side length requested.
        size: usize,
    },
    /// Encoding to PNG failed.
    Encode {
        /// The encoder's message.
        message: String,
    },
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "empty file, not an image"),
            Self::NotAnImage => write!(f, "not a PNG or JPEG image"),
            Self::Decode { message } => write!(f, "cannot decode image: {message}"),
            Self::ZeroSized => write!(f, "image has zero width or height"),
            Self::MorePixelsThanBytes {
                width,
                height,
                file_bytes,
                max_pixels,
            } => write!(
                f,
                "image header claims {width}×{height} pixels, more than a file of {file_bytes} bytes can hold (at most {max_pixels}): truncated, or a wrong header"
            ),
            Self::OverLimits => write!(
                f,
                "image exceeds the accepted limits: at most {MAX_IMAGE_SIDE} pixels a side and {MAX_DECODE_ALLOC} bytes decoded"
            ),
            Self::ShapeMismatch {
                width,
                height,
                pixels,
            } => write!(f, "{width}×{height} image cannot hold {pixels} pixels"),
            Self::BadSize { size } => write!(
                f,
                "size {size} must be a power of two and at least {MIN_SIZE}"
            ),
            Self::TooSmall {
                width,
                height,
                size,
            } => write!(
                f,
                "image is {width}×{height}, smaller than the requested {size}×{size}; upsampling is not supported"
            ),
            Self::Encode { message } => write!(f, "cannot encode PNG: {message}"),
        }
    }
}

impl std::error::Error for ImageError {}

/// A grayscale image with values in [0, 1], stored row-major (`pixels[row * width + col]`).
#[derive(Debug, Clone, PartialEq)]
pub struct GrayImage {
    width: usize,
    height: usize,
    pixels: Vec<f32>,
}

impl GrayImage {
    /// Builds an image from row-major pixels; errors if the shape is empty or does not match.
    pub fn new(width: usize, height: usize, pixels: Vec<f32>) -> Result<Self, ImageError> {
        if width == 0 || height == 0 {
            return Err(ImageError::ZeroSized);
        }
        if width.checked_mul(height) != Some(pixels.len()) {
            return Err(ImageError::ShapeMismatch {
                width,
                height,
                pixels: pixels.len(),
            });
        }
        Ok(Self {
            width,
            height,
            pixels,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// All pixels, row-major.
    pub fn pixels(&self) -> &[f32] {
        &self.pixels
    }

    /// The pixel at (`row`, `col`), or `None` outside the image.
    pub fn get(&self, row: usize, col: usize) -> Option<f32> {
        (row < self.height && col < self.width).then(|| self.pixels[row * self.width + col])
    }

    /// Consumes the image, returning its row-major pixels.
    pub fn into_pixels(self) -> Vec<f32> {
        self.pixels
    }

    /// The largest centred square: a non-square photograph loses equal margins on its long
    /// side, so the subject stays in the middle.
    pub fn center_crop_square(&self) -> GrayImage {
        let side = self.width.min(self.height);
        let left = (self.width - side) / 2;
        let top = (self.height - side) / 2;
        let pixels = (top..top + side)
            .flat_map(|r| {
                let start = r * self.width + left;
                self.pixels[start..start + side].iter().copied()
            })
            .collect();
        GrayImage {
            width: side,
            height: side,
            pixels,
        }
    }

    /// Centre-crops to a square (see [`center_crop_square`](Self::center_crop_square)), then
    /// downsamples to `size`×`size` by area averaging.
    ///
    /// Each output pixel is the mean of the input area it covers, with fractional weights for
    /// input pixels on its border when the side is not a multiple of `size`; a constant image
    /// stays constant. `size` must be a power of two, at least [`MIN_SIZE`], and not larger
    /// than the cropped side (upsampling would invent detail and is refused).
    pub fn downsample(&self, size: usize) -> Result<GrayImage, ImageError> {
        if size < MIN_SIZE || !size.is_power_of_two() {
            return Err(ImageError::BadSize { size });
        }
        if self.width.min(self.height) < size {
            return Err(ImageError::TooSmall {
                width: self.width,
                height: self.height,
                size,
            });
        }
        let square = self.center_crop_square();
        let weights = area_weights(square.width, size);
        // Rows first (along each row, average columns), then columns.
        let mut narrow = vec![0.0f32; square.height * size];
        for r in 0..square.height {
            let row = &square.pixels[r * square.width..(r + 1) * square.width];
            for (c, taps) in weights.iter().enumerate() {
                narrow[r * size + c] = taps.iter().map(|&(i, w)| w * row[i]).sum();
            }
        }
        let mut out = vec![0.0f32; size * size];
        for (r, taps) in weights.iter().enumerate() {
            for c in 0..size {
                out[r * size + c] = taps.iter().map(|&(i, w)| w * narrow[i * size + c]).sum();
            }
        }
        Ok(GrayImage {
            width: size,
            height: size,
            pixels: out,
        })
    }

    /// Encodes as an 8-bit grayscale PNG (values clamped to [0, 1], NaN as 0): for figures.
    pub fn to_png_bytes(&self) -> Result<Vec<u8>, ImageError> {
        let bytes: Vec<u8> = self
            .pixels
            .iter()
            .map(|&v| {
                let v = if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
                (v * 255.0).round() as u8
            })
            .collect();
        let encode_error = |e: &dyn fmt::Display| ImageError::Encode {
            message: e.to_string(),
        };
        let side = |n: usize| u32::try_from(n).map_err(|e| encode_error(&e));
        let buffer = ::image::GrayImage::from_raw(side(self.width)?, side(self.height)?, bytes)
            .ok_or(ImageError::ShapeMismatch {
                width: self.width,
                height: self.height,
                pixels: self.pixels.len(),
            })?;
        let mut out = Cursor::new(Vec::new());
        buffer
            .write_to(&mut out, ImageFormat::Png)
            .map_err(|e| encode_error(&e))?;
        Ok(out.into_inner())
    }

    /// Writes the image as an 8-bit grayscale PNG file.
    pub fn save_png(&self, path: &Path) -> Result<(), DataError> {
        let bytes = self.to_png_bytes().map_err(|error| DataError::Image {
            source_name: path.display().to_string(),
            error,
        })?;
        std::fs::write(path, bytes).map_err(|source| DataError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// For each of `size` output cells along an axis of length `side`, the input indices it covers
/// and their weights (overlap length divided by the cell length, so the weights sum to 1).
fn area_weights(side: usize, size: usize) -> Vec<Vec<(usize, f32)>> {
    // Output cell j covers [j·side/size, (j+1)·side/size) in input units; work in units of
    // 1/size to stay in integers: cell j is [j·side, (j+1)·side), input pixel i is
    // [i·size, (i+1)·size).
    (0..size)
        .map(|j| {
            let (lo, hi) = (j * side, (j + 1) * side);
            (lo / size..hi.div_ceil(size))
                .map(|i| {
                    let overlap = hi.min((i + 1) * size) - lo.max(i * size);
                    (i, overlap as f32 / side as f32)
                })
                .collect()
        })
        .collect()
}

/// Decodes PNG or JPEG bytes (grayscale or colour, 8 or 16 bits) into a [`GrayImage`].
///
/// Colour becomes Rec. 709 luma; alpha is ignored. The format is read from the bytes, not
/// from a file name. Before anything is decoded the header's dimensions are checked: at most
/// [`MAX_IMAGE_SIDE`] a side, at most [`MAX_DECODE_ALLOC`] bytes decoded, and no more pixels
/// than the file's length can encode ([`PNG_PIXELS_PER_BYTE`], [`JPEG_PIXELS_PER_BYTE`]), so a
/// small file with a lying header cannot make the decoder allocate for the pixels it claims.
pub fn decode_gray(bytes: &[u8]) -> Result<GrayImage, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    let decode_error = |e: ::image::ImageError| match e {
        ::image::ImageError::Limits(_) => ImageError::OverLimits,
        other => ImageError::Decode {
            message: other.to_string().trim_end().to_owned(),
        },
    };
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ImageError::Decode {
            message: e.to_string(),
        })?;
    let pixels_per_byte = match reader.format() {
        Some(ImageFormat::Png) => PNG_PIXELS_PER_BYTE,
        Some(ImageFormat::Jpeg) => JPEG_PIXELS_PER_BYTE,
        _ => return Err(ImageError::NotAnImage),
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    // Reads the header only.
    let decoder = reader.into_decoder().map_err(decode_error)?;
    let (width, height) = decoder.dimensions();
    let max_pixels = pixels_per_byte.saturating_mul(bytes.len() as u64);
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(ImageError::MorePixelsThanBytes {
            width,
            height,
            file_bytes: bytes.len(),
            max_pixels,
        });
    }
    if decoder.total_bytes() > MAX_DECODE_ALLOC {
        return Err(ImageError::OverLimits);
    }
    let decoded = DynamicImage::from_decoder(decoder).map_err(decode_error)?;
    to_gray(decoded)
}

/// Luma in [0, 1] of every pixel of a decoded image.
fn to_gray(image: DynamicImage) -> Result<GrayImage, ImageError> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let pixels = match image {
        DynamicImage::ImageLuma8(b) => luma_of(&b, 255.0),
        DynamicImage::ImageLumaA8(b) => luma_of(&b, 255.0),
        DynamicImage::ImageRgb8(b) => luma_of(&b, 255.0),
        DynamicImage::ImageRgba8(b) => luma_of(&b, 255.0),
        DynamicImage::ImageLuma16(b) => luma_of(&b, 65535.0),
        DynamicImage::ImageLumaA16(b) => luma_of(&b, 65535.0),
        DynamicImage::ImageRgb16(b) => luma_of(&b, 65535.0),
        DynamicImage::ImageRgba16(b) => luma_of(&b, 65535.0),
        DynamicImage::ImageRgb32F(b) => luma_of(&b, 1.0),
        DynamicImage::ImageRgba32F(b) => luma_of(&b, 1.0),
        other => luma_of(&other.to_rgb32f(), 1.0),
    };
    GrayImage::new(width, height, pixels)
}

/// Luma of each pixel: the single channel of a gray pixel, Rec. 709 of the first three
/// channels of a colour one; divided by `scale` (the channel's maximum) and clamped to [0, 1].
fn luma_of<P: Pixel>(buffer: &ImageBuffer<P, Vec<P::Subpixel>>, scale: f32) -> Vec<f32>
where
    P::Subpixel: Into<f32>,
{
    buffer
        .pixels()
        .map(|p| {
            let c = p.channels();
            let value = match c {
                [r, g, b, ..] if P::CHANNEL_COUNT >= 3 => {
                    LUMA_709[0] * (*r).into()
                        + LUMA_709[1] * (*g).into()
                        + LUMA_709[2] * (*b).into()
                }
                [y, ..] => (*y).into(),
                [] => 0.0,
            };
            (value / scale).clamp(0.0, 1.0)
        })
        .collect()
}

/// Reads and decodes a PNG or JPEG file (see [`decode_gray`]).
pub fn load_gray(path: &Path) -> Result<GrayImage, DataError> {
    let bytes = read_bounded(path, MAX_IMAGE_FILE_BYTES)?;
    decode_gray(&bytes).map_err(|error| DataError::Image {
        source_name: path.display().to_string(),
        error,
    })
}

/// Reads a PNG or JPEG file and downsamples it to `size`×`size` (see [`GrayImage::downsample`]).
pub fn load_downsampled(path: &Path, size: usize) -> Result<GrayImage, DataError> {
    load_gray(path)?
        .downsample(size)
        .map_err(|error| DataError::Image {
            source_name: path.display().to_string(),
            error,
        })
}

/// The embedded default photograph: 512×512 "camera" (CC0), in [0, 1].
///
/// Lets the image experiment run with no file; see `data/README.md` for the source.
pub fn embedded_camera() -> Result<GrayImage, DataError> {
    decode_gray(EMBEDDED_CAMERA_PNG).map_err(|error| DataError::Image {
        source_name: EMBEDDED_CAMERA_NAME.to_owned(),
        error,
    })
}

/// The embedded photograph downsampled to `size`×`size`: the image experiment's default input.
pub fn embedded_camera_downsampled(size: usize) -> Result<GrayImage, DataError> {
    embedded_camera()?
        .downsample(size)
        .map_err(|error| DataError::Image {
            source_name: EMBEDDED_CAMERA_NAME.to_owned(),
            error,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode<P: ::image::PixelWithColorType<Subpixel = u8>>(
        width: u32,
        height: u32,
        data: Vec<u8>,
        format: ImageFormat,
    ) -> Vec<u8> {
        let buffer = ImageBuffer::<P, Vec<u8>>::from_raw(width, height, data).expect("shape");
        let mut out = Cursor::new(Vec::new());
        buffer.write_to(&mut out, format).expect("encode");
        out.into_inner()
    }

    fn constant(width: usize, height: usize, value: f32) -> GrayImage {
        GrayImage::new(width, height, vec![value; width * height]).unwrap()
    }

    fn image_error(result: Result<GrayImage, ImageError>) -> ImageError {
        result.expect_err("expected an image error")
    }

    #[test]
    fn constant_image_stays_constant() {
        // Exact factor, fractional factor, and a non-square image.
        for (w, h, s) in [(64, 64, 8), (100, 100, 16), (37, 53, 4), (300, 200, 64)] {
            let small = constant(w, h, 0.3).downsample(s).unwrap();
            assert_eq!((small.width(), small.height()), (s, s));
            assert!(small.pixels().iter().all(|v| (v - 0.3).abs() < 1e-6));
        }
    }

    #[test]
    fn known_pattern_averages_right() {
        // 8×8 of 2×2 blocks holding 0, 1, 2, 3 → each output pixel is 1.5.
        let pixels = (0..64).map(|i| ((i / 8 % 2) * 2 + i % 2) as f32).collect();
        let image = GrayImage::new(8, 8, pixels).unwrap();
        let small = image.downsample(4).unwrap();
        assert!(small.pixels().iter().all(|&v| v == 1.5));

        // 8×8 with value = row index → output row r holds the mean of rows 2r and 2r+1.
        let rows = (0..64).map(|i| (i / 8) as f32).collect();
        let small = GrayImage::new(8, 8, rows).unwrap().downsample(4).unwrap();
        for r in 0..4 {
            assert_eq!(small.get(r, 3), Some(2.0 * r as f32 + 0.5));
        }
        // Fractional weights: 6 columns → 4 output cells of 1.5 pixels each.
        let cols: Vec<f32> = (0..36).map(|i| (i % 6) as f32).collect();
        let small = GrayImage::new(6, 6, cols).unwrap().downsample(4).unwrap();
        let expected = [1.0 / 3.0, 5.0 / 3.0, 10.0 / 3.0, 14.0 / 3.0];
        for (c, e) in expected.iter().enumerate() {
            assert!((small.get(0, c).unwrap() - e).abs() < 1e-5);
        }
    }

    #[test]
    fn centre_crop_keeps_the_middle() {
        // 6 wide × 4 high: columns 1..5 survive.
        let pixels = (0..24).map(|i| (i % 6) as f32).collect();
        let square = GrayImage::new(6, 4, pixels).unwrap().center_crop_square();
        assert_eq!((square.width(), square.height()), (4, 4));
        assert_eq!(&square.pixels()[..4], &[1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn colour_becomes_rec709_luma() {
        let rgb = encode::<::image::Rgb<u8>>(
            3,
            1,
            vec![255, 0, 0, 0, 255, 0, 0, 0, 255],
            ImageFormat::Png,
        );
        let gray = decode_gray(&rgb).unwrap();
        for (v, w) in gray.pixels().iter().zip(LUMA_709) {
            assert!((v - w).abs() < 1e-6);
        }
        let gray_png = encode::<::image::Luma<u8>>(2, 1, vec![0, 51], ImageFormat::Png);
        assert_eq!(decode_gray(&gray_png).unwrap().pixels(), &[0.0, 0.2]);
        let jpeg = encode::<::image::Rgb<u8>>(16, 16, vec![200; 16 * 16 * 3], ImageFormat::Jpeg);
        let gray = decode_gray(&jpeg).unwrap();
        assert!(gray
            .pixels()
            .iter()
            .all(|v| (v - 200.0 / 255.0).abs() < 0.02));
    }

    #[test]
    fn png_round_trip() {
        let pixels = (0..16).map(|i| i as f32 / 15.0).collect();
        let image = GrayImage::new(4, 4, pixels).unwrap();
        let back = decode_gray(&image.to_png_bytes().unwrap()).unwrap();
        for (a, b) in image.pixels().iter().zip(back.pixels()) {
            assert!((a - b).abs() <= 0.5 / 255.0 + 1e-6);
        }
    }

    #[test]
    fn errors() {
        assert_eq!(image_error(decode_gray(&[])), ImageError::Empty);
        assert_eq!(
            image_error(decode_gray(b"P1 this is not an image")),
            ImageError::NotAnImage
        );
        let mut truncated = encode::<::image::Luma<u8>>(8, 8, vec![9; 64], ImageFormat::Png);
        truncated.truncate(30);
        assert!(matches!(
            image_error(decode_gray(&truncated)),
            ImageError::Decode { .. }
        ));
        let tiny = decode_gray(&encode::<::image::Luma<u8>>(
            3,
            3,
            vec![0; 9],
            ImageFormat::Png,
        ))
        .unwrap();
        assert_eq!(
            image_error(tiny.downsample(4)),
            ImageError::TooSmall {
                width: 3,
                height: 3,
                size: 4
            }
        );
        let big = constant(64, 64, 0.5);
        for size in [0, 2, 3, 6, 48] {
            assert_eq!(
                image_error(big.downsample(size)),
                ImageError::BadSize { size }
            );
        }
        assert!(matches!(
            image_error(big.downsample(128)),
            ImageError::TooSmall { .. }
        ));
        assert_eq!(
            GrayImage::new(2, 2, vec![0.0; 3]),
            Err(ImageError::ShapeMismatch {
                width: 2,
                height: 2,
                pixels: 3
            })
        );
    }

    #[test]
    fn huge_claimed_dimensions_are_refused() {
        // A valid 1×1 PNG whose header is patched to claim 100000×100000 (CRC fixed up).
        let mut png = encode::<::image::Luma<u8>>(1, 1, vec![0], ImageFormat::Png);
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        let err = image_error(decode_gray(&png));
        assert_eq!(err, ImageError::OverLimits);
    }

    /// A valid PNG with its IHDR rewritten (CRC fixed up) to claim other dimensions.
    fn lying_png(width: u32, height: u32, color_type: u8) -> Vec<u8> {
        let mut png = encode::<::image::Luma<u8>>(1, 1, vec![0], ImageFormat::Png);
        png[16..20].copy_from_slice(&width.to_be_bytes());
        png[20..24].copy_from_slice(&height.to_be_bytes());
        png[25] = color_type;
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        png
    }

    #[test]
    fn claims_beyond_what_the_file_can_hold_are_refused_before_decoding() {
        // Within the side limit, but 8192² RGBA pixels cannot fit in ~70 bytes of PNG: the
        // decoder would have allocated 256 MiB for them.
        let png = lying_png(8192, 8192, 6);
        let err = image_error(decode_gray(&png));
        assert_eq!(
            err,
            ImageError::MorePixelsThanBytes {
                width: 8192,
                height: 8192,
                file_bytes: png.len(),
                max_pixels: PNG_PIXELS_PER_BYTE * png.len() as u64,
            }
        );
        assert!(err.to_string().contains("8192×8192"), "{err}");
        // A claim the file could hold gets to the decoder, which finds the data missing.
        let small = lying_png(64, 64, 0);
        assert!(matches!(
            image_error(decode_gray(&small)),
            ImageError::Decode { .. }
        ));
        // A JPEG header claiming 4096² pixels, then a 400-byte scan: the lenient JPEG decoder
        // would fill in the missing blocks and return a 16-megapixel image.
        let jpeg = encode::<::image::Luma<u8>>(16, 16, vec![128; 256], ImageFormat::Jpeg);
        let sof = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .expect("a baseline JPEG has SOF0");
        let mut lying = jpeg.clone();
        lying[sof + 5..sof + 9].copy_from_slice(&[0x10, 0x00, 0x10, 0x00]);
        assert!(matches!(
            image_error(decode_gray(&lying)),
            ImageError::MorePixelsThanBytes {
                width: 4096,
                height: 4096,
                ..
            }
        ));
    }

    /// CRC-32 (IEEE), as PNG chunks use.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn file_errors_name_the_file() {
        let path =
            std::env::temp_dir().join(format!("fprinciple-empty-{}.png", std::process::id()));
        std::fs::write(&path, b"").unwrap();
        let err = load_gray(&path).unwrap_err();
        assert!(err.to_string().contains("fprinciple-empty"), "{err}");
        assert!(err.to_string().contains("empty"), "{err}");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn save_and_load_a_file() {
        let path = std::env::temp_dir().join(format!("fprinciple-save-{}.png", std::process::id()));
        let image = constant(8, 8, 1.0);
        image.save_png(&path).unwrap();
        let back = load_downsampled(&path, 4).unwrap();
        assert!(back.pixels().iter().all(|&v| v == 1.0));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn embedded_camera_loads() {
        let camera = embedded_camera().unwrap();
        assert_eq!((camera.width(), camera.height()), (512, 512));
        let small = embedded_camera_downsampled(64).unwrap();
        assert_eq!(small.pixels().len(), 64 * 64);
        // Area averaging preserves the mean.
        let mean = |p: &[f32]| p.iter().map(|&v| f64::from(v)).sum::<f64>() / p.len() as f64;
        let (big_mean, small_mean) = (mean(camera.pixels()), mean(small.pixels()));
        assert!(
            (big_mean - small_mean).abs() < 1e-5,
            "{big_mean} vs {small_mean}"
        );
        // A photograph, not a flat field.
        let (lo, hi) = small
            .pixels()
            .iter()
            .fold((1.0f32, 0.0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        assert!(hi - lo > 0.5);
    }

    proptest::proptest! {
        #![proptest_config(crate::data::fuzz_config())]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = decode_gray(&bytes);
        }

        #[test]
        fn corrupted_png_never_panics(
            flips in proptest::collection::vec((proptest::num::usize::ANY, proptest::num::u8::ANY), 1..8),
        ) {
            let mut png = encode::<::image::Luma<u8>>(8, 8, (0..64).collect(), ImageFormat::Png);
            let len = png.len();
            for (at, value) in flips {
                png[at % len] = value;
            }
            if let Ok(image) = decode_gray(&png) {
                let _ = image.downsample(4);
            }
        }
    }
}
