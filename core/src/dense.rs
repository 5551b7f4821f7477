//! Dense layer kernels over slices: the one implementation every network uses.
//!
//! Matrices are row-major. A layer with `inputs` inputs and `outputs` units stores its weight as
//! `inputs × outputs` (one row per input, as TensorFlow's dense kernels do) followed by its
//! `outputs` biases. A batch of `batch` samples is `batch × width`. With this layout the forward
//! pass, which every step and every evaluation runs on all layers, reads the weight row by row;
//! only the input gradients, which the first layer does not need, read it transposed.
//!
//! All three products (forward, weight gradient, input gradient) run through one kernel,
//! [`matmul`]: an output tile of `TILE_ROWS × W` values stays in registers while rows of the
//! right-hand matrix, scaled by broadcast elements of the left-hand one, are added to it. The
//! vectors run along output columns, so the compiler turns the tile into SIMD registers
//! (AVX2/AVX-512 on a desktop built with `target-cpu=native`) and no horizontal sums are needed.
//! A Cortex-M, which has a scalar FPU (or none), runs the products through kernels shaped for it
//! instead (the `scalar` module: 4 × 4 register tiles, and paths of their own for one-wide and
//! depth-1 products). Every output element is summed in the order `p = 0, 1, …, k − 1` whatever
//! the tiling, so results are bit-identical across platforms.
//!
//! Each step of that sum is either a multiply then an add, each rounded, or one fused
//! multiply-add rounded once: see [`Arithmetic`]. The choice is the caller's, so a desktop can
//! use its FMA units while still reproducing, bit for bit, what a microcontroller computes.

use crate::error::{check_len, Result};
use core::ops::Range;

#[cfg(any(target_arch = "arm", test))]
mod scalar;

/// Rows of the output tile kept in registers on a desktop: with [`TILE_COLS`] = 64, 6 × 4
/// sixteen-lane (AVX-512) accumulators, 4 operands and a broadcast fill 29 of the 32 vector
/// registers, and each operand loaded from memory feeds 6 multiply-adds.
#[cfg(not(target_arch = "arm"))]
const TILE_ROWS: usize = 6;
/// Widest output tile on a desktop: four 16-lane vectors per row.
#[cfg(not(target_arch = "arm"))]
const TILE_COLS: usize = 64;
/// Rows of the right-hand matrix packed at a time into a contiguous panel, so a transposed
/// operand is read with unit stride and each packed row is reused by every row tile of the
/// output. On a desktop 128 × 64 values (32 KiB, an L1 cache) cover the paper's 200-wide
/// layers in two panels, so a tile is loaded from and stored to memory only twice.
#[cfg(not(target_arch = "arm"))]
const PANEL_DEPTH: usize = 128;

// With the standard library each thread keeps one panel buffer for all its products. Without
// it (safe Rust has no uninitialized buffer) every product zeroes one on the stack: on the
// paper's step, with a 32 KiB panel per product, that zeroing was about 2% of a whole run.
#[cfg(all(feature = "std", not(target_arch = "arm")))]
std::thread_local! {
    static PANEL: core::cell::RefCell<[f32; PANEL_DEPTH * TILE_COLS]> =
        const { core::cell::RefCell::new([0.0; PANEL_DEPTH * TILE_COLS]) };
}

/// How each multiply-accumulate `sum + a · b` of the products is rounded.
///
/// Both give results that depend only on this choice, never on the machine: the products are
/// summed in the same order everywhere and a fused multiply-add is correctly rounded wherever
/// it is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Arithmetic {
    /// The product is rounded, then the sum: what every FPU computes, a Cortex-M4F and a
    /// soft-float Cortex-M3 included. Fast everywhere.
    #[default]
    Separate,
    /// One fused multiply-add, rounded once (slightly more accurate). About 1.3 times faster
    /// on a desktop with FMA units when the core's `std` feature is on and the build targets
    /// them (`-C target-cpu=native`); elsewhere emulated in software and many times slower.
    Fused,
}

/// The dimensions of one dense layer applied to a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DenseShape {
    /// Samples in the batch.
    pub batch: usize,
    /// Inputs per sample.
    pub inputs: usize,
    /// Units (outputs per sample).
    pub outputs: usize,
}

impl DenseShape {
    /// Number of weights (`inputs × outputs`).
    pub const fn weight_len(&self) -> usize {
        self.inputs * self.outputs
    }
}

/// `outputs = inputs · weightᵀ + bias`, before the activation.
pub fn forward(
    shape: DenseShape,
    arithmetic: Arithmetic,
    inputs: &[f32],
    weight: &[f32],
    bias: &[f32],
    outputs: &mut [f32],
) -> Result<()> {
    check_len("dense inputs", shape.batch * shape.inputs, inputs.len())?;
    check_len("dense weight", shape.weight_len(), weight.len())?;
    check_len("dense bias", shape.outputs, bias.len())?;
    check_len("dense outputs", shape.batch * shape.outputs, outputs.len())?;
    // On a Cortex-M the bias is added to each finished sum as it is stored.
    #[cfg(target_arch = "arm")]
    scalar::matmul(
        arithmetic == Arithmetic::Fused,
        Product::forward(shape, inputs, weight),
        Some(bias),
        outputs,
    );
    #[cfg(not(target_arch = "arm"))]
    {
        Product::forward(shape, inputs, weight).run(arithmetic, outputs);
        if shape.outputs > 0 {
            for row in outputs.chunks_exact_mut(shape.outputs) {
                row.iter_mut().zip(bias).for_each(|(o, b)| *o += b);
            }
        }
    }
    Ok(())
}

/// Gradients of the weight and bias from the layer's output deltas:
/// `grad_weight = deltasᵀ · inputs`, `grad_bias = Σ_batch deltas` (both overwritten).
pub fn backward_parameters(
    shape: DenseShape,
    arithmetic: Arithmetic,
    inputs: &[f32],
    deltas: &[f32],
    grad_weight: &mut [f32],
    grad_bias: &mut [f32],
) -> Result<()> {
    check_len("dense inputs", shape.batch * shape.inputs, inputs.len())?;
    check_len("dense deltas", shape.batch * shape.outputs, deltas.len())?;
    check_len("weight gradient", shape.weight_len(), grad_weight.len())?;
    check_len("bias gradient", shape.outputs, grad_bias.len())?;
    Product::weight_gradient(shape, inputs, deltas).run(arithmetic, grad_weight);
    #[cfg(target_arch = "arm")]
    scalar::column_sums(deltas, grad_bias);
    #[cfg(not(target_arch = "arm"))]
    {
        grad_bias.fill(0.0);
        if shape.outputs > 0 {
            for row in deltas.chunks_exact(shape.outputs) {
                grad_bias.iter_mut().zip(row).for_each(|(g, d)| *g += d);
            }
        }
    }
    Ok(())
}

