//! The products on a processor whose floating-point unit is scalar: a Cortex-M4F (32
//! single-precision registers, a multiply-accumulate per instruction, no SIMD) or a Cortex-M3
//! (software floats). [`super::matmul`] uses them when `target_arch = "arm"`; the core's tests
//! run them on every host.
//!
//! The contract is the desktop kernel's: every output element is summed from `0.0` in the order
//! `p = 0, 1, …, k − 1`, so the results are the same bits. What differs is the shape of the work:
//!
//! - **Tiles.** An output tile of [`TILE_ROWS`] × [`TILE_COLS`] accumulators stays in registers
//!   for the whole sum. A row-major right-hand matrix is read in place, one row per step of the
//!   sum, so the tile is loaded and stored once; a transposed one is packed [`PANEL_DEPTH`] rows
//!   at a time. The left-hand values of a step are read as `R` row slices side by side
//!   (row-major) or as `R` adjacent values of one row (transposed, as in the weight gradient).
//! - **One-wide products.** When `m` or `n` is 1, `c` and `cᵀ = bᵀ · aᵀ` have the same layout,
//!   so the product is computed the way round that reads best. One output row is a row vector
//!   times a row-major matrix, with a block of sums in registers; one output column takes the
//!   tiles, one column wide. When `k` is 1 each element is a single product `0.0 + a · b`, an
//!   outer product written a column block at a time.
//! - **Bias.** The forward pass's bias is added to each finished sum as it is stored by the
//!   outer product and the row vector, and in a pass with the biases in registers after the
//!   tiles; either way it is the same addition, after the whole sum.
//! - **Fused rounding** ([`super::Arithmetic::Fused`]) takes a plain ordered loop: without an
//!   FMA unit each step is a software `fmaf` costing far more than the loop around it, and the
//!   tiles would only add flash.

use super::{Product, Strided};
use core::slice::ChunksExact;

/// Rows of the output tile: 4 × 4 accumulators and 4 + 4 operands take 24 of the Cortex-M4F's 32
/// single-precision registers. The compiler unrolls the loop over the sum by two; the second
/// step's operands still fit (a 2 × 8 tile, 26 registers a step, spills when unrolled, and the
/// accumulators are shuffled between registers). Each step loads 8 values for 16
/// multiply-accumulates.
const TILE_ROWS: usize = 4;
/// Widest output tile; narrower blocks of 1 column take the rest.
const TILE_COLS: usize = 4;
/// Columns of a block of [`add_bias`] and [`column_sums`]: 8 values and 8 sums (or biases) in
/// registers; narrower blocks of 1 column take the rest.
const VECTOR_COLS: usize = 8;
/// Rows of a transposed right-hand matrix packed at a time: 32 × 4 values, 512 B of stack, so
/// that a 32-input layer's forward product is one pass.
const PANEL_DEPTH: usize = 32;

/// `c (m × n) = a (m × k) · b (k × n)`, overwriting `c` (row-major), then `c[i][j] += bias[j]`
/// if there is a bias (`n` values). `fused` selects the fused multiply-add rounding. Lengths
/// are checked by the callers.
pub(super) fn matmul(fused: bool, product: Product<'_>, bias: Option<&[f32]>, c: &mut [f32]) {
    let Product { m, k, n, a, b } = product;
    let c = match c.get_mut(..m * n) {
        Some(c) if !c.is_empty() => c,
        _ => return,
    };
    if k == 0 {
        c.fill(0.0);
    } else if fused {
        ordered::<true>(k, n, a, b, c);
    } else if (n == 1 && m > 1 && a.row == 1) || (m == 1 && n > 1 && b.col != 1) {
        // A one-wide product the way round that reads best: a row of outputs whose right-hand
        // matrix is row-major (read in place), or a column whose right-hand operand is a
        // vector. The bias then runs along the other side; it is added afterwards.
        separate(k, m, transposed(b), transposed(a), None, c);
    } else {
        separate(k, n, a, b, bias, c);
        return;
    }
    if let Some(bias) = bias {
        add_bias(c, bias);
    }
}

