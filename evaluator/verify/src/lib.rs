//! `cir-verify`: work in progress; see the workspace README.
