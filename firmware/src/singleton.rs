//! [`Singleton`]: a `static` whose contents one caller may borrow mutably, once.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

/// A value in a `static`, handed out as `&'static mut` at most once.
///
/// Unlike `cortex_m::singleton!`, which builds its value at run time and moves it into place
/// (briefly needing its whole size on the stack), the value here is built at compile time by a
/// `const fn`: an all-zero value lands in `.bss` and costs neither flash nor stack.
pub struct Singleton<T> {
    taken: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is only reachable through `take`, which hands out at most one reference,
// ever; sending that reference to another context requires `T: Send`.
unsafe impl<T: Send> Sync for Singleton<T> {}

impl<T> Singleton<T> {
    /// A singleton holding `value`.
    pub const fn new(value: T) -> Self {
        Singleton {
            taken: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// The value, the first time; `None` ever after.
    // A `&mut` from a `&`: sound because `taken` lets exactly one caller through.
    #[allow(clippy::mut_from_ref)]
    pub fn take(&'static self) -> Option<&'static mut T> {
        if self.taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        // SAFETY: `taken` was false and is now true, so this is the only reference ever made,
        // and the `static` lives for the rest of the program.
        Some(unsafe { &mut *self.value.get() })
    }
}
