//! Built-in benchmarks the project generates itself: problems where computation helps and the answer is an exact
//! integer, so that a fresh machine can run the whole loop (generation, code execution, grading) with nothing to
//! download but the model and the interpreter.
//!
//! `builtin:mul` (64) and `builtin:mul-train` (4096) are products of two 3- or 4-digit numbers: the CPU RL demo's
//! task. Each problem's `meta.digits` is the digit count of both factors (6–8).
//!
//! `builtin:arith` (40 problems) is the evaluation set; `builtin:arith-train` (4096 problems, another seed, no
//! problem shared with the evaluation set) is for training. Eight kinds, in turn: a product of two large integers,
//! a modular power, inclusion–exclusion counting, a sum of primes, a greatest common divisor, a Fibonacci number
//! modulo a prime, the digit sum of a power, and subsets with a sum divisible by k. Every answer is computed here
//! exactly (u128 arithmetic, a sieve, a subset-sum count), and the generator is seeded, so the sets are the same on
//! every machine. Each problem's `meta.kind` names its kind (`product`, `modpow`, …), for reports by kind.

use cir_record::MetaValue;

use crate::Problem;

/// The names `builtin:NAME` accepts.
pub const NAMES: &[&str] = &["arith", "arith-train", "mul", "mul-train"];

/// The problems of the built-in benchmark `name` (without the `builtin:` prefix).
pub fn problems(name: &str) -> Option<Vec<Problem>> {
    match name {
        "arith" => Some(arith(0x00c1_a001, 40)),
        "arith-train" => {
            let eval: std::collections::HashSet<String> = arith(0x00c1_a001, 40).into_iter().map(|p| p.text).collect();
            Some(arith(0x00c1_a002, 4096 + 64).into_iter().filter(|p| !eval.contains(&p.text)).take(4096).collect())
        }
        "mul" => Some(mul(0x00c1_b001, 64)),
        "mul-train" => {
            let eval: std::collections::HashSet<String> = mul(0x00c1_b001, 64).into_iter().map(|p| p.text).collect();
            Some(mul(0x00c1_b002, 4096 + 64).into_iter().filter(|p| !eval.contains(&p.text)).take(4096).collect())
        }
        _ => None,
    }
}

/// `count` products of two 3- or 4-digit numbers, written tersely (`4823*7719`): the CPU RL demo's task, which a
/// small model cannot do in its head but can do with one line of Python.
pub fn mul(seed: u64, count: usize) -> Vec<Problem> {
    let mut rng = SplitMix(seed);
    (0..count)
        .map(|i| {
            let a = rng.range(100, 9999);
            let b = rng.range(100, 9999);
            let digits = a.to_string().len() + b.to_string().len();
            with_meta(
                Problem::new(format!("{i}"), format!("{a}*{b}"), (a * b).to_string()),
                "digits",
                MetaValue::Int(digits as i64),
            )
        })
        .collect()
}

/// `count` arithmetic problems from `seed`, the kinds in turn.
pub fn arith(seed: u64, count: usize) -> Vec<Problem> {
    let mut rng = SplitMix(seed);
    (0..count)
        .map(|i| {
            let (kind, generate) = KINDS[i % KINDS.len()];
            let (text, answer) = generate(&mut rng);
            with_meta(Problem::new(format!("{i}"), text, answer.to_string()), "kind", MetaValue::Text(kind.into()))
        })
        .collect()
}

type Kind = fn(&mut SplitMix) -> (String, u128);

/// The kinds of `builtin:arith`, each with the name its problems carry as `meta.kind` (`cir-eval report --by kind`).
const KINDS: [(&str, Kind); 8] = [
    ("product", product),
    ("modpow", modpow),
    ("counting", counting),
    ("prime_sum", prime_sum),
    ("gcd", gcd_problem),
    ("fibonacci", fibonacci),
    ("digit_sum", digit_sum),
    ("subsets", subsets),
];

fn with_meta(mut problem: Problem, field: &str, value: MetaValue) -> Problem {
    problem.meta.insert(field.to_owned(), value);
    problem
}