/// [`backward_parameters`] for a share of the layer only, so that threads can each take one:
/// `grad_weight` receives rows `rows` of the weight gradient (the weights of inputs `rows`,
/// `rows.len() × outputs`) and `grad_bias` the bias gradients of the units `units`, summed over
/// this batch's samples from zero or continuing the sums already there (`sums`). Over all rows
/// and units and one part, the results are those of [`backward_parameters`], bit for bit.
pub fn backward_parameter_rows(
    shape: DenseShape,
    arithmetic: Arithmetic,
    (inputs, deltas): (&[f32], &[f32]),
    (rows, units): (Range<usize>, Range<usize>),
    sums: Sums,
    (grad_weight, grad_bias): (&mut [f32], &mut [f32]),
) -> Result<()> {
    check_len("dense inputs", shape.batch * shape.inputs, inputs.len())?;
    check_len("dense deltas", shape.batch * shape.outputs, deltas.len())?;
    for (what, range, len) in [
        ("weight rows of the layer", &rows, shape.inputs),
        ("units of the layer", &units, shape.outputs),
    ] {
        if range.start > range.end || range.end > len {
            return Err(crate::error::Error::LengthMismatch {
                what,
                expected: len,
                actual: range.end,
            });
        }
    }
    check_len(
        "weight gradient rows",
        rows.len() * shape.outputs,
        grad_weight.len(),
    )?;
    check_len("bias gradient units", units.len(), grad_bias.len())?;
    let product = Product {
        m: rows.len(),
        k: shape.batch,
        n: shape.outputs,
        a: Strided::new(inputs.get(rows.start..).unwrap_or(&[]), 1, shape.inputs),
        b: Strided::new(deltas, shape.outputs, 1),
    };
    matmul(arithmetic, product, sums, grad_weight);
    if sums == Sums::Start {
        grad_bias.fill(0.0);
    }
    if shape.outputs > 0 {
        for row in deltas.chunks_exact(shape.outputs) {
            let part = row.get(units.clone()).unwrap_or(&[]);
            grad_bias.iter_mut().zip(part).for_each(|(g, d)| *g += d);
        }
    }
    Ok(())
}

/// Deltas of the layer's inputs: `grad_inputs = deltas · weight` (overwritten), before the
/// previous layer's activation derivative is applied.
pub fn backward_inputs(
    shape: DenseShape,
    arithmetic: Arithmetic,
    weight: &[f32],
    deltas: &[f32],
    grad_inputs: &mut [f32],
) -> Result<()> {
    check_len("dense weight", shape.weight_len(), weight.len())?;
    check_len("dense deltas", shape.batch * shape.outputs, deltas.len())?;
    check_len(
        "input gradient",
        shape.batch * shape.inputs,
        grad_inputs.len(),
    )?;
    #[cfg(not(target_arch = "arm"))]
    if input_gradient_by_unit(shape, arithmetic, weight, deltas, grad_inputs) {
        return Ok(());
    }
    Product::input_gradient(shape, weight, deltas).run(arithmetic, grad_inputs);
    Ok(())
}

/// Most values (`inputs × batch`) of an input gradient computed by [`input_gradient_by_unit`],
/// which holds them on the stack: 32 KiB, a 200-wide layer's gradient for 40 samples.
#[cfg(not(target_arch = "arm"))]
const BY_UNIT_VALUES: usize = 8192;

/// Largest batch whose input gradient [`backward_inputs`] computes unit by unit on a desktop
/// (more samples are taken one by one; a Cortex-M has kernels of its own). The result is the
/// same either way; this is for benches that time each way.
pub const BY_UNIT_BATCH: usize = 32;

/// The input gradient of a small batch (at most [`BY_UNIT_BATCH`] samples), computed unit by
/// unit as `grad_inputsᵀ = weight · deltasᵀ` and then transposed; returns whether it did.
///
/// Sample by sample, the product reads the weight transposed, so it packs all of it
/// (`inputs × outputs` values scattered into panels) for only a few rows of deltas, such as
/// the 30 or 31 samples a thread takes of the paper's 61. Unit by unit, the weight is read row
/// by row in place and only the deltas are packed. Every element is still the sum over
/// `o = 0, 1, …` of `deltas[b][o] · weight[i][o]`, so the result is the same, bit for bit.
/// `--bench kernels` compares the two ways per flop, on 31 and 33 samples
/// (`dense_part_x200x200_fused`).
#[cfg(not(target_arch = "arm"))]
fn input_gradient_by_unit(
    shape: DenseShape,
    arithmetic: Arithmetic,
    weight: &[f32],
    deltas: &[f32],
    grad_inputs: &mut [f32],
) -> bool {
    let DenseShape {
        batch,
        inputs,
        outputs,
    } = shape;
    if batch > BY_UNIT_BATCH || inputs * batch > BY_UNIT_VALUES {
        return false;
    }
    let mut by_unit = [0.0f32; BY_UNIT_VALUES];
    let Some(by_unit) = by_unit.get_mut(..inputs * batch) else {
        return false;
    };
    Product {
        m: inputs,
        k: outputs,
        n: batch,
        a: Strided::new(weight, outputs, 1),
        b: Strided::new(deltas, 1, outputs),
    }
    .run(arithmetic, by_unit);
    // Row by row of the result, reading the small transposed one with a stride.
    if batch > 0 {
        for (b, row) in grad_inputs.chunks_exact_mut(inputs.max(1)).enumerate() {
            for (out, unit) in row.iter_mut().zip(by_unit.chunks_exact(batch)) {
                if let Some(&v) = unit.get(b) {
                    *out = v;
                }
            }
        }
    }
    true
}

/// One product `c = a · b` of a layer: `a` is `m × k`, `b` is `k × n`.
#[derive(Clone, Copy)]
struct Product<'a> {
    m: usize,
    k: usize,
    n: usize,
    a: Strided<'a>,
    b: Strided<'a>,
}

