//! `fprinciple`: run the Frequency Principle experiments.

fn main() {
    println!("fprinciple {}", env!("CARGO_PKG_VERSION"));
}