fn product(r: &mut SplitMix) -> (String, u128) {
    let a = r.range(100_000_000, 999_999_999_999);
    let b = r.range(100_000_000, 999_999_999_999);
    (format!("Compute the exact value of ${a} \\times {b}$."), a * b)
}

fn modpow(r: &mut SplitMix) -> (String, u128) {
    let base = r.range(2, 99);
    let exp = r.range(100, 100_000);
    let m = [1000, 997, 10_007, 1_000_007, 65_537][r.below(5)];
    (format!("What is the remainder when ${base}^{{{exp}}}$ is divided by ${m}$?"), pow_mod(base, exp, m))
}

fn counting(r: &mut SplitMix) -> (String, u128) {
    let n = r.range(10_000, 2_000_000);
    let a = r.range(3, 13);
    let mut b = r.range(3, 17);
    if b == a {
        b += 1;
    }
    let c = r.range(2, 7);
    // Inclusion–exclusion: |A ∪ B| − |(A ∪ B) ∩ C|.
    let multiples = |d: u128| n / d;
    let union = |x: u128, y: u128| multiples(x) + multiples(y) - multiples(lcm(x, y));
    let count = union(a, b) - union(lcm(a, c), lcm(b, c));
    let text =
        format!("How many integers $k$ with $1 \\le k \\le {n}$ are divisible by ${a}$ or by ${b}$, but not by ${c}$?");
    (text, count)
}

fn prime_sum(r: &mut SplitMix) -> (String, u128) {
    let n = r.range(1_000, 200_000);
    static PRIMES: std::sync::OnceLock<Vec<bool>> = std::sync::OnceLock::new();
    let is_prime = PRIMES.get_or_init(|| sieve(200_001));
    let sum = is_prime[..n as usize].iter().enumerate().filter(|&(_, &p)| p).map(|(k, _)| k as u128).sum();
    (format!("What is the sum of all prime numbers less than ${n}$?"), sum)
}

fn gcd_problem(r: &mut SplitMix) -> (String, u128) {
    let g = r.range(2, 99_999);
    let a = g * r.range(1_000, 9_999_999);
    let b = g * r.range(1_000, 9_999_999);
    (format!("Find the greatest common divisor of ${a}$ and ${b}$."), gcd(a, b))
}

fn fibonacci(r: &mut SplitMix) -> (String, u128) {
    let n = r.range(100, 50_000);
    let m = [10_007, 1_000_003, 998_244_353][r.below(3)];
    let (mut x, mut y) = (0u128, 1u128);
    for _ in 0..n {
        (x, y) = (y, (x + y) % m);
    }
    let text = format!(
        "Let $F_0 = 0$, $F_1 = 1$ and $F_{{n+1}} = F_n + F_{{n-1}}$. What is the remainder when $F_{{{n}}}$ is divided by ${m}$?"
    );
    (text, x)
}

fn digit_sum(r: &mut SplitMix) -> (String, u128) {
    let base = r.range(2, 30);
    // The largest exponent whose power fits in u128, at least 20.
    let max = (1..200u32).take_while(|&e| base.checked_pow(e).is_some()).last().unwrap_or(20);
    let exp = r.range(20, u128::from(max)) as u32;
    let value = base.pow(exp);
    let sum = value.to_string().bytes().map(|d| u128::from(d - b'0')).sum();
    (format!("What is the sum of the decimal digits of ${base}^{{{exp}}}$?"), sum)
}

fn subsets(r: &mut SplitMix) -> (String, u128) {
    let n = r.range(12, 40) as usize;
    let k = r.range(3, 23) as usize;
    // ways[s] = subsets of {1..i} whose sum is s modulo k.
    let mut ways = vec![0u128; k];
    ways[0] = 1;
    for i in 1..=n {
        let mut next = ways.clone();
        for (s, &w) in ways.iter().enumerate() {
            next[(s + i) % k] += w;
        }
        ways = next;
    }
    let text = format!(
        "How many subsets of $\\{{1, 2, \\ldots, {n}\\}}$ (the empty set included) have a sum of elements divisible by ${k}$?"
    );
    (text, ways[0])
}

