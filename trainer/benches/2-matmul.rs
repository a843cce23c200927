//! GFLOPS of the `gemm` crate, called as burn-flex's `matmul` calls it, on the products a model step is made of.
//!
//! `cargo bench -p cir-trainer --bench 2-matmul -- [MxKxN...]` times `[M, K] @ [N, K]ᵀ` (the LM head's layout: the
//! weight stored row per output) into a buffer that is reused, best of five after a warm-up, two threads, and prints
//! one JSON line per shape; `trainer/scripts/matmul_torch.py` times the same products in PyTorch and NumPy. Without
//! arguments: the 11M bench model's head chunk and whole head, SmolLM2-135M's layer products and head chunk.

use std::time::Instant;

use gemm::{Parallelism, gemm};

const DEFAULT: [&str; 6] =
    ["131x256x32000", "2048x256x32000", "2048x576x1536", "2048x1536x576", "2048x576x576", "85x576x49152"];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let shapes = if args.is_empty() { DEFAULT.map(String::from).to_vec() } else { args };
    for shape in shapes {
        let dims: Vec<usize> = shape.split('x').map(|d| d.parse().expect("MxKxN")).collect();
        let [m, k, n] = dims[..] else { panic!("shape {shape:?}: expected MxKxN") };
        let (lhs, rhs, mut out) = (vec![0.5f32; m * k], vec![0.25f32; n * k], vec![0.0f32; m * n]);
        let mut times = Vec::new();
        for _ in 0..6 {
            let start = Instant::now();
            #[allow(unsafe_code)]
            // SAFETY: the three buffers hold `m × n`, `m × k` and `n × k` floats, addressed within those sizes by
            // the strides given (row-major output and lhs, rhs read transposed).
            unsafe {
                gemm(
                    m,
                    n,
                    k,
                    out.as_mut_ptr(),
                    1,
                    n as isize,
                    false,
                    lhs.as_ptr(),
                    1,
                    k as isize,
                    rhs.as_ptr(),
                    k as isize,
                    1,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    Parallelism::Rayon(2),
                );
            }
            times.push(start.elapsed().as_secs_f64());
        }
        let best = times[1..].iter().copied().fold(f64::INFINITY, f64::min);
        let gflops = 2.0 * (m * k * n) as f64 / best / 1e9;
        let line = serde_json::json!({"impl": "gemm-0.19", "shape": shape, "ms": (best * 1e5).round() / 1e2,
                                      "gflops": gflops.round()});
        println!("{line}");
    }
}