/// [`matmul`] with separate rounding, `k ≥ 1`.
fn separate(
    k: usize,
    n: usize,
    a: Strided<'_>,
    b: Strided<'_>,
    bias: Option<&[f32]>,
    c: &mut [f32],
) {
    let m = c.len() / n;
    let (a_len, b_len) = (a.data.len(), b.data.len());
    if k == 1 && a.row == 1 && b.col == 1 {
        if let (Some(x), Some(y)) = (a.data.get(..m), b.data.get(..n)) {
            outer(x, y, bias, c);
            return;
        }
    }
    if m == 1 && a.col == 1 && b.col == 1 && b.row >= n {
        if let (Some(x), Some(rows)) = (a.data.get(..k), b.data.get(..k * b.row)) {
            row_vector(x, rows.chunks_exact(b.row), bias, c);
            return;
        }
    }
    // The tiles read a row-major `a` as `m` rows of `k`, a transposed one as `k` rows of
    // `a.col ≥ m`; `b` in place as `k` rows of `b.row ≥ n` (or one column), else packed from
    // `n` contiguous columns. Other layouts, which the layers never pass, take the ordered loop.
    let left = if a.col == 1 {
        (m - 1) * a.row + k <= a_len
    } else {
        a.row == 1 && a.col >= m && k * a.col <= a_len
    };
    let in_place = ((b.col == 1 && b.row >= n) || (n == 1 && b.row > 0)) && k * b.row <= b_len;
    let packed = b.row == 1 && (n - 1) * b.col + k <= b_len;
    if left && (in_place || packed) {
        tiled(k, n, a, b, in_place, c);
    } else {
        ordered::<false>(k, n, a, b, c);
    }
    if let Some(bias) = bias {
        add_bias(c, bias);
    }
}

/// `sᵀ`: the same elements with rows and columns swapped.
fn transposed(s: Strided<'_>) -> Strided<'_> {
    Strided::new(s.data, s.col, s.row)
}

/// Element `(i, j)`, or zero out of range.
fn element(s: Strided<'_>, i: usize, j: usize) -> f32 {
    s.data.get(i * s.row + j * s.col).copied().unwrap_or(0.0)
}

/// The textbook loop, for fused rounding and for layouts the callers never pass.
fn ordered<const FUSED: bool>(k: usize, n: usize, a: Strided<'_>, b: Strided<'_>, c: &mut [f32]) {
    for (i, c_row) in c.chunks_exact_mut(n).enumerate() {
        for (j, out) in c_row.iter_mut().enumerate() {
            *out = (0..k).fold(0.0, |sum, p| {
                let (x, y) = (element(a, i, p), element(b, p, j));
                if FUSED {
                    crate::float::mul_add(x, y, sum)
                } else {
                    sum + x * y
                }
            });
        }
    }
}

/// `c[i][j] = 0.0 + x[i] · y[j]` (plus `bias[j]`): a product of depth 1. The zero is added as
/// in every other sum, so a product of −0 gives +0 here too.
fn outer(x: &[f32], y: &[f32], bias: Option<&[f32]>, c: &mut [f32]) {
    let n = y.len();
    let mut col = 0;
    while col < n {
        col += match (n - col, bias) {
            (left, None) if left >= VECTOR_COLS => {
                outer_block::<VECTOR_COLS, false>(x, y, &[], col, c)
            }
            (left, Some(bias)) if left >= VECTOR_COLS => {
                outer_block::<VECTOR_COLS, true>(x, y, bias, col, c)
            }
            (_, None) => outer_block::<1, false>(x, y, &[], col, c),
            (_, Some(bias)) => outer_block::<1, true>(x, y, bias, col, c),
        };
    }
}

/// Columns `col .. col + W` of [`outer`], with `y`'s `W` values (and, with `BIAS`, the biases)
/// held in registers; returns `W`.
#[inline(always)]
fn outer_block<const W: usize, const BIAS: bool>(
    x: &[f32],
    y: &[f32],
    bias: &[f32],
    col: usize,
    c: &mut [f32],
) -> usize {
    let n = y.len();
    let bias = match bias.get(col..).and_then(|s| s.first_chunk::<W>()) {
        Some(bias) if BIAS => *bias,
        _ => [0.0; W],
    };
    if let Some(y) = y.get(col..).and_then(|s| s.first_chunk::<W>()) {
        for (c_row, &s) in c.chunks_exact_mut(n).zip(x) {
            let Some(out) = c_row.get_mut(col..).and_then(|r| r.first_chunk_mut::<W>()) else {
                break;
            };
            for ((o, &v), &b) in out.iter_mut().zip(y).zip(&bias) {
                let sum = 0.0;
                *o = if BIAS { sum + s * v + b } else { sum + s * v };
            }
        }
    }
    W
}

/// `c[j] = Σ_p x[p] · rows[p][j]` (plus `bias[j]`): a product with one output row, a block of
/// columns at a time with the block's sums in registers.
fn row_vector(x: &[f32], rows: ChunksExact<'_, f32>, bias: Option<&[f32]>, c: &mut [f32]) {
    let n = c.len();
    let mut col = 0;
    while col < n {
        col += match n - col {
            left if left >= VECTOR_COLS => {
                row_vector_block::<VECTOR_COLS>(x, rows.clone(), bias, col, c)
            }
            _ => row_vector_block::<1>(x, rows.clone(), bias, col, c),
        };
    }
}

/// Columns `col .. col + W` of [`row_vector`]; returns `W`.
#[inline(always)]
fn row_vector_block<const W: usize>(
    x: &[f32],
    rows: ChunksExact<'_, f32>,
    bias: Option<&[f32]>,
    col: usize,
    c: &mut [f32],
) -> usize {
    let mut acc = [0.0f32; W];
    for (&s, row) in x.iter().zip(rows) {
        let Some(y) = row.get(col..).and_then(|r| r.first_chunk::<W>()) else {
            break;
        };
        for (o, &v) in acc.iter_mut().zip(y) {
            *o += s * v;
        }
    }
    if let Some(bias) = bias
        .and_then(|b| b.get(col..))
        .and_then(|b| b.first_chunk::<W>())
    {
        for (o, &v) in acc.iter_mut().zip(bias) {
            *o += v;
        }
    }
    if let Some(out) = c.get_mut(col..).and_then(|s| s.first_chunk_mut::<W>()) {
        *out = acc;
    }
    W
}

/// The right-hand rows a tile reads: row `p` of the sum is `data[p · stride + offset ..][..W]`.
#[derive(Clone, Copy)]
struct Rows<'a> {
    data: &'a [f32],
    stride: usize,
    offset: usize,
}

