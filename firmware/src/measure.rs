//! Instruction counts and peak stack use, measured on the device itself.
//!
//! QEMU does not implement the DWT cycle counter (CYCCNT reads 0). With `-icount shift=0`, though,
//! its virtual clock advances exactly 1 ns per executed instruction, and SysTick, clocked from the
//! core clock, ticks on that virtual clock: once every 40 instructions on `mps2-an386` (25 MHz)
//! and every 80 on `lm3s6965evb` (12.5 MHz). [`InstructionCounter`] calibrates that ratio against
//! a loop of known length, so counts are exact and repeatable to within one tick. On a real board
//! the same counter counts core clock cycles instead.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::{syst::SystClkSource, SYST};

/// SysTick is a 24-bit down-counter: it counts `RELOAD + 1` ticks between wraps.
const RELOAD: u32 = 0x00ff_ffff;

/// Iterations of the two-instruction calibration loop: long enough that the rounding of the
/// instructions-per-tick ratio is unambiguous, short enough to cost nothing (0.5 M instructions).
#[cfg(qemu)]
const CALIBRATION_ITERATIONS: u32 = 250_000;

/// What a count means: executed instructions under QEMU, core clock cycles on a real board.
pub const UNIT: &str = if cfg!(qemu) { "instructions" } else { "cycles" };

/// Completed SysTick periods, counted by the SysTick exception so that regions longer than one
/// period (2^24 ticks) are measured correctly.
static WRAPS: AtomicU32 = AtomicU32::new(0);

#[cortex_m_rt::exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// Measures closures in instructions (QEMU) or cycles (real boards) with SysTick.
///
/// The SysTick exception runs once every 2^24 ticks; its ~10 instructions are counted with the
/// region, an error below one part in ten million.
pub struct InstructionCounter {
    _syst: SYST,
    /// Ticks an empty measured region reports, subtracted from every measurement.
    overhead_ticks: u64,
    /// Units per SysTick tick.
    per_tick: u64,
}

impl InstructionCounter {
    /// Takes over SysTick (core clock, maximum reload, wrap exception on) and calibrates the
    /// cost of a measurement and, under QEMU, the instructions per tick.
    pub fn new(mut syst: SYST) -> Self {
        syst.disable_counter();
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        WRAPS.store(0, Ordering::Relaxed);
        syst.enable_interrupt();
        syst.enable_counter();
        let mut counter = Self {
            _syst: syst,
            overhead_ticks: 0,
            per_tick: 1,
        };
        counter.overhead_ticks = counter.measure_ticks(|| ()).1;
        #[cfg(qemu)]
        {
            let instructions = 2 * u64::from(CALIBRATION_ITERATIONS);
            let ticks = counter
                .measure_ticks(|| spin(CALIBRATION_ITERATIONS))
                .1
                .max(1);
            counter.per_tick = ((instructions + ticks / 2) / ticks).max(1);
        }
        counter
    }

    /// SysTick ticks since [`InstructionCounter::new`].
    ///
    /// Needs interrupts enabled: a wrap while they are masked is counted late.
    fn ticks(&self) -> u64 {
        loop {
            let wraps = WRAPS.load(Ordering::Relaxed);
            let current = SYST::get_current();
            // Zero is ambiguous (not yet loaded after enabling, or the tick of a wrap whose
            // exception may or may not have run): it lasts one tick, so read again. A wrap
            // between the two loads would pair a new count with an old wrap count.
            if current != 0 && WRAPS.load(Ordering::Relaxed) == wraps {
                return u64::from(wraps) * (u64::from(RELOAD) + 1) + u64::from(RELOAD - current);
            }
        }
    }

    #[inline(never)]
    fn measure_ticks<R>(&mut self, f: impl FnOnce() -> R) -> (R, u64) {
        let start = self.ticks();
        let result = core::hint::black_box(f());
        let end = self.ticks();
        (result, (end - start).saturating_sub(self.overhead_ticks))
    }

