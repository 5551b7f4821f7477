//! Dense layer kernels over slices: the one implementation every network uses.
//!
//! Matrices are row-major. A layer with `inputs` inputs and `outputs` units stores its weight as
//! `outputs × inputs` (one row per unit, as PyTorch does) followed by its `outputs` biases. A
//! batch of `batch` samples is `batch × width`.
//!
//! The kernels are register-blocked: each keeps a small tile of results in `LANES`-wide arrays of
//! independent sums, which the compiler turns into SIMD registers (AVX2/AVX-512 on a desktop built
//! with `target-cpu=native`, plain FPU code on a Cortex-M). The summation order depends only on
//! the shapes, never on the machine, so results are bit-identical across platforms.

use crate::error::{check_len, Result};

/// Width of the independent partial sums; a multiple of every SIMD width in use.
const LANES: usize = 16;
/// Rows of the output tile kept in registers.
const TILE_ROWS: usize = 4;
/// Columns of the output tile in the dot-product kernel.
const TILE_COLS: usize = 4;
/// Columns of the output tile in the broadcast (axpy) kernel: two SIMD vectors of 16.
const AXPY_COLS: usize = 2 * LANES;

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
    /// Number of weights (`outputs × inputs`).
    pub const fn weight_len(&self) -> usize {
        self.inputs * self.outputs
    }
}

/// `outputs = inputs · weightᵀ + bias`, before the activation.
pub fn forward(
    shape: DenseShape,
    inputs: &[f32],
    weight: &[f32],
    bias: &[f32],
    outputs: &mut [f32],
) -> Result<()> {
    check_len("dense inputs", shape.batch * shape.inputs, inputs.len())?;
    check_len("dense weight", shape.weight_len(), weight.len())?;
    check_len("dense bias", shape.outputs, bias.len())?;
    check_len("dense outputs", shape.batch * shape.outputs, outputs.len())?;
    if shape.inputs == 0 {
        for row in outputs.chunks_exact_mut(shape.outputs.max(1)) {
            row.copy_from_slice(bias);
        }
        return Ok(());
    }
    matmul_transposed(shape.inputs, inputs, weight, outputs);
    if shape.outputs > 0 {
        for row in outputs.chunks_exact_mut(shape.outputs) {
            row.iter_mut().zip(bias).for_each(|(o, b)| *o += b);
        }
    }
    Ok(())
}

/// Gradients of the weight and bias from the layer's output deltas:
/// `grad_weight = deltasᵀ · inputs`, `grad_bias = Σ_batch deltas` (both overwritten).
pub fn backward_parameters(
    shape: DenseShape,
    inputs: &[f32],
    deltas: &[f32],
    grad_weight: &mut [f32],
    grad_bias: &mut [f32],
) -> Result<()> {
    check_len("dense inputs", shape.batch * shape.inputs, inputs.len())?;
    check_len("dense deltas", shape.batch * shape.outputs, deltas.len())?;
    check_len("weight gradient", shape.weight_len(), grad_weight.len())?;
    check_len("bias gradient", shape.outputs, grad_bias.len())?;
    // Row o of the weight gradient is Σ_b deltas[b][o] · inputs[b]: A(o, b) = deltas[b·outputs + o].
    let a = Strided {
        data: deltas,
        row_stride: 1,
        col_stride: shape.outputs,
    };
    matmul_broadcast(
        shape.outputs,
        shape.batch,
        shape.inputs,
        a,
        inputs,
        grad_weight,
    );
    grad_bias.fill(0.0);
    if shape.outputs > 0 {
        for row in deltas.chunks_exact(shape.outputs) {
            grad_bias.iter_mut().zip(row).for_each(|(g, d)| *g += d);
        }
    }
    Ok(())
}

/// Deltas of the layer's inputs: `grad_inputs = deltas · weight` (overwritten), before the
/// previous layer's activation derivative is applied.
pub fn backward_inputs(
    shape: DenseShape,
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
    // Row b of the result is Σ_o deltas[b][o] · weight[o]: A(b, o) = deltas[b·outputs + o].
    let a = Strided {
        data: deltas,
        row_stride: shape.outputs,
        col_stride: 1,
    };
    matmul_broadcast(
        shape.batch,
        shape.outputs,
        shape.inputs,
        a,
        weight,
        grad_inputs,
    );
    Ok(())
}

/// A read-only matrix addressed by strides, so that a transpose costs nothing.
#[derive(Clone, Copy)]
struct Strided<'a> {
    data: &'a [f32],
    row_stride: usize,
    col_stride: usize,
}

impl Strided<'_> {
    #[inline(always)]
    fn at(&self, row: usize, col: usize) -> f32 {
        self.data
            .get(row * self.row_stride + col * self.col_stride)
            .copied()
            .unwrap_or(0.0)
    }
}