/// The tiled product. `a` is row-major (`a.col == 1`) or transposed (`a.row == 1`); `b` is read
/// in place when `in_place` (row-major, or a single column), else packed (`b.row == 1`).
fn tiled(k: usize, n: usize, a: Strided<'_>, b: Strided<'_>, in_place: bool, c: &mut [f32]) {
    let mut panel = [0.0f32; PANEL_DEPTH * TILE_COLS];
    let mut col = 0;
    while col < n {
        col += match n - col {
            left if left >= TILE_COLS => {
                column_block::<TILE_COLS>(k, n, col, a, b, in_place, &mut panel, c)
            }
            _ => column_block::<1>(k, n, col, a, b, in_place, &mut panel, c),
        };
    }
}

/// Columns `col .. col + W` of `c`; returns `W`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn column_block<const W: usize>(
    k: usize,
    n: usize,
    col: usize,
    a: Strided<'_>,
    b: Strided<'_>,
    in_place: bool,
    panel: &mut [f32; PANEL_DEPTH * TILE_COLS],
    c: &mut [f32],
) -> usize {
    if in_place {
        if let Some(data) = b.data.get(..k * b.row) {
            let rows = Rows {
                data,
                stride: b.row,
                offset: col,
            };
            row_tiles::<W>(n, col, a, 0, rows, true, c);
        }
    } else {
        let mut p0 = 0;
        while p0 < k {
            let depth = PANEL_DEPTH.min(k - p0);
            let Some(panel) = panel.get_mut(..depth * W) else {
                break;
            };
            pack::<W>(b, p0, col, panel);
            let rows = Rows {
                data: panel,
                stride: W,
                offset: 0,
            };
            row_tiles::<W>(n, col, a, p0, rows, p0 == 0, c);
            p0 += depth;
        }
    }
    W
}

/// Rows `p0 ..` of a transposed `b` (each column contiguous), columns `col .. col + W`, into
/// `panel` (row `p` at `p · W`).
#[inline(always)]
fn pack<const W: usize>(b: Strided<'_>, p0: usize, col: usize, panel: &mut [f32]) {
    let depth = panel.len() / W;
    for w in 0..W {
        let start = (col + w) * b.col + p0;
        if let Some(column) = b.data.get(start..start + depth) {
            for (row, &v) in panel.chunks_exact_mut(W).zip(column) {
                if let Some(slot) = row.get_mut(w) {
                    *slot = v;
                }
            }
        }
    }
}

