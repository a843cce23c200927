//! `cir-runtime`: work in progress; see the workspace README.
