//! One module per experiment of the paper.
pub mod mnist;