/// Every row tile of columns `col .. col + W` over the steps `p0 .. p0 + depth` that `b` holds,
/// starting from zero (`first`) or from the partial sums in `c`.
#[inline(never)]
fn row_tiles<const W: usize>(
    n: usize,
    col: usize,
    a: Strided<'_>,
    p0: usize,
    b: Rows<'_>,
    first: bool,
    c: &mut [f32],
) {
    let depth = b.data.len() / b.stride.max(1);
    let mut tiles = c.chunks_exact_mut(TILE_ROWS * n);
    let mut row0 = 0;
    for c_rows in &mut tiles {
        tile::<TILE_ROWS, W>(a, row0, p0, depth, b, first, n, col, c_rows);
        row0 += TILE_ROWS;
    }
    for c_row in tiles.into_remainder().chunks_exact_mut(n) {
        tile::<1, W>(a, row0, p0, depth, b, first, n, col, c_row);
        row0 += 1;
    }
}

/// Adds `a(row0 .. row0 + R, p0 .. p0 + depth) · b` to the `R × W` tile of `c` at (`row0`,
/// `col`), or writes it when `first`.
///
/// Kept out of line: inlined into the loop over tiles, the compiler shares one pointer among
/// the left-hand rows and reloads their offsets from the stack at every step.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn tile<const R: usize, const W: usize>(
    a: Strided<'_>,
    row0: usize,
    p0: usize,
    depth: usize,
    b: Rows<'_>,
    first: bool,
    n: usize,
    col: usize,
    c_rows: &mut [f32],
) {
    let mut acc = [[0.0f32; W]; R];
    if !first {
        for (acc_row, c_row) in acc.iter_mut().zip(c_rows.chunks_exact(n)) {
            if let Some(part) = c_row.get(col..).and_then(|s| s.first_chunk::<W>()) {
                *acc_row = *part;
            }
        }
    }
    let ys = b.data.chunks_exact(b.stride.max(1));
    if a.col == 1 {
        // Row-major: the tile's rows are slices read side by side.
        let rows = tile_rows::<R>(a, row0, p0, depth).unwrap_or([&[]; R]);
        match rows.as_slice() {
            [r0] => {
                let steps = r0.iter().zip(ys).map(|(&v0, y)| (widen([v0]), y));
                accumulate(&mut acc, steps, b.offset);
            }
            [r0, r1, r2, r3] => {
                let steps = r0
                    .iter()
                    .zip(*r1)
                    .zip(*r2)
                    .zip(*r3)
                    .zip(ys)
                    .map(|((((&v0, &v1), &v2), &v3), y)| (widen([v0, v1, v2, v3]), y));
                accumulate(&mut acc, steps, b.offset);
            }
            _ => {
                let steps = ys.enumerate().map(|(p, y)| {
                    let x = core::array::from_fn(|r| {
                        rows.get(r)
                            .and_then(|row| row.get(p))
                            .copied()
                            .unwrap_or(0.0)
                    });
                    (x, y)
                });
                accumulate(&mut acc, steps, b.offset);
            }
        }
    } else {
        // Transposed: the tile's `R` values of a step are adjacent, one row of `a`'s storage
        // per step.
        let storage = a.data.get(p0 * a.col..).unwrap_or(&[]);
        let storage = storage.get(..depth * a.col).unwrap_or(&[]);
        let steps = storage.chunks_exact(a.col.max(1)).zip(ys);
        accumulate_transposed(&mut acc, steps, row0, b.offset);
    }
    for (c_row, acc_row) in c_rows.chunks_exact_mut(n).zip(&acc) {
        if let Some(part) = c_row.get_mut(col..).and_then(|s| s.first_chunk_mut::<W>()) {
            *part = *acc_row;
        }
    }
}

/// Rows `row0 .. row0 + R` of a row-major `a`, steps `p0 .. p0 + depth`.
#[inline(always)]
fn tile_rows<const R: usize>(
    a: Strided<'_>,
    row0: usize,
    p0: usize,
    depth: usize,
) -> Option<[&[f32]; R]> {
    let mut rest = a.data.get(row0 * a.row + p0..)?;
    let mut rows = [&[][..]; R];
    for (r, row) in rows.iter_mut().enumerate() {
        *row = rest.get(..depth)?;
        if r + 1 < R {
            rest = rest.get(a.row..)?;
        }
    }
    Some(rows)
}

