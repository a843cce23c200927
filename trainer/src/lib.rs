//! `cir-trainer`: work in progress; see the workspace README.