impl<'a> Product<'a> {
    /// `outputs = inputs · weight`.
    #[inline(always)]
    fn forward(shape: DenseShape, inputs: &'a [f32], weight: &'a [f32]) -> Self {
        Product {
            m: shape.batch,
            k: shape.inputs,
            n: shape.outputs,
            a: Strided::new(inputs, shape.inputs, 1),
            b: Strided::new(weight, shape.outputs, 1),
        }
    }

    /// `grad_weight = inputsᵀ · deltas`: row i is Σ_b inputs[b][i] · deltas[b], so
    /// a(i, b) = inputs[b · inputs + i], read through strides.
    #[inline(always)]
    fn weight_gradient(shape: DenseShape, inputs: &'a [f32], deltas: &'a [f32]) -> Self {
        Product {
            m: shape.inputs,
            k: shape.batch,
            n: shape.outputs,
            a: Strided::new(inputs, 1, shape.inputs),
            b: Strided::new(deltas, shape.outputs, 1),
        }
    }

    /// `grad_inputs = deltas · weightᵀ`: weightᵀ(o, i) = weight[i · outputs + o], read
    /// through strides.
    #[inline(always)]
    fn input_gradient(shape: DenseShape, weight: &'a [f32], deltas: &'a [f32]) -> Self {
        Product {
            m: shape.batch,
            k: shape.outputs,
            n: shape.inputs,
            a: Strided::new(deltas, shape.outputs, 1),
            b: Strided::new(weight, 1, shape.outputs),
        }
    }

    /// Computes the product into `c` (`m × n`, overwritten).
    #[inline(always)]
    fn run(self, arithmetic: Arithmetic, c: &mut [f32]) {
        matmul(arithmetic, self, Sums::Start, c);
    }
}

/// A read-only matrix addressed by strides, so that a transpose costs nothing:
/// element `(i, j)` is `data[i · row + j · col]`.
#[derive(Clone, Copy)]
struct Strided<'a> {
    data: &'a [f32],
    row: usize,
    col: usize,
}

impl<'a> Strided<'a> {
    fn new(data: &'a [f32], row: usize, col: usize) -> Self {
        Strided { data, row, col }
    }

    /// Elements `(i0 .. i0 + R, j)`: one column of a tile of rows. Out-of-range elements
    /// (ruled out by the callers' length checks) read as zero.
    #[cfg(not(target_arch = "arm"))]
    #[inline(always)]
    fn column<const R: usize>(&self, i0: usize, j: usize) -> [f32; R] {
        let base = i0 * self.row + j * self.col;
        if self.row == 1 {
            // Consecutive rows are adjacent (a transposed matrix): one contiguous load.
            match self.data.get(base..).and_then(|s| s.first_chunk::<R>()) {
                Some(v) => *v,
                None => [0.0; R],
            }
        } else {
            core::array::from_fn(|r| self.data.get(base + r * self.row).copied().unwrap_or(0.0))
        }
    }

    /// Copies rows `i0 .. i0 + panel.len()`, columns `j0 .. j0 + W` into `panel`; of a block
    /// that reaches past the matrix's last column (`cols` < `W` columns exist), the columns
    /// past it are zeros.
    #[cfg(not(target_arch = "arm"))]
    #[inline(always)]
    fn pack<const W: usize>(&self, panel: &mut [[f32; W]], (i0, j0): (usize, usize), cols: usize) {
        let cols = cols.min(W);
        if self.col == 1 {
            for (i, out) in panel.iter_mut().enumerate() {
                let start = (i0 + i) * self.row + j0;
                let row = self.data.get(start..).unwrap_or(&[]);
                match row.first_chunk::<W>() {
                    Some(row) if cols == W => *out = *row,
                    _ => {
                        let (values, zeros) = out.split_at_mut(cols.min(row.len()));
                        if let Some(row) = row.get(..values.len()) {
                            values.copy_from_slice(row);
                        }
                        zeros.fill(0.0);
                    }
                }
            }
        } else {
            // A transposed matrix: each column is contiguous; scatter it across the panel.
            let depth = panel.len();
            for j in 0..cols {
                let start = i0 * self.row + (j0 + j) * self.col;
                if let Some(column) = self.data.get(start..start + depth) {
                    for (out, &v) in panel.iter_mut().zip(column) {
                        if let Some(slot) = out.get_mut(j) {
                            *slot = v;
                        }
                    }
                }
            }
            if cols < W {
                for out in panel.iter_mut() {
                    out.get_mut(cols..).unwrap_or(&mut []).fill(0.0);
                }
            }
        }
    }
}

/// `c (m × n) = a (m × k) · b (k × n)`, overwriting `c` (row-major); lengths are checked by
/// the callers.
///
/// Columns of `c` are taken in blocks of a width fixed at compile time (64; a remainder of more
/// than 32 columns in one more 64-wide block of which only the existing columns are stored,
/// a smaller one in narrower blocks); for each block, `b` is packed `PANEL_DEPTH` rows at a
/// time and every row tile of `c` accumulates that panel, carrying its partial sums through `c`
/// between panels.
///
/// On a Cortex-M (`target_arch = "arm"`) the products are the `scalar` module's instead.
fn matmul(arithmetic: Arithmetic, product: Product<'_>, sums: Sums, c: &mut [f32]) {
    #[cfg(target_arch = "arm")]
    match sums {
        Sums::Start => scalar::matmul(arithmetic == Arithmetic::Fused, product, None, c),
        Sums::Continue => continue_ordered(arithmetic, product, c),
    }
    // The choice is made once per product, outside every loop.
    #[cfg(not(target_arch = "arm"))]
    {
        let Product { m, k, n, a, b } = product;
        let carry = sums == Sums::Continue;
        match arithmetic {
            Arithmetic::Separate => matmul_with::<false>(m, k, n, a, b, (c, carry)),
            Arithmetic::Fused => matmul_with::<true>(m, k, n, a, b, (c, carry)),
        }
    }
}

/// Whether gradient sums start from zero or continue from the values already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sums {
    /// Overwrite: the sums start from zero.
    Start,
    /// Add to what is there, each element's sum continued in the same order: a batch split
    /// into consecutive parts gives, part after part, the very sums of the whole batch.
    Continue,
}

