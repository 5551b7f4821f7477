//! Host stub: the firmware is built for Cortex-M targets only.

fn main() {}