/// `c (m × n) = a (m × k, strided) · b (k × n)`: each row of `c` is a sum of rows of `b` scaled by
/// broadcast elements of `a`. Lengths are checked by the callers.
fn matmul_broadcast(m: usize, k: usize, n: usize, a: Strided<'_>, b: &[f32], c: &mut [f32]) {
    if n == 0 {
        return;
    }
    let mut row = 0;
    for c_rows in c.chunks_mut(TILE_ROWS * n) {
        let rows = c_rows.len() / n;
        match rows {
            TILE_ROWS => broadcast_tile::<TILE_ROWS>(row, k, n, a, b, c_rows),
            3 => broadcast_tile::<3>(row, k, n, a, b, c_rows),
            2 => broadcast_tile::<2>(row, k, n, a, b, c_rows),
            _ => broadcast_tile::<1>(row, k, n, a, b, c_rows),
        }
        row += rows;
    }
    debug_assert_eq!(row, m);
}

/// `R` rows of `c` (`c_rows`, `R × n`) starting at row `row0` of `a`.
#[inline(always)]
fn broadcast_tile<const R: usize>(
    row0: usize,
    k: usize,
    n: usize,
    a: Strided<'_>,
    b: &[f32],
    c_rows: &mut [f32],
) {
    let mut col = 0;
    while col < n {
        let width = AXPY_COLS.min(n - col);
        let mut acc = [[0.0f32; AXPY_COLS]; R];
        for (p, b_row) in b.chunks_exact(n).take(k).enumerate() {
            let b_part = &b_row[col..col + width];
            let mut scale = [0.0f32; R];
            for (r, s) in scale.iter_mut().enumerate() {
                *s = a.at(row0 + r, p);
            }
            if width == AXPY_COLS {
                for r in 0..R {
                    for (x, y) in acc[r].iter_mut().zip(b_part) {
                        *x += scale[r] * y;
                    }
                }
            } else {
                for r in 0..R {
                    for (x, y) in acc[r][..width].iter_mut().zip(b_part) {
                        *x += scale[r] * y;
                    }
                }
            }
        }
        for (r, out_row) in c_rows.chunks_exact_mut(n).enumerate() {
            out_row[col..col + width].copy_from_slice(&acc[r][..width]);
        }
        col += width;
    }
}

/// `c (m × n) = a (m × k) · bᵀ` with `b` stored `n × k`: every element a dot product of two
/// contiguous rows. Lengths are checked by the callers; `k > 0`.
fn matmul_transposed(k: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    let n = b.len() / k;
    if n == 0 {
        return;
    }
    for (a_rows, c_rows) in a.chunks(TILE_ROWS * k).zip(c.chunks_mut(TILE_ROWS * n)) {
        match a_rows.len() / k {
            TILE_ROWS => dot_rows::<TILE_ROWS>(k, n, a_rows, b, c_rows),
            3 => dot_rows::<3>(k, n, a_rows, b, c_rows),
            2 => dot_rows::<2>(k, n, a_rows, b, c_rows),
            _ => dot_rows::<1>(k, n, a_rows, b, c_rows),
        }
    }
}

/// `R` rows of `a` against every row of `b`.
#[inline(always)]
fn dot_rows<const R: usize>(k: usize, n: usize, a_rows: &[f32], b: &[f32], c_rows: &mut [f32]) {
    let mut col = 0;
    for b_rows in b.chunks(TILE_COLS * k) {
        let cols = b_rows.len() / k;
        let tile: [[f32; TILE_COLS]; R] = match cols {
            TILE_COLS => widen(dot_tile::<R, TILE_COLS>(k, a_rows, b_rows)),
            3 => widen(dot_tile::<R, 3>(k, a_rows, b_rows)),
            2 => widen(dot_tile::<R, 2>(k, a_rows, b_rows)),
            _ => widen(dot_tile::<R, 1>(k, a_rows, b_rows)),
        };
        for (r, out_row) in c_rows.chunks_exact_mut(n).enumerate() {
            out_row[col..col + cols].copy_from_slice(&tile[r][..cols]);
        }
        col += cols;
    }
}

/// Pads a `R × S` tile to `R × TILE_COLS`.
#[inline(always)]
fn widen<const R: usize, const S: usize>(tile: [[f32; S]; R]) -> [[f32; TILE_COLS]; R] {
    let mut out = [[0.0; TILE_COLS]; R];
    for (o, t) in out.iter_mut().zip(tile) {
        o[..S].copy_from_slice(&t);
    }
    out
}

