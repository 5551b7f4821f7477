//! One module per experiment of the paper.

pub mod freq_order;
pub mod image;
pub mod init_scale;
pub mod mnist;