/// `values` as an `R`-value column: the same array when `N = R`, which is the only way it is
/// called.
#[inline(always)]
fn widen<const R: usize, const N: usize>(values: [f32; N]) -> [f32; R] {
    core::array::from_fn(|r| values.get(r).copied().unwrap_or(0.0))
}

/// `acc += x · y[offset .. offset + W]` for each step's left-hand column `x` and right-hand row
/// `y`. The rows' bounds check is the same at every step (the rows have one length), so the
/// loop leaves when it fails and the compiler moves it out of the loop; it never fails.
#[inline(always)]
fn accumulate<'y, const R: usize, const W: usize>(
    acc: &mut [[f32; W]; R],
    steps: impl Iterator<Item = ([f32; R], &'y [f32])>,
    offset: usize,
) {
    for (x, y) in steps {
        let Some(y) = y.get(offset..).and_then(|s| s.first_chunk::<W>()) else {
            break;
        };
        multiply_add(acc, &x, y);
    }
}

/// [`accumulate`] with each step's left-hand values at `row0 ..` of a row of storage.
#[inline(always)]
fn accumulate_transposed<'x, 'y, const R: usize, const W: usize>(
    acc: &mut [[f32; W]; R],
    steps: impl Iterator<Item = (&'x [f32], &'y [f32])>,
    row0: usize,
    offset: usize,
) {
    for (x, y) in steps {
        let (Some(x), Some(y)) = (
            x.get(row0..).and_then(|s| s.first_chunk::<R>()),
            y.get(offset..).and_then(|s| s.first_chunk::<W>()),
        ) else {
            break;
        };
        multiply_add(acc, x, y);
    }
}

/// One step of the sum for the whole tile: `acc[r][w] = acc[r][w] + x[r] · y[w]`.
#[inline(always)]
fn multiply_add<const R: usize, const W: usize>(
    acc: &mut [[f32; W]; R],
    x: &[f32; R],
    y: &[f32; W],
) {
    for (acc_row, &s) in acc.iter_mut().zip(x) {
        for (o, &v) in acc_row.iter_mut().zip(y) {
            *o += s * v;
        }
    }
}

/// `c[i][j] += bias[j]` for every row of `c` (`bias.len()` columns), a column block at a time
/// with the block's biases in registers.
pub(super) fn add_bias(c: &mut [f32], bias: &[f32]) {
    let n = bias.len();
    let mut col = 0;
    while col < n {
        col += match n - col {
            left if left >= VECTOR_COLS => add_bias_block::<VECTOR_COLS>(c, bias, col),
            _ => add_bias_block::<1>(c, bias, col),
        };
    }
}

/// Columns `col .. col + W` of [`add_bias`]; returns `W`.
#[inline(always)]
fn add_bias_block<const W: usize>(c: &mut [f32], bias: &[f32], col: usize) -> usize {
    if let Some(b) = bias.get(col..).and_then(|s| s.first_chunk::<W>()) {
        for c_row in c.chunks_exact_mut(bias.len()) {
            let Some(out) = c_row.get_mut(col..).and_then(|r| r.first_chunk_mut::<W>()) else {
                break;
            };
            for (o, &v) in out.iter_mut().zip(b) {
                *o += v;
            }
        }
    }
    W
}

/// `sums[j] = 0.0 + Σ_i rows[i][j]` in the order `i = 0, 1, …` (`sums.len()` columns), a column
/// block at a time with the block's sums in registers.
pub(super) fn column_sums(rows: &[f32], sums: &mut [f32]) {
    let n = sums.len();
    let mut col = 0;
    while col < n {
        col += match n - col {
            left if left >= VECTOR_COLS => column_sums_block::<VECTOR_COLS>(rows, sums, col),
            _ => column_sums_block::<1>(rows, sums, col),
        };
    }
}

/// Columns `col .. col + W` of [`column_sums`]; returns `W`.
#[inline(always)]
fn column_sums_block<const W: usize>(rows: &[f32], sums: &mut [f32], col: usize) -> usize {
    let n = sums.len();
    if let Some(out) = sums.get_mut(col..).and_then(|s| s.first_chunk_mut::<W>()) {
        let mut acc = [0.0f32; W];
        for row in rows.chunks_exact(n) {
            let Some(part) = row.get(col..).and_then(|r| r.first_chunk::<W>()) else {
                break;
            };
            for (a, &v) in acc.iter_mut().zip(part) {
                *a += v;
            }
        }
        *out = acc;
    }
    W
}
