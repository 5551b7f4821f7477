#!/usr/bin/env python3
"""Writes the malformed-input corpus under idx/ and image/ next to this script.

The committed files are the corpus; this script records how each was made and can rebuild them
(`python3 host/tests/corpus/make.py`). Inputs found by fuzzing are added as files by hand, with
a line in cases.txt. Every file needs a line in cases.txt (host/tests/corpus.rs checks this).
"""
import gzip
import io
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
IMAGES_MAGIC = 0x0803
LABELS_MAGIC = 0x0801


def write(sub, name, data):
    os.makedirs(os.path.join(HERE, sub), exist_ok=True)
    with open(os.path.join(HERE, sub, name), "wb") as f:
        f.write(data)


def idx(magic, dims, payload=b""):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload


def gz(data, level=9):
    # mtime 0 so the bytes do not depend on when the script runs.
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=level, mtime=0) as f:
        f.write(data)
    return buf.getvalue()


def gz_stream(header, zeros):
    """gzip of `header` followed by `zeros` zero bytes, compressed in pieces."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=9, mtime=0) as f:
        f.write(header)
        chunk = bytes(1 << 20)
        while zeros > 0:
            f.write(chunk[: min(zeros, len(chunk))])
            zeros -= min(zeros, len(chunk))
    return buf.getvalue()


def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


PNG_SIG = b"\x89PNG\r\n\x1a\n"


def png(width, height, color_type, bit_depth, rows, ihdr=None):
    """A PNG with one IDAT holding `rows` (filter byte included per row)."""
    ihdr = ihdr or struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        PNG_SIG
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def gray_png(width, height, values):
    rows = b"".join(b"\x00" + bytes(values[r * width:(r + 1) * width]) for r in range(height))
    return png(width, height, 0, 8, rows)


def with_ihdr(data, width, height, color_type=0, bit_depth=8):
    """`data` (a PNG) with its IHDR replaced, CRC fixed up: the header lies, the rest is real."""
    body = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return data[:8] + chunk(b"IHDR", body) + data[33:]


def jpeg_sof(width, height):
    """The start of a baseline grayscale JPEG: SOI, one quantization table, SOF0; no scan."""
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\x00" + bytes([1] * 64)
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + dqt + sof


def jpeg_gray_8x8(width, height):
    """A complete grayscale baseline JPEG whose blocks are all zero (mid-gray).

    One DC table with a single 1-bit code for category 0, one AC table with a single 1-bit code
    for EOB: every 8x8 block costs two bits, so the claimed size is what the scan pays for.
    """
    dht_dc = b"\xff\xc4" + struct.pack(">H", 2 + 1 + 16 + 1) + b"\x00" + bytes([1] + [0] * 15) + b"\x00"
    dht_ac = b"\xff\xc4" + struct.pack(">H", 2 + 1 + 16 + 1) + b"\x10" + bytes([1] + [0] * 15) + b"\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00" + b"\x00\x3f\x00"
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    bits = "00" * blocks
    bits += "1" * (-len(bits) % 8)
    scan = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
    return jpeg_sof(width, height) + dht_dc + dht_ac + sos + scan + b"\xff\xd9"


def main():
    # ---- IDX -------------------------------------------------------------------------------
    pixels = bytes(i * 15 for i in range(18))
    images = idx(IMAGES_MAGIC, [3, 2, 3], pixels)
    labels = idx(LABELS_MAGIC, [3], bytes([7, 0, 9]))
    write("idx", "valid-images-idx3", images)
    write("idx", "valid-labels-idx1", labels)
    write("idx", "valid-images-idx3.gz", gz(images))
    write("idx", "valid-labels-idx1.gz", gz(labels))
    # Two gzip members back to back (as `cat a.gz b.gz` makes): one stream.
    write("idx", "valid-two-gzip-members.gz", gz(images[:10]) + gz(images[10:]))
    write("idx", "empty", b"")
    write("idx", "truncated-magic", images[:3])
    write("idx", "truncated-dimensions", images[:10])
    write("idx", "truncated-data", images[:-1])
    write("idx", "trailing-bytes", images + b"\x00")
    write("idx", "not-idx-png-signature", PNG_SIG + bytes(8))
    write("idx", "not-idx-text", b"label,pixel0,pixel1\n7,0,255\n")
    write("idx", "unknown-type-code", idx(0x0703, [3, 2, 3], pixels))
    write("idx", "float-type-images", idx(0x0D03, [3, 2, 3], bytes(72)))
    write("idx", "zero-dimension-count", idx(0x0800, []))
    write("idx", "two-dimensions-for-images", idx(0x0802, [3, 6], pixels))
    write("idx", "claims-255-dimensions", idx(0x08FF, [3, 2, 3], pixels))
    write("idx", "zero-images", idx(IMAGES_MAGIC, [0, 28, 28]))
    write("idx", "zero-columns", idx(IMAGES_MAGIC, [5, 28, 0]))
    write("idx", "claims-4294967295-images", idx(IMAGES_MAGIC, [0xFFFFFFFF, 28, 28], bytes(100)))
    write("idx", "claims-max-every-dimension", idx(IMAGES_MAGIC, [0xFFFFFFFF] * 3, bytes(100)))
    write("idx", "claims-1m-images", idx(IMAGES_MAGIC, [1_000_000, 28, 28], bytes(100)))
    write("idx", "claims-100-images-holds-1", idx(IMAGES_MAGIC, [100, 28, 28], bytes(784)))
    write("idx", "claims-4294967295-labels", idx(LABELS_MAGIC, [0xFFFFFFFF], bytes(3)))
    write("idx", "labels-two-for-three-images", idx(LABELS_MAGIC, [2], bytes([1, 2])))
    write("idx", "labels-four-for-three-images", idx(LABELS_MAGIC, [4], bytes([1, 2, 3, 4])))
    write("idx", "label-10", idx(LABELS_MAGIC, [3], bytes([1, 10, 2])))
    write("idx", "label-255", idx(LABELS_MAGIC, [3], bytes([1, 2, 255])))
    # gzip
    good = gz(images)
    write("idx", "gzip-magic-only.gz", b"\x1f\x8b")
    write("idx", "gzip-of-garbage.gz", b"\x1f\x8b\x08\x00" + bytes([0xAB]) * 40)
    write("idx", "gzip-truncated.gz", good[: len(good) // 2])
    write("idx", "gzip-without-trailer.gz", good[:-8])
    bad_crc = bytearray(good)
    bad_crc[-8] ^= 0xFF
    write("idx", "gzip-bad-crc.gz", bytes(bad_crc))
    bad_size = bytearray(good)
    bad_size[-4] ^= 0x01
    write("idx", "gzip-bad-length.gz", bytes(bad_size))
    write("idx", "gzip-then-garbage.gz", good + b"this is not a gzip member")
    write("idx", "gzip-of-text.gz", gz(b"hello, world"))
    write("idx", "gzip-of-truncated-header.gz", gz(images[:10]))
    write("idx", "gzip-of-truncated-data.gz", gz(images[:-1]))
    # Bombs: a few KB that inflate to megabytes behind a header that declares 18 bytes, and a
    # header that declares more than the cap; both are refused after the header's share.
    write("idx", "gzip-bomb-8mb-behind-18-byte-header.gz", gz_stream(idx(IMAGES_MAGIC, [3, 2, 3]), 8 << 20))
    write("idx", "gzip-bomb-claims-200000-images.gz", gz_stream(idx(IMAGES_MAGIC, [200_000, 28, 28]), 1 << 20))
    write("idx", "gzip-bomb-labels-8mb.gz", gz_stream(idx(LABELS_MAGIC, [3]), 8 << 20))

    # ---- images ----------------------------------------------------------------------------
    one = gray_png(1, 1, [128])
    eight = gray_png(8, 8, list(range(0, 256, 4)))
    write("image", "valid-1x1.png", one)
    write("image", "valid-8x8.png", eight)
    rgb_rows = b"".join(b"\x00" + bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9]) for _ in range(4))
    write("image", "valid-4x4-rgb.png", png(4, 4, 2, 8, rgb_rows))
    rgba16_rows = b"".join(b"\x00" + bytes([0x80, 0, 0x80, 0, 0x80, 0, 0xFF, 0xFF] * 4) for _ in range(4))
    write("image", "valid-4x4-rgba16.png", png(4, 4, 6, 16, rgba16_rows))
    write("image", "valid-1bit-32x32.png", png(32, 32, 0, 1, b"".join(b"\x00\xaa\x55\xaa\x55" for _ in range(32))))
    jpeg16 = jpeg_gray_8x8(16, 16)
    write("image", "valid-16x16.jpg", jpeg16)
    write("image", "png-named.jpg", eight)
    write("image", "jpeg-named.png", jpeg16)
    write("image", "png-without-extension", eight)
    write("image", "empty.png", b"")
    write("image", "text.png", b"this is a text file, not an image\n")
    write("image", "idx-named.png", images)
    write("image", "gif.png", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")
    write("image", "bmp.png", b"BM" + bytes(60))
    write("image", "png-signature-only.png", PNG_SIG)
    write("image", "png-truncated-signature.png", PNG_SIG[:4])
    write("image", "png-truncated-ihdr.png", eight[:20])
    write("image", "png-truncated-idat.png", eight[: len(eight) - 20])
    write("image", "png-without-iend.png", eight[:-12])
    bad = bytearray(eight)
    bad[29] ^= 0xFF
    write("image", "png-bad-ihdr-crc.png", bytes(bad))
    bad = bytearray(eight)
    bad[-20] ^= 0xFF  # inside the IDAT data or its CRC
    write("image", "png-corrupt-idat.png", bytes(bad))
    write("image", "png-no-idat.png", PNG_SIG + eight[8:33] + chunk(b"IEND", b""))
    write("image", "png-ihdr-100000x100000.png", with_ihdr(one, 100_000, 100_000))
    write("image", "png-ihdr-16384x1.png", with_ihdr(one, 16_384, 1))
    write("image", "png-ihdr-8192x8192-rgba.png", with_ihdr(one, 8192, 8192, color_type=6))
    write("image", "png-ihdr-8192x8192-gray.png", with_ihdr(one, 8192, 8192))
    write("image", "png-ihdr-4096x4096-gray.png", with_ihdr(one, 4096, 4096))
    write("image", "png-ihdr-zero-width.png", with_ihdr(one, 0, 1))
    write("image", "png-ihdr-bit-depth-3.png", with_ihdr(one, 1, 1, bit_depth=3))
    write("image", "png-ihdr-color-type-5.png", with_ihdr(one, 1, 1, color_type=5))
    write("image", "jpeg-soi-only.jpg", b"\xff\xd8")
    write("image", "jpeg-sof-only-16x16.jpg", jpeg_sof(16, 16))
    write("image", "jpeg-truncated-scan.jpg", jpeg16[:-4])
    write("image", "jpeg-sof-8192x8192-no-scan.jpg", jpeg_sof(8192, 8192))
    # A real scan of 8192x8192 costs 2 bits per block: about 256 KB, a size the corpus does
    # not need; this one declares it and stops after the first rows of blocks.
    write("image", "jpeg-8192x8192-truncated-scan.jpg", jpeg_gray_8x8(8192, 8192)[:400] + b"\xff\xd9")
    write("image", "jpeg-sof-zero-height.jpg", jpeg_sof(16, 0))
    write("image", "jpeg-sof-65535x65535.jpg", jpeg_sof(65535, 65535))
    write("image", "tiny-3x3-for-size-4.png", gray_png(3, 3, [0] * 9))


if __name__ == "__main__":
    main()
