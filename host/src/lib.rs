//! The desktop side of *fprinciple*: experiments, data loading, run records and figures.
//!
//! Everything numeric goes through `fprinciple-core`; this crate owns the heap storage,
//! the threads, the files and the command line.
#![deny(missing_docs)]

pub mod checkpoint;
pub mod cli;
pub mod data;
pub mod experiments;
pub mod network;
pub mod parallel;
pub mod plot;
pub mod record;
pub mod report;
