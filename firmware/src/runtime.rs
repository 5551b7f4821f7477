//! The logger, `exit`, the panic handler and the HardFault handler.

use core::sync::atomic::{AtomicBool, Ordering};

// Exactly one defmt transport is linked: RTT for real boards, semihosting (QEMU) otherwise.
#[cfg(feature = "rtt")]
use defmt_rtt as _;
#[cfg(not(feature = "rtt"))]
use defmt_semihosting as _;

/// Ends the program with `code` as the exit code of the host-side runner.
///
/// Uses semihosting `SYS_EXIT_EXTENDED`, so QEMU and probe-rs see the exact code (plain
/// `SYS_EXIT` only tells success from failure). Without a debugger attached a semihosting call
/// faults, so on a free-running board this ends in a lockup, which is the best a board can do.
pub fn exit(code: i32) -> ! {
    semihosting::process::exit(code)
}

/// Set on the first panic, so that a panic raised while logging the panic (the logger is not
/// reentrant) exits instead of recursing until the stack overflows.
static PANICKING: AtomicBool = AtomicBool::new(false);

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    if !PANICKING.swap(true, Ordering::Relaxed) {
        defmt::error!("panic: {}", defmt::Display2Format(info));
    }
    exit(crate::EXIT_PANIC)
}

#[cortex_m_rt::exception]
unsafe fn HardFault(frame: &cortex_m_rt::ExceptionFrame) -> ! {
    if !PANICKING.swap(true, Ordering::Relaxed) {
        defmt::error!(
            "HardFault: pc={=u32:#010x} lr={=u32:#010x}",
            frame.pc(),
            frame.lr()
        );
    }
    exit(crate::EXIT_HARDFAULT)
}
