//! Matrix products over plain slices through the `gemm` crate (the one burn-flex's `matmul` uses), for the CPU
//! kernels that keep their operands on the host: the causal attention's blocks and the LM head's chunks.

use gemm::{Parallelism, gemm};

/// A read-only matrix in a slice: element `(i, j)` at `i · rs + j · cs`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mat<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
}

/// `dst = alpha · lhs · rhs`, or `dst += alpha · lhs · rhs` when `add`, for `lhs` of `m × depth` and `rhs` of
/// `depth × n`; `dst` is `m × n`, row-major with row stride `dst_rs`. `threads`: 1 runs on the calling thread, more
/// splits the product over rayon's pool.
///
/// # Panics
/// When a size is 0 or a stride addresses past the end of its slice.
#[allow(clippy::too_many_arguments)]
pub(crate) fn product(
    dst: &mut [f32],
    dst_rs: usize,
    lhs: Mat,
    rhs: Mat,
    [m, n, depth]: [usize; 3],
    alpha: f32,
    add: bool,
    threads: usize,
) {
    let last = |rows: usize, rs: usize, cols: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(m > 0 && n > 0 && depth > 0, "empty product");
    assert!(last(m, dst_rs, n, 1) < dst.len(), "dst out of bounds");
    assert!(last(m, lhs.rs, depth, lhs.cs) < lhs.data.len(), "lhs out of bounds");
    assert!(last(depth, rhs.rs, n, rhs.cs) < rhs.data.len(), "rhs out of bounds");
    let stride = |s: usize| s as isize;
    let parallelism = if threads > 1 { Parallelism::Rayon(threads) } else { Parallelism::None };
    #[allow(unsafe_code)]
    // SAFETY: every element the strides address lies inside its slice (checked above); `dst` is borrowed mutably,
    // so it aliases neither input.
    unsafe {
        gemm(
            m,
            n,
            depth,
            dst.as_mut_ptr(),
            1,
            stride(dst_rs),
            add,
            lhs.data.as_ptr(),
            stride(lhs.cs),
            stride(lhs.rs),
            rhs.data.as_ptr(),
            stride(rhs.cs),
            stride(rhs.rs),
            1.0,
            alpha,
            false,
            false,
            false,
            parallelism,
        );
    }
}
