//! Cross-crate integration tests of cir (`tests/pipeline.rs`): trajectories made by the interaction loop
//! (`cir-rollout` with the real sandbox, `cir-runtime`) are re-graded by `cir-eval score` and by the browser viewer's
//! `cir-web` with the same verdicts, and become the trainer's rows (`cir-trainer`) with their masks intact.