/// The `R × S` dot products of `R` rows of `a` with `S` rows of `b`, each of length `k`.
#[inline(always)]
fn dot_tile<const R: usize, const S: usize>(
    k: usize,
    a_rows: &[f32],
    b_rows: &[f32],
) -> [[f32; S]; R] {
    let mut acc = [[[0.0f32; LANES]; S]; R];
    let full = k / LANES * LANES;
    let mut start = 0;
    while start < full {
        for (r, acc_row) in acc.iter_mut().enumerate() {
            let x: &[f32; LANES] = lanes(a_rows, r * k + start);
            for (s, acc_lanes) in acc_row.iter_mut().enumerate() {
                let w: &[f32; LANES] = lanes(b_rows, s * k + start);
                for l in 0..LANES {
                    acc_lanes[l] += x[l] * w[l];
                }
            }
        }
        start += LANES;
    }
    let mut out = [[0.0f32; S]; R];
    for (r, (out_row, acc_row)) in out.iter_mut().zip(&acc).enumerate() {
        for (s, (out, acc_lanes)) in out_row.iter_mut().zip(acc_row).enumerate() {
            let mut sum = horizontal_sum(acc_lanes);
            let a_tail = &a_rows[r * k + full..(r + 1) * k];
            let b_tail = &b_rows[s * k + full..(s + 1) * k];
            for (x, w) in a_tail.iter().zip(b_tail) {
                sum += x * w;
            }
            *out = sum;
        }
    }
    out
}

/// A `LANES`-long window of `data` at `start` (all-zero if out of range, which the callers'
/// loop bounds rule out).
#[inline(always)]
fn lanes(data: &[f32], start: usize) -> &[f32; LANES] {
    const ZERO: [f32; LANES] = [0.0; LANES];
    data.get(start..start + LANES)
        .and_then(|s| s.try_into().ok())
        .unwrap_or(&ZERO)
}

/// Pairwise sum of the lanes in a fixed order.
#[inline(always)]
fn horizontal_sum(v: &[f32; LANES]) -> f32 {
    let mut half = *v;
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            half[i] += half[i + width];
        }
        width /= 2;
    }
    half[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn random(rng: &mut Rng, n: usize) -> [f32; 512] {
        let mut v = [0.0; 512];
        for x in v.iter_mut().take(n) {
            *x = rng.normal_f32(1.0);
        }
        v
    }

    /// Every kernel against the textbook triple loop, over shapes that hit each tile remainder.
    #[test]
    fn kernels_match_naive_loops() {
        let mut rng = Rng::new(11);
        for &(batch, inputs, outputs) in &[
            (1, 1, 1),
            (3, 5, 7),
            (4, 16, 4),
            (5, 17, 9),
            (9, 33, 6),
            (6, 40, 10),
        ] {
            let shape = DenseShape {
                batch,
                inputs,
                outputs,
            };
            let x = random(&mut rng, batch * inputs);
            let w = random(&mut rng, inputs * outputs);
            let bias = random(&mut rng, outputs);
            let d = random(&mut rng, batch * outputs);
            let (x, w, bias, d) = (
                &x[..batch * inputs],
                &w[..inputs * outputs],
                &bias[..outputs],
                &d[..batch * outputs],
            );
            let mut out = [0.0f32; 512];
            forward(shape, x, w, bias, &mut out[..batch * outputs]).unwrap();
            for b in 0..batch {
                for o in 0..outputs {
                    let expect: f32 = bias[o]
                        + (0..inputs)
                            .map(|i| x[b * inputs + i] * w[o * inputs + i])
                            .sum::<f32>();
                    assert!((out[b * outputs + o] - expect).abs() < 1e-4);
                }
            }
            let mut gw = [0.0f32; 512];
            let mut gb = [0.0f32; 512];
            backward_parameters(shape, x, d, &mut gw[..inputs * outputs], &mut gb[..outputs])
                .unwrap();
            for o in 0..outputs {
                for i in 0..inputs {
                    let expect: f32 = (0..batch)
                        .map(|b| d[b * outputs + o] * x[b * inputs + i])
                        .sum();
                    assert!((gw[o * inputs + i] - expect).abs() < 1e-4);
                }
                let expect: f32 = (0..batch).map(|b| d[b * outputs + o]).sum();
                assert!((gb[o] - expect).abs() < 1e-4);
            }
            let mut gx = [0.0f32; 512];
            backward_inputs(shape, w, d, &mut gx[..batch * inputs]).unwrap();
            for b in 0..batch {
                for i in 0..inputs {
                    let expect: f32 = (0..outputs)
                        .map(|o| d[b * outputs + o] * w[o * inputs + i])
                        .sum();
                    assert!((gx[b * inputs + i] - expect).abs() < 1e-4);
                }
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
        assert!(forward(shape, &[0.0; 5], &[0.0; 12], &[0.0; 4], &mut out).is_err());
        assert!(forward(shape, &[0.0; 6], &[0.0; 12], &[0.0; 3], &mut out).is_err());
        assert!(forward(shape, &[0.0; 6], &[0.0; 12], &[0.0; 4], &mut out).is_ok());
    }
}