    /// Runs `f` and returns its result with the [`UNIT`]s it took, a multiple of
    /// [`InstructionCounter::resolution`].
    pub fn measure<R>(&mut self, f: impl FnOnce() -> R) -> (R, u64) {
        let (result, ticks) = self.measure_ticks(f);
        (result, ticks * self.per_tick)
    }

    /// [`UNIT`]s per SysTick tick: the granularity of every measurement, so regions should be
    /// long (thousands of ticks) for small relative errors.
    pub fn resolution(&self) -> u64 {
        self.per_tick
    }
}

/// Executes exactly `2 * iterations` instructions, plus the few that enter and leave it.
#[cfg(qemu)]
#[inline(never)]
fn spin(iterations: u32) {
    // SAFETY: a countdown loop on one register; touches no memory and no stack.
    unsafe {
        core::arch::asm!(
            "1:",
            "subs {n}, {n}, #1",
            "bne 1b",
            n = inout(reg) iterations => _,
            options(nomem, nostack),
        );
    }
}

/// Bytes of RAM given to the stack: from the end of static data (`_stack_end`) to the top of
/// RAM (`_stack_start`), where it starts and grows down.
pub fn stack_capacity_bytes() -> u32 {
    let (bottom, top) = stack_bounds();
    (top - bottom) as u32
}

/// Peak stack use in bytes since reset.
///
/// cortex-m-rt's `paint-stack` feature fills the stack region with
/// [`cortex_m_rt::STACK_PAINT_VALUE`] before `main`. The stack grows down from the top, so the
/// lowest word that no longer holds the paint marks the deepest point it reached. A frame that
/// happened to store the paint value in its deepest word would be missed: the result is exact to
/// within a few words.
pub fn peak_stack_bytes() -> u32 {
    let (bottom, top) = stack_bounds();
    let mut addr = bottom;
    while addr < top {
        // SAFETY: `bottom..top` is RAM that the linker script gives to the stack, 4-byte
        // aligned (cortex-m-rt asserts it); reading it has no side effects.
        let word = unsafe { core::ptr::read_volatile(addr as *const u32) };
        if word != cortex_m_rt::STACK_PAINT_VALUE {
            break;
        }
        addr += 4;
    }
    (top - addr) as u32
}

/// The stack region from cortex-m-rt's linker script: (lowest address, one past the highest).
fn stack_bounds() -> (usize, usize) {
    extern "C" {
        static _stack_start: u32;
        static _stack_end: u32;
    }
    let top = core::ptr::addr_of!(_stack_start) as usize;
    let bottom = core::ptr::addr_of!(_stack_end) as usize;
    (bottom, top)
}

/// Sizes of the program image, from the symbols of cortex-m-rt's linker script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageSizes {
    /// Flash used: vector table, code, read-only data and the initial values of `.data`.
    pub flash: u32,
    /// Initialized static RAM (`.data`), copied from flash at reset.
    pub data: u32,
    /// Zero-initialized static RAM (`.bss`).
    pub bss: u32,
    /// Static RAM left uninitialized (`.uninit`).
    pub uninit: u32,
}

/// The image's flash and static RAM use, read from the linker's section boundaries.
pub fn image_sizes() -> ImageSizes {
    extern "C" {
        static __vector_table: u32;
        static __sidata: u32;
        static __sdata: u32;
        static __edata: u32;
        static __sbss: u32;
        static __ebss: u32;
        static __suninit: u32;
        static __euninit: u32;
    }
    let addr = |symbol: *const u32| symbol as usize as u32;
    let data = addr(core::ptr::addr_of!(__edata)) - addr(core::ptr::addr_of!(__sdata));
    ImageSizes {
        flash: addr(core::ptr::addr_of!(__sidata)) - addr(core::ptr::addr_of!(__vector_table))
            + data,
        data,
        bss: addr(core::ptr::addr_of!(__ebss)) - addr(core::ptr::addr_of!(__sbss)),
        uninit: addr(core::ptr::addr_of!(__euninit)) - addr(core::ptr::addr_of!(__suninit)),
    }
}