/// [`matmul`] continuing the sums in `c`, on a Cortex-M: a plain ordered loop (a
/// microcontroller trains on one core and never splits a batch).
#[cfg(any(target_arch = "arm", test))]
fn continue_ordered(arithmetic: Arithmetic, product: Product<'_>, c: &mut [f32]) {
    let Product { k, n, a, b, .. } = product;
    let at = |s: &Strided<'_>, i: usize, j: usize| {
        s.data.get(i * s.row + j * s.col).copied().unwrap_or(0.0)
    };
    for (i, row) in c.chunks_exact_mut(n.max(1)).enumerate() {
        for (j, out) in row.iter_mut().enumerate() {
            *out = (0..k).fold(*out, |sum, p| match arithmetic {
                Arithmetic::Separate => sum + at(&a, i, p) * at(&b, p, j),
                Arithmetic::Fused => libm::fmaf(at(&a, i, p), at(&b, p, j), sum),
            });
        }
    }
}

/// [`matmul`] with fused multiply-adds if `FUSED`.
#[cfg(not(target_arch = "arm"))]
#[inline(always)]
fn matmul_with<const FUSED: bool>(
    m: usize,
    k: usize,
    n: usize,
    a: Strided<'_>,
    b: Strided<'_>,
    (c, carry): (&mut [f32], bool),
) {
    let c = match c.get_mut(..m * n) {
        Some(c) if n > 0 => c,
        _ => return,
    };
    if k == 0 {
        if !carry {
            c.fill(0.0);
        }
        return;
    }
    // One panel buffer for every column block of the product, each viewing it at its width:
    // the thread's own if there is one (products never nest, so it is free; a thread being
    // torn down has none), else one on the stack, only as wide as the product's widest
    // block, as zeroing 32 KiB costs more than a narrow product (a layer with one input or
    // one unit).
    let product = Product { m, k, n, a, b };
    #[cfg(feature = "std")]
    {
        let own = PANEL.try_with(|panel| {
            let mut panel = panel.try_borrow_mut().ok()?;
            column_blocks::<FUSED>(product, &mut *c, carry, &mut panel[..]);
            Some(())
        });
        if let Ok(Some(())) = own {
            return;
        }
    }
    match n {
        n if n > TILE_COLS / 2 => {
            column_blocks::<FUSED>(product, c, carry, &mut [0.0; PANEL_DEPTH * TILE_COLS])
        }
        n if n > 16 => column_blocks::<FUSED>(product, c, carry, &mut [0.0; PANEL_DEPTH * 32]),
        n if n >= 16 => column_blocks::<FUSED>(product, c, carry, &mut [0.0; PANEL_DEPTH * 16]),
        _ => column_blocks::<FUSED>(product, c, carry, &mut [0.0; PANEL_DEPTH * 8]),
    }
}

/// The column blocks of [`matmul_with`], with a panel buffer that holds `PANEL_DEPTH` rows of
/// the product's widest block.
#[cfg(not(target_arch = "arm"))]
#[inline(always)]
fn column_blocks<const FUSED: bool>(
    product: Product<'_>,
    c: &mut [f32],
    carry: bool,
    panel: &mut [f32],
) {
    let n = product.n;
    let mut col = 0;
    while col < n {
        let block = (col, &mut *c, &mut *panel, carry);
        col += match n - col {
            // More than half a tile left: a whole tile, of which only the columns that exist
            // are stored, in one pass over `a` (`--bench kernels` times a 100-wide layer's
            // forward product, `dense_61x200x100_fused`). Likewise a 32-wide tile for 17 to 32
            // columns: a small batch's input gradient (see `input_gradient_by_unit`).
            left if left > TILE_COLS / 2 => column_block::<FUSED, TILE_COLS>(product, block),
            left if TILE_COLS > 32 && left > 16 => column_block::<FUSED, 32>(product, block),
            left if TILE_COLS > 16 && left >= 16 => column_block::<FUSED, 16>(product, block),
            left if TILE_COLS > 8 && left >= 8 => column_block::<FUSED, 8>(product, block),
            left if left >= 4 => column_block::<FUSED, 4>(product, block),
            _ => column_block::<FUSED, 1>(product, block),
        };
    }
}

/// The output columns a [`column_block`] computes: the first column, `c`, the panel buffer and
/// whether the sums continue from the values in `c`.
#[cfg(not(target_arch = "arm"))]
type ColumnBlock<'c> = (usize, &'c mut [f32], &'c mut [f32], bool);

/// Columns `col .. col + W` of `c`; returns `W`.
#[cfg(not(target_arch = "arm"))]
#[inline(always)]
fn column_block<const FUSED: bool, const W: usize>(
    Product { k, n, a, b, .. }: Product<'_>,
    (col, c, panel, carry): ColumnBlock<'_>,
) -> usize {
    let (panel, _) = panel.as_chunks_mut::<W>();
    // Columns of the block that exist: fewer than `W` in a block past the last column.
    let cols = (n - col).min(W);
    let mut p0 = 0;
    while p0 < k {
        let depth = PANEL_DEPTH.min(k - p0);
        let Some(panel) = panel.get_mut(..depth) else {
            break;
        };
        b.pack(panel, (p0, col), cols);
        let at = PanelAt {
            start: p0,
            carry: carry || p0 > 0,
        };
        let mut row0 = 0;
        let mut rest = &mut *c;
        while !rest.is_empty() {
            // Remainders of a 6-row tiling take 4, 2 and 1 rows (the conditions are constant,
            // so a smaller `TILE_ROWS` compiles only the tiles it needs).
            let rows = match rest.len() / n {
                left if left >= TILE_ROWS => TILE_ROWS,
                left if TILE_ROWS > 4 && left >= 4 => 4,
                left if TILE_ROWS > 2 && left >= 2 => 2,
                _ => 1,
            };
            let (c_rows, tail) = rest.split_at_mut((rows * n).min(rest.len()));
            let tile = TileAt { row0, col, n, cols };
            if rows == TILE_ROWS {
                tile_into::<FUSED, TILE_ROWS, W>(tile, at, a, panel, c_rows);
            } else if TILE_ROWS > 4 && rows == 4 {
                tile_into::<FUSED, 4, W>(tile, at, a, panel, c_rows);
            } else if TILE_ROWS > 2 && rows == 2 {
                tile_into::<FUSED, 2, W>(tile, at, a, panel, c_rows);
            } else {
                tile_into::<FUSED, 1, W>(tile, at, a, panel, c_rows);
            }
            row0 += rows;
            rest = tail;
        }
        p0 += depth;
    }
    W
}

