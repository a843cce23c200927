//! Fuzzes the whole pipeline: parse, extract and verify must never panic on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = cir_verify::parse(&text);
    let _ = cir_verify::extract_answer(&text);
    // Split the input into a prediction and a gold answer at the first NUL, else compare with fixed golds.
    match text.split_once('\0') {
        Some((p, g)) => {
            let _ = cir_verify::verify(p, g);
        }
        None => {
            for gold in ["\\frac{1}{2}", "x^2+1", "(0, 1]", "\\{1,2\\}", "x = 3"] {
                let _ = cir_verify::verify(&text, gold);
            }
        }
    }
});
