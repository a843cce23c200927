//! Shared test fixtures: the scripted OpenAI-compatible server and the scripted code runner.
#![allow(dead_code)]

pub mod runner;
pub mod server;