/// Where a tile of the output is: its first row and column, the row length `n` of `c`, and how
/// many of its columns exist (fewer than the tile's width in a block past the last column).
#[cfg(not(target_arch = "arm"))]
#[derive(Clone, Copy)]
struct TileAt {
    row0: usize,
    col: usize,
    n: usize,
    cols: usize,
}

/// [`tile_update`] of the tile at `tile`; a tile with fewer columns than `W` (only ever a
/// [`TILE_COLS`]-wide or 32-wide one) is computed in a staging tile whose existing columns are
/// copied from and back to `c`, so the full-width kernel is the only one that runs.
#[cfg(not(target_arch = "arm"))]
#[inline(always)]
fn tile_into<const FUSED: bool, const R: usize, const W: usize>(
    TileAt { row0, col, n, cols }: TileAt,
    at: PanelAt,
    a: Strided<'_>,
    panel: &[[f32; W]],
    c_rows: &mut [f32],
) {
    if cols == W {
        tile_update::<FUSED, R, W>(row0, at, col, n, a, panel, c_rows);
        return;
    }
    let mut staged = [[0.0f32; W]; R];
    if at.carry {
        for (s, c_row) in staged.iter_mut().zip(c_rows.chunks_exact(n)) {
            let existing = c_row.get(col..).unwrap_or(&[]);
            s.iter_mut().zip(existing).for_each(|(v, &c)| *v = c);
        }
    }
    tile_update::<FUSED, R, W>(row0, at, 0, W, a, panel, staged.as_flattened_mut());
    for (s, c_row) in staged.iter().zip(c_rows.chunks_exact_mut(n)) {
        let existing = c_row.get_mut(col..).unwrap_or(&mut []);
        existing.iter_mut().zip(s).for_each(|(c, &v)| *c = v);
    }
}

/// Where a panel starts in the sum, and whether a tile continues the sums in `c` (every panel
/// but a product's first, unless the product continues sums).
#[cfg(not(target_arch = "arm"))]
#[derive(Clone, Copy)]
struct PanelAt {
    start: usize,
    carry: bool,
}

/// Adds `a(row0 .. row0 + R, p0 .. p0 + depth) · panel` to the `R × W` tile of `c` at
/// (`row0`, `col`), which starts from zero unless `at.carry` (`p0` is `at.start`).
///
/// A row-major `a` is read as `R` row slices side by side; a transposed one (consecutive rows
/// adjacent) as one contiguous `R`-value column per step of the sum.
#[cfg(not(target_arch = "arm"))]
#[inline(always)]
fn tile_update<const FUSED: bool, const R: usize, const W: usize>(
    row0: usize,
    PanelAt { start: p0, carry }: PanelAt,
    col: usize,
    n: usize,
    a: Strided<'_>,
    panel: &[[f32; W]],
    c_rows: &mut [f32],
) {
    let mut acc = [[0.0f32; W]; R];
    if carry {
        for (acc_row, c_row) in acc.iter_mut().zip(c_rows.chunks_exact(n)) {
            if let Some(part) = c_row.get(col..).and_then(|s| s.first_chunk::<W>()) {
                *acc_row = *part;
            }
        }
    }
    let depth = panel.len();
    if a.col == 1 {
        // A row-major left operand: the tile's rows are slices read side by side, without
        // per-element bounds checks.
        let rows: [&[f32]; R] = core::array::from_fn(|r| {
            let start = (row0 + r) * a.row + p0;
            a.data.get(start..start + depth).unwrap_or(&[])
        });
        // The rows are zipped, so the loop has one counter; a zip of up to six slices is
        // written out for each tile height (a generic one indexes every row at every step,
        // which costs a third of the speed).
        match rows.as_slice() {
            [r0] => {
                let xs = r0.iter().map(|&v0| widen([v0]));
                accumulate::<FUSED, R, W>(&mut acc, xs, panel);
            }
            [r0, r1] => {
                let xs = r0.iter().zip(*r1).map(|(&v0, &v1)| widen([v0, v1]));
                accumulate::<FUSED, R, W>(&mut acc, xs, panel);
            }
            [r0, r1, r2, r3] => {
                let xs = r0
                    .iter()
                    .zip(*r1)
                    .zip(*r2)
                    .zip(*r3)
                    .map(|(((&v0, &v1), &v2), &v3)| widen([v0, v1, v2, v3]));
                accumulate::<FUSED, R, W>(&mut acc, xs, panel);
            }
            [r0, r1, r2, r3, r4, r5] => {
                let xs =
                    r0.iter().zip(*r1).zip(*r2).zip(*r3).zip(*r4).zip(*r5).map(
                        |(((((&v0, &v1), &v2), &v3), &v4), &v5)| widen([v0, v1, v2, v3, v4, v5]),
                    );
                accumulate::<FUSED, R, W>(&mut acc, xs, panel);
            }
            _ => {
                let xs = (0..depth).map(|p| {
                    core::array::from_fn(|r| {
                        rows.get(r)
                            .and_then(|row| row.get(p))
                            .copied()
                            .unwrap_or(0.0)
                    })
                });
                accumulate::<FUSED, R, W>(&mut acc, xs, panel);
            }
        }
    } else {
        let xs = (0..depth).map(|p| a.column::<R>(row0, p0 + p));
        accumulate::<FUSED, R, W>(&mut acc, xs, panel);
    }
    for (c_row, acc_row) in c_rows.chunks_exact_mut(n).zip(&acc) {
        if let Some(part) = c_row.get_mut(col..).and_then(|s| s.first_chunk_mut::<W>()) {
            *part = *acc_row;
        }
    }
}

/// `values` as an `R`-value column: the same array when `N = R`, which is the only way it is
/// called (the match on the tile height guarantees it).
#[cfg(not(target_arch = "arm"))]
#[inline(always)]
fn widen<const R: usize, const N: usize>(values: [f32; N]) -> [f32; R] {
    core::array::from_fn(|r| values.get(r).copied().unwrap_or(0.0))
}

