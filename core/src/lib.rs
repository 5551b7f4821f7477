//! # fprinciple-core
//!
//! The allocation-free heart of *fprinciple*: tanh networks of any depth trained by gradient
//! methods, and a spectral tracker that watches each frequency of the target converge — the
//! Frequency Principle of deep learning (Xu 2018, arXiv 1808.04295).
//!
//! Everything here is `no_std`, never allocates and never panics on caller data: callers own
//! every buffer, and bad shapes are compile errors or [`Error`]s. The same code trains on a
//! desktop and on a Cortex-M microcontroller.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod activation;
pub mod dense;
pub mod error;
pub mod fft;
pub mod float;
pub mod init;
pub mod loss;
pub mod mlp;
pub mod optim;
pub mod rng;
pub mod spectrum;
pub mod tracker;
pub mod train;

pub use error::{Error, Result};