fn pow_mod(mut base: u128, mut exp: u128, m: u128) -> u128 {
    let mut acc = 1 % m;
    base %= m;
    while exp > 0 {
        if exp & 1 == 1 {
            acc = acc * base % m;
        }
        base = base * base % m;
        exp >>= 1;
    }
    acc
}

fn lcm(a: u128, b: u128) -> u128 {
    a / gcd(a, b) * b
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `is_prime[k]` for `k < n`.
fn sieve(n: usize) -> Vec<bool> {
    let mut is_prime = vec![true; n.max(2)];
    is_prime[0] = false;
    is_prime[1] = false;
    let mut i = 2;
    while i * i < n {
        if is_prime[i] {
            (i * i..n).step_by(i).for_each(|j| is_prime[j] = false);
        }
        i += 1;
    }
    is_prime.truncate(n);
    is_prime
}

/// SplitMix64: small, seeded, the same everywhere.
pub(crate) struct SplitMix(pub u64);

impl SplitMix {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u128, hi: u128) -> u128 {
        lo + u128::from(self.next_u64()) % (hi - lo + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_right_on_known_values() {
        assert_eq!(pow_mod(7, 2023, 1000), 343);
        assert_eq!(pow_mod(2, 10, 1000), 24);
        assert_eq!(gcd(1_234_567_890, 9_876_543_210), 90);
        assert_eq!(sieve(30).iter().filter(|&&p| p).count(), 10);
        // Inclusion–exclusion against counting one by one.
        let mut r = SplitMix(5);
        for _ in 0..20 {
            let (text, answer) = counting(&mut r);
            let nums: Vec<u128> = text
                .split(|c: char| !c.is_ascii_digit())
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect();
            let [_, n, a, b, c] = nums[..] else { panic!("{text}") };
            let direct = (1..=n).filter(|k| (k % a == 0 || k % b == 0) && k % c != 0).count() as u128;
            assert_eq!(answer, direct, "{text}");
        }
        let mut r = SplitMix(1);
        let (text, answer) = subsets(&mut r);
        assert!(text.contains("subsets"), "{text}");
        assert!(answer > 0);
    }

    #[test]
    fn the_sets_are_fixed_distinct_and_disjoint() {
        let eval = problems("arith").unwrap();
        assert_eq!(eval.len(), 40);
        assert_eq!(eval, problems("arith").unwrap(), "seeded: the same every time");
        let train = problems("arith-train").unwrap();
        assert_eq!(train.len(), 4096);
        let texts: std::collections::HashSet<&str> = train.iter().map(|p| p.text.as_str()).collect();
        assert!(eval.iter().all(|p| !texts.contains(p.text.as_str())));
        assert!(problems("nope").is_none());
        let mul = problems("mul").unwrap();
        assert_eq!((mul.len(), problems("mul-train").unwrap().len()), (64, 4096));
        let (a, b) = mul[0].text.split_once('*').unwrap();
        assert_eq!(a.parse::<u128>().unwrap() * b.parse::<u128>().unwrap(), mul[0].gold.parse::<u128>().unwrap());
        // Every answer is a plain non-negative integer.
        assert!(eval.iter().chain(&train).all(|p| p.gold.bytes().all(|b| b.is_ascii_digit())));
        // One of each kind in the first eight.
        assert!(
            eval[0].text.contains("\\times") && eval[1].text.contains("remainder") && eval[7].text.contains("subsets")
        );
        let kind = |p: &Problem| p.meta.get("kind").map(ToString::to_string);
        assert_eq!(
            (kind(&eval[0]), kind(&eval[1]), kind(&eval[8])),
            (Some("product".into()), Some("modpow".into()), Some("product".into()))
        );
        let digits = |p: &Problem| (p.text.len() - 1) as i64;
        assert!(
            mul.iter().all(|p| p.meta.get("digits") == Some(&MetaValue::Int(digits(p)))),
            "factor digits, `*` aside"
        );
    }
}