/// `acc += x · y` for each left-hand column `x` (R values) and panel row `y` (W values).
#[cfg(not(target_arch = "arm"))]
#[inline(always)]
fn accumulate<const FUSED: bool, const R: usize, const W: usize>(
    acc: &mut [[f32; W]; R],
    xs: impl Iterator<Item = [f32; R]>,
    panel: &[[f32; W]],
) {
    // The tile's rows are written out one by one (up to `TILE_ROWS`): as a loop over the rows,
    // LLVM keeps some tiles (32-wide ones) in memory instead of in registers.
    const _: () = assert!(TILE_ROWS <= 6);
    for (x, y) in xs.zip(panel) {
        macro_rules! row {
            ($r:literal) => {
                if R > $r {
                    if let (Some(acc_row), Some(&s)) = (acc.get_mut($r), x.get($r)) {
                        row_update::<FUSED, W>(acc_row, s, y);
                    }
                }
            };
        }
        row!(0);
        row!(1);
        row!(2);
        row!(3);
        row!(4);
        row!(5);
    }
}

/// `acc_row += s · y`, one row of [`accumulate`].
#[cfg(not(target_arch = "arm"))]
#[inline(always)]
fn row_update<const FUSED: bool, const W: usize>(acc_row: &mut [f32; W], s: f32, y: &[f32; W]) {
    for (o, &v) in acc_row.iter_mut().zip(y) {
        *o = if FUSED {
            crate::float::mul_add(s, v, *o)
        } else {
            *o + s * v
        };
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::rng::Rng;
    use std::vec;
    use std::vec::Vec;

    fn random(rng: &mut Rng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.normal_f32(1.0)).collect()
    }

    /// `Σ_p x(p) · y(p)` summed in order from zero with the given rounding: the order every
    /// kernel promises.
    fn ordered_dot(
        arithmetic: Arithmetic,
        k: usize,
        x: impl Fn(usize) -> f32,
        y: impl Fn(usize) -> f32,
    ) -> f32 {
        (0..k).fold(0.0, |sum, p| match arithmetic {
            Arithmetic::Separate => sum + x(p) * y(p),
            Arithmetic::Fused => libm::fmaf(x(p), y(p), sum),
        })
    }

    /// Which implementation computes the products: the public functions (on a host, the
    /// desktop kernel) or the Cortex-M kernels of the `scalar` module, called directly.
    #[derive(Clone, Copy, Debug)]
    enum Path {
        Public,
        Scalar,
    }

    fn run_forward(
        path: Path,
        shape: DenseShape,
        arithmetic: Arithmetic,
        (x, w, bias): (&[f32], &[f32], &[f32]),
        out: &mut [f32],
    ) {
        match path {
            Path::Public => forward(shape, arithmetic, x, w, bias, out).unwrap(),
            Path::Scalar => {
                let fused = arithmetic == Arithmetic::Fused;
                scalar::matmul(fused, Product::forward(shape, x, w), Some(bias), out);
            }
        }
    }

    fn run_backward_parameters(
        path: Path,
        shape: DenseShape,
        arithmetic: Arithmetic,
        (x, d): (&[f32], &[f32]),
        gw: &mut [f32],
        gb: &mut [f32],
    ) {
        match path {
            Path::Public => backward_parameters(shape, arithmetic, x, d, gw, gb).unwrap(),
            Path::Scalar => {
                run_scalar(Product::weight_gradient(shape, x, d), arithmetic, gw);
                scalar::column_sums(d, gb);
            }
        }
    }

    fn run_backward_inputs(
        path: Path,
        shape: DenseShape,
        arithmetic: Arithmetic,
        (w, d): (&[f32], &[f32]),
        gx: &mut [f32],
    ) {
        match path {
            Path::Public => backward_inputs(shape, arithmetic, w, d, gx).unwrap(),
            Path::Scalar => run_scalar(Product::input_gradient(shape, w, d), arithmetic, gx),
        }
    }

    fn run_scalar(p: Product<'_>, arithmetic: Arithmetic, c: &mut [f32]) {
        scalar::matmul(arithmetic == Arithmetic::Fused, p, None, c);
    }

    /// A layer of shape `(batch, inputs, outputs)` with random inputs, weight and biases.
    fn random_layer(
        rng: &mut Rng,
        (batch, inputs, outputs): (usize, usize, usize),
    ) -> (DenseShape, Vec<f32>, Vec<f32>, Vec<f32>) {
        let shape = DenseShape {
            batch,
            inputs,
            outputs,
        };
        let x = random(rng, batch * inputs);
        let w = random(rng, inputs * outputs);
        let bias = random(rng, outputs);
        (shape, x, w, bias)
    }

    /// Every kernel of `path` on one shape against the textbook loop summed in the same order,
    /// bit for bit, with either rounding.
    fn check_layer(path: Path, shape: DenseShape, x: &[f32], w: &[f32], bias: &[f32], d: &[f32]) {
        let DenseShape {
            batch,
            inputs,
            outputs,
        } = shape;
        for arithmetic in [Arithmetic::Separate, Arithmetic::Fused] {
            let dot = |k, f: &dyn Fn(usize) -> f32, g: &dyn Fn(usize) -> f32| {
                ordered_dot(arithmetic, k, f, g)
            };
            let at = |what: &str| std::format!("{path:?} {arithmetic:?} {shape:?} {what}");
            let mut out = std::vec![f32::NAN; batch * outputs];
            run_forward(path, shape, arithmetic, (x, w, bias), &mut out);
            for b in 0..batch {
                for o in 0..outputs {
                    let expect =
                        dot(inputs, &|i| x[b * inputs + i], &|i| w[i * outputs + o]) + bias[o];
                    let got = out[b * outputs + o];
                    assert_eq!(got.to_bits(), expect.to_bits(), "{}", at("forward"));
                }
            }
            let mut gw = std::vec![f32::NAN; inputs * outputs];
            let mut gb = std::vec![f32::NAN; outputs];
            run_backward_parameters(path, shape, arithmetic, (x, d), &mut gw, &mut gb);
            for o in 0..outputs {
                for i in 0..inputs {
                    let expect = dot(batch, &|b| x[b * inputs + i], &|b| d[b * outputs + o]);
                    let got = gw[i * outputs + o];
                    assert_eq!(got.to_bits(), expect.to_bits(), "{}", at("weight gradient"));
                }
                let expect = (0..batch).fold(0.0, |sum, b| sum + d[b * outputs + o]);
                assert_eq!(gb[o].to_bits(), expect.to_bits(), "{}", at("bias gradient"));
            }
            let mut gx = std::vec![f32::NAN; batch * inputs];
            run_backward_inputs(path, shape, arithmetic, (w, d), &mut gx);
            for b in 0..batch {
                for i in 0..inputs {
                    let expect = dot(outputs, &|o| d[b * outputs + o], &|o| w[i * outputs + o]);
                    let got = gx[b * inputs + i];
                    assert_eq!(got.to_bits(), expect.to_bits(), "{}", at("input gradient"));
                }
            }
        }
    }

    /// A layer's units taken in two ranges and its batch in three consecutive parts, the later
    /// parts continuing the sums, give the whole weight and bias gradients bit for bit.
    #[test]
    fn gradient_rows_over_parts_equal_the_whole() {
        let mut rng = Rng::new(21);
        let shape = DenseShape {
            batch: 23,
            inputs: 30,
            outputs: 40,
        };
        let x = random(&mut rng, shape.batch * shape.inputs);
        let d = random(&mut rng, shape.batch * shape.outputs);
        for arithmetic in [Arithmetic::Separate, Arithmetic::Fused] {
            let mut gw = vec![0.0; shape.weight_len()];
            let mut gb = vec![0.0; shape.outputs];
            backward_parameters(shape, arithmetic, &x, &d, &mut gw, &mut gb).unwrap();
            let mut rows_w = vec![f32::NAN; shape.weight_len()];
            let mut rows_b = vec![f32::NAN; shape.outputs];
            for (weights, units) in [(0..11, 0..17), (11..30, 17..40)] {
                let w = &mut rows_w[weights.start * shape.outputs..weights.end * shape.outputs];
                let b = &mut rows_b[units.clone()];
                for (i, rows) in [0..6, 6..7, 7..23].into_iter().enumerate() {
                    let part = DenseShape {
                        batch: rows.len(),
                        ..shape
                    };
                    let xs = &x[rows.start * shape.inputs..rows.end * shape.inputs];
                    let ds = &d[rows.start * shape.outputs..rows.end * shape.outputs];
                    let sums = if i == 0 { Sums::Start } else { Sums::Continue };
                    backward_parameter_rows(
                        part,
                        arithmetic,
                        (xs, ds),
                        (weights.clone(), units.clone()),
                        sums,
                        (&mut *w, &mut *b),
                    )
                    .unwrap();
                }
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&gw), bits(&rows_w), "{arithmetic:?}");
            assert_eq!(bits(&gb), bits(&rows_b), "{arithmetic:?}");
        }
        // The Cortex-M's loop continues sums the same way.
        for arithmetic in [Arithmetic::Separate, Arithmetic::Fused] {
            let mut whole = vec![0.0; shape.weight_len()];
            let mut gb = vec![0.0; shape.outputs];
            backward_parameters(shape, arithmetic, &x, &d, &mut whole, &mut gb).unwrap();
            let split = 9;
            let first = DenseShape {
                batch: split,
                ..shape
            };
            let mut c = vec![0.0; shape.weight_len()];
            let (xs, ds) = (&x[..split * shape.inputs], &d[..split * shape.outputs]);
            backward_parameters(first, arithmetic, xs, ds, &mut c, &mut gb).unwrap();
            let rest = DenseShape {
                batch: shape.batch - split,
                ..shape
            };
            let (xs, ds) = (&x[split * shape.inputs..], &d[split * shape.outputs..]);
            continue_ordered(arithmetic, Product::weight_gradient(rest, xs, ds), &mut c);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&whole), bits(&c), "{arithmetic:?}");
        }

        let mut w = vec![0.0; 2 * shape.outputs];
        let mut b = vec![0.0; 2];
        for share in [(29..31, 0..2), (0..2, 39..41)] {
            let bad = backward_parameter_rows(
                shape,
                Arithmetic::Separate,
                (&x, &d),
                share,
                Sums::Start,
                (&mut w, &mut b),
            );
            assert!(bad.is_err());
        }
    }

    /// Every kernel, on the desktop path and the Cortex-M one, against the textbook loop summed
    /// in the same order, bit for bit, with either rounding, over shapes that hit each tile
    /// remainder, span several panels, and take the one-wide paths (a batch of one, a layer
    /// with one input or one output; the Cortex-M demo's 1-32-32-1 layers).
    #[test]
    fn kernels_match_ordered_loops_exactly() {
        let mut rng = Rng::new(11);
        for &(batch, inputs, outputs) in &[
            (1, 1, 1),
            (3, 5, 7),
            (4, 16, 4),
            (5, 17, 9),
            (9, 33, 6),
            (6, 40, 10),
            (3, 1, 200),
            (61, 100, 1),
            (13, 64, 64),
            (5, 17, 129),
            (2, 33, 300),
            (61, 200, 200),
            (7, 130, 70),
            (3, 300, 65),
            (10, 129, 11),
            (64, 1, 32),
            (64, 32, 32),
            (64, 32, 1),
            (1, 5, 7),
            (1, 40, 13),
            (1, 1, 9),
            (1, 9, 1),
            (7, 1, 1),
            (5, 3, 1),
            (2, 1, 13),
            (33, 1, 5),
            (11, 70, 3),
            (7, 200, 100),
            (5, 150, 40),
            // Input gradients computed unit by unit (at most 32 samples), with 32-wide tiles
            // of 17 to 32 samples, several panels, and a layer too wide for the stack buffer.
            (31, 200, 200),
            (30, 200, 100),
            (32, 40, 257),
            (17, 90, 33),
            (25, 6, 10),
            (20, 420, 5),
            // Forward products whose last column block is 17 to 32 wide.
            (61, 90, 20),
            (9, 20, 90),
        ] {
            let (shape, x, w, bias) = random_layer(&mut rng, (batch, inputs, outputs));
            let d = random(&mut rng, batch * outputs);
            for path in [Path::Public, Path::Scalar] {
                check_layer(path, shape, &x, &w, &bias, &d);
            }
        }
    }

    /// Products of ±0 keep their sign as the ordered sum from `0.0` gives it: `0.0 + (−0)` is
    /// +0, including in a product of depth 1, where the sum has a single term.
    #[test]
    fn signed_zeros_match_ordered_loops() {
        let mut rng = Rng::new(12);
        for &(batch, inputs, outputs) in &[(6, 1, 9), (5, 1, 1), (1, 1, 6), (6, 3, 9), (4, 2, 1)] {
            let shape = DenseShape {
                batch,
                inputs,
                outputs,
            };
            let mut signed = |n| {
                (0..n)
                    .map(|i| match i % 3 {
                        0 => -0.0,
                        1 => 0.0,
                        _ => rng.normal_f32(1.0),
                    })
                    .collect::<Vec<f32>>()
            };
            let (x, w, d) = (
                signed(batch * inputs),
                signed(inputs * outputs),
                signed(batch * outputs),
            );
            let bias = std::vec![-0.0; outputs];
            for path in [Path::Public, Path::Scalar] {
                check_layer(path, shape, &x, &w, &bias, &d);
            }
        }
    }

    /// The Cortex-M product on operands with arbitrary strides (as a sub-matrix view would
    /// have), with and without a bias, against the textbook loop: the layouts the layers never
    /// pass take its ordered fallback, the others its tiles.
    #[test]
    fn scalar_product_matches_ordered_loop_for_any_strides() {
        let mut rng = Rng::new(13);
        for &(m, k, n) in &[
            (1, 1, 1),
            (5, 3, 7),
            (2, 40, 9),
            (9, 1, 4),
            (1, 6, 10),
            (8, 5, 1),
        ] {
            // (row, col) of a and b: row-major, transposed, and padded to wider storage.
            let a_layouts = [(k, 1), (1, m), (k + 2, 1), (1, m + 3), (2 * k, 2)];
            let b_layouts = [(n, 1), (1, k), (n + 1, 1), (1, k + 2), (3, 3 * k)];
            for &(ar, ac) in &a_layouts {
                for &(br, bc) in &b_layouts {
                    let a_data = random(&mut rng, (m - 1) * ar + (k - 1) * ac + 1);
                    let b_data = random(&mut rng, (k - 1) * br + (n - 1) * bc + 1);
                    let (a, b) = (Strided::new(&a_data, ar, ac), Strided::new(&b_data, br, bc));
                    let product = Product { m, k, n, a, b };
                    let bias = random(&mut rng, n);
                    for (arithmetic, with_bias) in [
                        (Arithmetic::Separate, false),
                        (Arithmetic::Fused, false),
                        (Arithmetic::Separate, true),
                        (Arithmetic::Fused, true),
                    ] {
                        let mut c = std::vec![f32::NAN; m * n];
                        let fused = arithmetic == Arithmetic::Fused;
                        let added = Some(bias.as_slice()).filter(|_| with_bias);
                        scalar::matmul(fused, product, added, &mut c);
                        for i in 0..m {
                            for j in 0..n {
                                let sum = ordered_dot(
                                    arithmetic,
                                    k,
                                    |p| a_data[i * ar + p * ac],
                                    |p| b_data[p * br + j * bc],
                                );
                                let expect = if with_bias { sum + bias[j] } else { sum };
                                assert_eq!(
                                    c[i * n + j].to_bits(),
                                    expect.to_bits(),
                                    "{arithmetic:?} {m}×{k}×{n} a ({ar}, {ac}) b ({br}, {bc})"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    /// The two roundings are different computations (else the choice would be pointless).
    #[test]
    fn fused_and_separate_rounding_differ() {
        let mut rng = Rng::new(5);
        let shape = DenseShape {
            batch: 8,
            inputs: 64,
            outputs: 64,
        };
        let x = random(&mut rng, 8 * 64);
        let w = random(&mut rng, 64 * 64);
        let bias = [0.0; 64];
        let mut separate = [0.0; 8 * 64];
        let mut fused = [0.0; 8 * 64];
        forward(shape, Arithmetic::Separate, &x, &w, &bias, &mut separate).unwrap();
        forward(shape, Arithmetic::Fused, &x, &w, &bias, &mut fused).unwrap();
        let differing = separate.iter().zip(&fused).filter(|(a, b)| a != b).count();
        assert!(differing > 64, "only {differing} of 512 outputs differ");
        for (a, b) in separate.iter().zip(&fused) {
            assert!((a - b).abs() <= 1e-5 * (1.0 + a.abs()), "{a} vs {b}");
        }
    }

    /// The thread's own panel buffer holds the last product's values; a product that finds it
    /// taken packs into one on the stack instead. Either way, the same bits.
    #[cfg(all(feature = "std", not(target_arch = "arm")))]
    #[test]
    fn products_give_the_same_bits_with_or_without_the_threads_panel() {
        let mut rng = Rng::new(5);
        for &(batch, inputs, outputs) in &[(61, 200, 200), (7, 130, 70), (9, 20, 90), (3, 1, 9)] {
            let (shape, x, w, bias) = random_layer(&mut rng, (batch, inputs, outputs));
            for arithmetic in [Arithmetic::Separate, Arithmetic::Fused] {
                let mut own = vec![0.0; batch * outputs];
                forward(shape, arithmetic, &x, &w, &bias, &mut own).unwrap();
                let mut stack = vec![0.0; batch * outputs];
                PANEL.with(|panel| {
                    let _taken = panel.borrow_mut();
                    forward(shape, arithmetic, &x, &w, &bias, &mut stack).unwrap();
                });
                assert_eq!(own, stack, "{batch} × {inputs} × {outputs}, {arithmetic:?}");
            }
        }
    }

    #[test]
    fn wrong_lengths_are_errors() {
        let shape = DenseShape {
            batch: 2,
            inputs: 3,
            outputs: 4,
        };
        let mut out = [0.0; 8];
        assert!(forward(
            shape,
            Arithmetic::Separate,
            &[0.0; 5],
            &[0.0; 12],
            &[0.0; 4],
            &mut out
        )
        .is_err());
        assert!(forward(
            shape,
            Arithmetic::Separate,
            &[0.0; 6],
            &[0.0; 12],
            &[0.0; 3],
            &mut out
        )
        .is_err());
        assert!(forward(
            shape,
            Arithmetic::Separate,
            &[0.0; 6],
            &[0.0; 12],
            &[0.0; 4],
            &mut out
        )
        .is_ok());
    }
}
