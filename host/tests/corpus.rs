//! The corpus of malformed inputs (`tests/corpus/idx/`, `tests/corpus/image/`) as regression
//! tests, and a bounded fuzzer seeded with it.
//!
//! `tests/corpus/cases.txt` says how each file is loaded and what it must get: `ok`, or words
//! the error message must contain. Every file needs a line and every line a file, so the corpus
//! and its expectations stay in sync. Every load is also watched by a counting allocator: no
//! input may make the loaders allocate more than its size can honestly decode to.
//!
//! The fuzzer mutates corpus files (bit flips, overwritten header fields, truncations,
//! insertions, splices of two files, changes inside a gzip stream, PNG chunks with their CRCs
//! fixed up) and runs every loader on the result. It runs 8,192 cases by default (about a second);
//! `PROPTEST_CASES=100000 cargo test -p host --test corpus` runs longer. An input it finds is
//! added to the corpus with a line in `cases.txt`.
//!
//! Checkpoints get the same treatment from a pair of small, complete checkpoints (image and
//! MNIST) built here: every cut and bit flip is refused, and mutated checkpoints, with their
//! checksum fixed up or not, are read or refused without a panic and within the allocation
//! their size earns.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use host::data::idx::{load_idx_pair, parse_idx_pair, MNIST_CLASSES};
use host::data::image::{decode_gray, load_downsampled, load_gray};
use proptest::prelude::*;

// ---- allocation accounting -------------------------------------------------------------------

/// The system allocator, counting the bytes live on each thread and their peak.
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn note_alloc(size: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add(size);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn note_dealloc(size: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(size)));
}

// SAFETY: every call is forwarded unchanged to `System`; the bookkeeping touches only
// const-initialized thread-locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Counted as a new block next to the old one: the moment of a copying realloc.
        note_alloc(new_size);
        note_dealloc(layout.size());
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_dealloc(layout.size());
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the most bytes it had allocated at once on this thread.
fn peak_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    let result = f();
    (result, PEAK.with(Cell::get).saturating_sub(before))
}

/// Allocation any load may make whatever its input: decoder state, tables, row buffers.
const FIXED_ALLOCATION: usize = 1 << 20;

/// Most bytes a load may allocate per byte of input: what the densest valid file decodes to.
///
/// A PNG of palette pixels at one bit each, inflated at deflate's limit of 1032:1, becomes
/// 8 × 1032 pixels of 4 bytes (RGBA) per byte of file, then 4 more bytes per pixel of grayscale
/// f32: 66,048. JPEG (≤ 512 pixels per byte) and gzip IDX (≤ 1032 bytes per byte, then f32)
/// stay well below.
const EARNED_PER_INPUT_BYTE: usize = 8 * 1032 * (4 + 4);

/// The corpus holds no file that decodes to much more than itself: its loads must stay within
/// this per input byte (on top of [`TIGHT_FIXED_ALLOCATION`]). An unbounded gzip bomb or a
/// lying header that the loaders believed would break it.
const TIGHT_PER_INPUT_BYTE: usize = 16;

/// The fixed part of the corpus's tight allocation bound.
const TIGHT_FIXED_ALLOCATION: usize = 256 << 10;

// ---- the corpus and its manifest -------------------------------------------------------------

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// The valid files paired with a file under test: three 2×3 images and their three labels.
const VALID_IMAGES: &str = "idx/valid-images-idx3";
const VALID_LABELS: &str = "idx/valid-labels-idx1";

/// How a corpus file is loaded.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Role {
    /// As the image file of an IDX pair, with the valid label file.
    Images,
    /// As the label file of an IDX pair, with the valid image file.
    Labels,
    /// As a photograph (`load_gray`).
    Image,
    /// As a photograph downsampled to N×N (`load_downsampled`).
    Downsampled(usize),
}

impl Role {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "images" => Some(Self::Images),
            "labels" => Some(Self::Labels),
            "image" => Some(Self::Image),
            _ => Some(Self::Downsampled(
                text.strip_prefix("image@")?.parse().ok()?,
            )),
        }
    }

    /// Loads `path` this way; `Ok` carries a short description of what was loaded.
    fn load(self, path: &Path) -> Result<String, String> {
        let dir = corpus_dir();
        let describe_set = |d: host::data::idx::Dataset| {
            check_dataset(&d);
            format!("{} samples of {}×{}", d.len(), d.rows(), d.cols())
        };
        let describe_image = |g: host::data::image::GrayImage| {
            check_image(&g);
            format!("{}×{}", g.width(), g.height())
        };
        match self {
            Self::Images => load_idx_pair(path, &dir.join(VALID_LABELS), MNIST_CLASSES)
                .map(describe_set)
                .map_err(|e| e.to_string()),
            Self::Labels => load_idx_pair(&dir.join(VALID_IMAGES), path, MNIST_CLASSES)
                .map(describe_set)
                .map_err(|e| e.to_string()),
            Self::Image => load_gray(path)
                .map(describe_image)
                .map_err(|e| e.to_string()),
            Self::Downsampled(size) => load_downsampled(path, size)
                .map(describe_image)
                .map_err(|e| e.to_string()),
        }
    }

    /// Bytes of input this load reads: the file, and the valid partner of an IDX pair.
    fn input_bytes(self, path: &Path) -> usize {
        let len = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len() as usize);
        match self {
            Self::Images => len(path) + len(&corpus_dir().join(VALID_LABELS)),
            Self::Labels => len(path) + len(&corpus_dir().join(VALID_IMAGES)),
            Self::Image | Self::Downsampled(_) => len(path),
        }
    }
}

/// One line of `cases.txt`.
#[derive(Debug)]
struct Case {
    line: usize,
    file: String,
    role: Role,
    /// `None` for `ok`; otherwise words the error message must contain.
    expected_error: Option<String>,
}

/// Reads `cases.txt`: `file | role | ok` or `file | role | words of the error`; `#` comments.
fn manifest() -> Vec<Case> {
    let text = std::fs::read_to_string(corpus_dir().join("cases.txt")).expect("cases.txt");
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| {
            let fields: Vec<&str> = l.splitn(3, '|').map(str::trim).collect();
            let [file, role, expected] = fields[..] else {
                panic!("cases.txt line {}: need `file | role | expectation`", i + 1);
            };
            let role = Role::parse(role)
                .unwrap_or_else(|| panic!("cases.txt line {}: unknown role {role:?}", i + 1));
            assert!(
                !expected.is_empty(),
                "cases.txt line {}: empty expectation",
                i + 1
            );
            Case {
                line: i + 1,
                file: file.to_owned(),
                role,
                expected_error: (expected != "ok").then(|| expected.to_owned()),
            }
        })
        .collect()
}

/// Every file of the corpus, as `idx/name` or `image/name`, sorted.
fn corpus_files() -> BTreeSet<String> {
    ["idx", "image"]
        .iter()
        .flat_map(|sub| {
            std::fs::read_dir(corpus_dir().join(sub))
                .expect("corpus directory")
                .map(move |entry| {
                    let name = entry.expect("directory entry").file_name();
                    format!("{sub}/{}", name.to_string_lossy())
                })
        })
        .collect()
}

fn check_dataset(d: &host::data::idx::Dataset) {
    assert!(d.rows() > 0 && d.cols() > 0);
    assert_eq!(d.images().len(), d.len() * d.rows() * d.cols());
    assert!(d.images().iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(d.labels().iter().all(|&l| usize::from(l) < MNIST_CLASSES));
}

fn check_image(g: &host::data::image::GrayImage) {
    assert!(g.width() > 0 && g.height() > 0);
    assert_eq!(g.pixels().len(), g.width() * g.height());
    assert!(g.pixels().iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn every_corpus_file_has_a_case_and_every_case_a_file() {
    let files = corpus_files();
    let cases = manifest();
    let named: BTreeSet<String> = cases.iter().map(|c| c.file.clone()).collect();
    let unlisted: Vec<&String> = files.difference(&named).collect();
    let missing: Vec<&String> = named.difference(&files).collect();
    assert!(
        unlisted.is_empty(),
        "corpus files without a line in cases.txt: {unlisted:?}"
    );
    assert!(
        missing.is_empty(),
        "cases.txt names files that do not exist: {missing:?}"
    );
    // Both kinds of outcome are present, so the checks below test something.
    assert!(cases.iter().any(|c| c.expected_error.is_none()));
    assert!(cases.iter().filter(|c| c.expected_error.is_some()).count() > 50);
}

#[test]
fn every_case_gets_its_expected_result() {
    let mut failures = Vec::new();
    for case in manifest() {
        let path = corpus_dir().join(&case.file);
        let (result, peak) = peak_allocation(|| case.role.load(&path));
        let what = format!(
            "line {}: {} as {:?}: got {result:?}",
            case.line, case.file, case.role
        );
        match (&case.expected_error, &result) {
            (None, Ok(_)) => {}
            (Some(words), Err(message)) => {
                if !message.contains(words.as_str()) {
                    failures.push(format!("{what}; expected an error with {words:?}"));
                }
                // Messages name their source.
                let name = path.file_name().unwrap_or_default().to_string_lossy();
                if !message.contains(name.as_ref()) {
                    failures.push(format!("{what}; the message does not name the file"));
                }
            }
            (None, Err(_)) => failures.push(format!("{what}; expected ok")),
            (Some(words), Ok(_)) => failures.push(format!("{what}; expected an error {words:?}")),
        }
        let bound = TIGHT_FIXED_ALLOCATION + TIGHT_PER_INPUT_BYTE * case.role.input_bytes(&path);
        if peak > bound {
            failures.push(format!(
                "{what}; allocated {peak} bytes at once, more than {bound}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_corpus_file_through_every_loader() {
    // Whatever its kind, a file gets a result from each loader, within the allocation it earns.
    for file in corpus_files() {
        let path = corpus_dir().join(&file);
        for role in [
            Role::Images,
            Role::Labels,
            Role::Image,
            Role::Downsampled(4),
        ] {
            let (_, peak) = peak_allocation(|| role.load(&path));
            let bound = FIXED_ALLOCATION + EARNED_PER_INPUT_BYTE * role.input_bytes(&path);
            assert!(
                peak <= bound,
                "{file} as {role:?}: {peak} bytes allocated, more than {bound}"
            );
        }
    }
}

// ---- fuzzing from the corpus -----------------------------------------------------------------

/// Cases per fuzz test unless `PROPTEST_CASES` says otherwise.
const FUZZ_CASES: u32 = 8192;

fn fuzz_config() -> ProptestConfig {
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() {
        ProptestConfig::default().cases
    } else {
        FUZZ_CASES
    };
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// The corpus files' contents, read once.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        corpus_files()
            .iter()
            .map(|f| std::fs::read(corpus_dir().join(f)).expect("corpus file"))
            .collect()
    })
}

/// Values that header fields are most likely to mishandle.
const INTERESTING_U32: [u32; 12] = [
    0,
    1,
    2,
    3,
    28,
    255,
    8192,
    8193,
    65_535,
    1 << 24,
    0x7FFF_FFFF,
    u32::MAX,
];

/// One change to a byte string; positions are taken modulo its length.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit {
        at: usize,
        bit: u8,
    },
    SetByte {
        at: usize,
        value: u8,
    },
    SetU32 {
        at: usize,
        value: u32,
    },
    Truncate {
        at: usize,
    },
    Remove {
        at: usize,
        len: usize,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    /// Inserts a piece of another corpus file.
    Splice {
        seed: usize,
        from: usize,
        len: usize,
        at: usize,
    },
    /// Repeats a piece of the input.
    Repeat {
        from: usize,
        len: usize,
        times: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let pos = any::<usize>;
    prop_oneof![
        (pos(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit { at, bit }),
        (pos(), any::<u8>()).prop_map(|(at, value)| Mutation::SetByte { at, value }),
        (pos(), prop::sample::select(&INTERESTING_U32[..]))
            .prop_map(|(at, value)| Mutation::SetU32 { at, value }),
        (pos(), any::<u32>()).prop_map(|(at, value)| Mutation::SetU32 { at, value }),
        pos().prop_map(|at| Mutation::Truncate { at }),
        (pos(), 1usize..32).prop_map(|(at, len)| Mutation::Remove { at, len }),
        (pos(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (pos(), pos(), 1usize..64, pos()).prop_map(|(seed, from, len, at)| Mutation::Splice {
            seed,
            from,
            len,
            at
        }),
        (pos(), 1usize..32, 1usize..64).prop_map(|(from, len, times)| Mutation::Repeat {
            from,
            len,
            times
        }),
    ]
}

/// Index `at` modulo `len + 1` (so the end is a valid position).
fn position(at: usize, len: usize) -> usize {
    at % (len + 1)
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    match m {
        Mutation::FlipBit { at, bit } if len > 0 => bytes[at % len] ^= 1 << bit,
        Mutation::SetByte { at, value } if len > 0 => bytes[at % len] = *value,
        Mutation::SetU32 { at, value } if len >= 4 => {
            let at = at % (len - 3);
            bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
        }
        Mutation::Truncate { at } => bytes.truncate(position(*at, len)),
        Mutation::Remove { at, len: n } => {
            let at = position(*at, len);
            bytes.drain(at..(at + n).min(len));
        }
        Mutation::Insert { at, bytes: new } => {
            let at = position(*at, len);
            bytes.splice(at..at, new.iter().copied());
        }
        Mutation::Splice {
            seed,
            from,
            len: n,
            at,
        } => {
            let other = &seeds()[seed % seeds().len()];
            let from = position(*from, other.len());
            let piece = &other[from..(from + n).min(other.len())];
            let at = position(*at, len);
            bytes.splice(at..at, piece.iter().copied());
        }
        Mutation::Repeat {
            from,
            len: n,
            times,
        } => {
            let from = position(*from, len);
            let piece = bytes[from..(from + n).min(len)].to_vec();
            let at = (from + piece.len()).min(len);
            let copies = piece.iter().copied().cycle().take(piece.len() * times);
            bytes.splice(at..at, copies.collect::<Vec<u8>>());
        }
        // Too short for the change: left as is.
        _ => {}
    }
}

/// The contents of a small gzip stream, or `None` if `bytes` is not one.
fn gunzip_small(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return None;
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(64 << 10)
        .read_to_end(&mut out)
        .ok()?;
    (out.len() < 64 << 10).then_some(out)
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).expect("writing to a Vec");
    encoder.finish().expect("writing to a Vec")
}

/// Recomputes the CRC of every complete PNG chunk, so that mutations reach the decoder's checks
/// of the chunk contents instead of stopping at the checksum.
fn fix_png_crcs(bytes: &mut [u8]) {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return;
    }
    let mut at = 8;
    while let Some(len) = bytes.get(at..at + 4) {
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let Some(end) = at.checked_add(8 + len).filter(|&e| e + 4 <= bytes.len()) else {
            return;
        };
        let mut crc = flate2::Crc::new();
        crc.update(&bytes[at + 4..end]);
        bytes[end..end + 4].copy_from_slice(&crc.sum().to_be_bytes());
        at = end + 4;
    }
}

/// Runs every byte-level loader on `bytes` and checks what it returns.
fn load_everything(bytes: &[u8]) {
    let valid_images = &seeds()[seed_index(VALID_IMAGES)];
    let valid_labels = &seeds()[seed_index(VALID_LABELS)];
    let bound = |extra: usize| FIXED_ALLOCATION + EARNED_PER_INPUT_BYTE * (bytes.len() + extra);
    let checks: [(&str, usize, &dyn Fn()); 3] = [
        ("as images", valid_labels.len(), &|| match parse_idx_pair(
            ("fuzz", bytes),
            ("labels", valid_labels),
            10,
        ) {
            Ok(d) => check_dataset(&d),
            Err(e) => assert!(e.to_string().starts_with("fuzz")),
        }),
        ("as labels", valid_images.len(), &|| match parse_idx_pair(
            ("images", valid_images),
            ("fuzz", bytes),
            10,
        ) {
            Ok(d) => check_dataset(&d),
            Err(e) => assert!(!e.to_string().is_empty()),
        }),
        ("as an image", 0, &|| match decode_gray(bytes) {
            Ok(g) => {
                check_image(&g);
                if let Ok(small) = g.downsample(4) {
                    check_image(&small);
                }
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }),
    ];
    for (what, extra, load) in checks {
        let ((), peak) = peak_allocation(load);
        assert!(
            peak <= bound(extra),
            "{} bytes {what}: {peak} bytes allocated, more than {}",
            bytes.len(),
            bound(extra)
        );
    }
}

fn seed_index(file: &str) -> usize {
    corpus_files()
        .iter()
        .position(|f| f == file)
        .expect("a seed file of the corpus")
}

proptest! {
    #![proptest_config(fuzz_config())]

    /// Mutated corpus files get an error or valid data from every loader, never a panic, and
    /// never an allocation beyond what their size earns.
    #[test]
    fn mutated_corpus_files_are_refused_or_loaded(
        seed in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..6),
        inside_gzip: bool,
        fix_crcs: bool,
    ) {
        let original = &seeds()[seed % seeds().len()];
        let mut bytes = original.clone();
        match gunzip_small(original).filter(|_| inside_gzip) {
            // Change the IDX stream inside the gzip, then compress it again: reaches the IDX
            // checks past a valid checksum.
            Some(mut inner) => {
                for m in &mutations {
                    apply(&mut inner, m);
                }
                bytes = gzip(&inner);
            }
            None => {
                for m in &mutations {
                    apply(&mut bytes, m);
                }
                if fix_crcs {
                    fix_png_crcs(&mut bytes);
                }
            }
        }
        load_everything(&bytes);
    }
}

#[test]
fn the_mutations_change_their_input() {
    // The fuzzer is only as good as its mutations: each kind changes a corpus file.
    let png = seeds()[seed_index("image/valid-8x8.png")].clone();
    let kinds = [
        Mutation::FlipBit { at: 20, bit: 3 },
        Mutation::SetByte {
            at: 20,
            value: 0xEE,
        },
        Mutation::SetU32 {
            at: 16,
            value: u32::MAX,
        },
        Mutation::Truncate { at: 30 },
        Mutation::Remove { at: 30, len: 4 },
        Mutation::Insert {
            at: 30,
            bytes: vec![1, 2],
        },
        Mutation::Splice {
            seed: seed_index(VALID_IMAGES),
            from: 0,
            len: 8,
            at: 30,
        },
        Mutation::Repeat {
            from: 30,
            len: 4,
            times: 3,
        },
    ];
    for m in kinds {
        let mut bytes = png.clone();
        apply(&mut bytes, &m);
        assert_ne!(bytes, png, "{m:?}");
    }
    // Fixing the CRCs of an intact PNG changes nothing; of a changed IHDR, makes it valid again.
    let mut same = png.clone();
    fix_png_crcs(&mut same);
    assert_eq!(same, png);
    let mut wider = png.clone();
    wider[19] = 9; // width 8 → 9: the rows no longer fit the data
    assert!(decode_gray(&wider).unwrap_err().to_string().contains("CRC"));
    fix_png_crcs(&mut wider);
    assert!(!decode_gray(&wider).unwrap_err().to_string().contains("CRC"));
    // A gzip seed is opened and closed again.
    let gz = &seeds()[seed_index("idx/valid-images-idx3.gz")];
    let inner = gunzip_small(gz).expect("a small gzip stream");
    assert_eq!(inner, seeds()[seed_index(VALID_IMAGES)]);
    load_everything(&gzip(&inner));
}

// ---- checkpoints -----------------------------------------------------------------------------

/// Allocation a checkpoint read may make whatever its bytes: serde reserves at most 1 MiB ahead
/// for a sequence (postcard gives no size hint beyond the bytes left), and sequences nest three
/// deep in a state (the finished runs, their per-band errors, the values).
const CHECKPOINT_FIXED_ALLOCATION: usize = 4 << 20;

/// Most bytes a checkpoint read may allocate per byte: an empty `Vec` (24 bytes) from its
/// one-byte length, three times over while a growing `Vec` is copied, with room to spare.
const CHECKPOINT_PER_INPUT_BYTE: usize = 96;

/// Small checkpoints of both experiments with every field filled and both optimizer kinds,
/// each with the name it is saved under.
fn checkpoint_seeds() -> &'static [(&'static str, Vec<u8>)] {
    use host::checkpoint::{to_bytes, OptimizerState};
    use host::experiments::image::Timing;
    use host::experiments::image::{ImageState, MatchedPoint, SigmaRun, SigmaState, Snapshot};
    use host::experiments::mnist::{EpochRecord, GainRun, GainState, MnistState};

    static SEEDS: std::sync::OnceLock<Vec<(&str, Vec<u8>)>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        let sigma_run = |steps: u32| SigmaRun {
            sigma: 0.1,
            steps,
            step_loss: vec![0.5, 0.25, f32::NAN],
            observed_steps: vec![0, 2],
            train_mse: vec![0.5, 0.2],
            test_mse: vec![0.6, 0.3],
            band_errors: vec![vec![1.0, 0.5], vec![1.0, 0.9]],
            convergence_steps: vec![Some(2), None],
            convergence_order: vec![0],
            low_to_high: false,
            low_to_high_so_far: true,
            snapshots: vec![Snapshot {
                step: 2,
                pixels: vec![0.0, 0.25, 0.5, 1.0],
            }],
            matched: Some(MatchedPoint {
                step: 2,
                train_mse: 0.2,
                test_mse: 0.3,
            }),
            final_train_mse: 0.2,
            final_test_mse: 0.3,
            timing: Timing {
                wall_seconds: 0.5,
                steps_per_second: 6.0,
                gflop: 1e-6,
                gflop_per_second: 2e-6,
            },
        };
        let image = ImageState {
            settings: r#"{"size":2,"steps":3}"#.into(),
            image: vec![0.0, 0.5, 0.75, 1.0],
            finished: vec![sigma_run(3)],
            current: Some(SigmaState {
                step: 2,
                parameters: vec![0.1, -0.2, 0.3],
                optimizer: OptimizerState::Adam {
                    steps: 2,
                    first_moment: vec![0.01, 0.02, 0.03],
                    second_moment: vec![1e-4, 2e-4, 3e-4],
                },
                record: sigma_run(2),
                just_matched: true,
                evaluations: 3,
                wall_seconds: 0.25,
            }),
        };
        let epoch = |epoch: u32| EpochRecord {
            epoch,
            running_loss: (epoch > 0).then_some(0.7),
            train_loss: 0.6,
            train_accuracy: 0.8,
            test_loss: 0.65,
            test_accuracy: 0.75,
            e_low: 0.3,
            e_high: 0.6,
            delta_f: vec![0.1, 0.4],
            output_magnitudes: vec![1.0, 0.5, 0.25],
        };
        let mnist = MnistState {
            settings: r#"{"epochs":2}"#.into(),
            data: 0x0123_4567_89ab_cdef,
            finished: vec![GainRun {
                gain: 1.0,
                epochs: vec![epoch(0), epoch(1), epoch(2)],
                final_train_accuracy: 0.8,
                final_test_accuracy: 0.75,
                convergence_epochs: vec![Some(1), None],
                low_to_high: true,
                train_seconds: 1.5,
                eval_seconds: 0.5,
                samples_per_second: 1000.0,
            }],
            current: Some(GainState {
                parameters: vec![0.1, -0.2, 0.3],
                optimizer: OptimizerState::Sgd {
                    velocity: vec![0.0, 0.1, -0.1],
                },
                rng: (7, Some(9)),
                records: vec![epoch(0), epoch(1)],
                train_seconds: 0.75,
                eval_seconds: 0.25,
            }),
            seconds: 1.25,
        };
        vec![
            ("image", to_bytes("image", &image).expect("encodes")),
            ("mnist", to_bytes("mnist", &mnist).expect("encodes")),
        ]
    })
}

/// Makes the checksum of `bytes` (a checkpoint, perhaps edited) match again, so that an edit
/// reaches the decoder instead of stopping at the checksum.
fn reseal_checkpoint(bytes: &mut [u8]) {
    if bytes.len() >= 20 {
        let body = bytes.len() - 8;
        let sum = host::checkpoint::fnv1a(&bytes[..body]);
        bytes[body..].copy_from_slice(&sum.to_le_bytes());
    }
}

/// Reads `bytes` as a checkpoint of each experiment and checks what comes back: a state, or
/// an error that says the checkpoint is damaged or does not fit; never more allocation than
/// the bytes earn.
fn read_checkpoint_everything(bytes: &[u8]) {
    use host::checkpoint::{from_bytes, CheckpointError};
    use host::experiments::image::ImageState;
    use host::experiments::mnist::MnistState;

    let check = |result: Result<(), CheckpointError>| match result {
        Ok(()) => {}
        Err(
            e @ (CheckpointError::Damaged(_)
            | CheckpointError::Version(_)
            | CheckpointError::Mismatch(_)),
        ) => {
            let text = e.to_string();
            assert!(
                text.starts_with("damaged checkpoint: ")
                    || text.starts_with("unsupported checkpoint: format version ")
                    || text.starts_with("the checkpoint does not fit this run: "),
                "{text}"
            );
        }
        Err(e) => panic!("unexpected error reading a checkpoint: {e:?}"),
    };
    let bound = CHECKPOINT_FIXED_ALLOCATION + CHECKPOINT_PER_INPUT_BYTE * bytes.len();
    let reads: [(&str, &dyn Fn()); 2] = [
        ("image", &|| {
            check(from_bytes::<ImageState>(bytes, "image").map(drop));
        }),
        ("mnist", &|| {
            check(from_bytes::<MnistState>(bytes, "mnist").map(drop));
        }),
    ];
    for (what, read) in reads {
        let ((), peak) = peak_allocation(read);
        assert!(
            peak <= bound,
            "{} bytes as {what}: {peak} bytes allocated, more than {bound}",
            bytes.len()
        );
    }
}

#[test]
fn checkpoint_seeds_read_back_and_refuse_the_other_experiment() {
    use host::checkpoint::{from_bytes, CheckpointError};
    use host::experiments::image::ImageState;
    use host::experiments::mnist::MnistState;

    let [(_, image), (_, mnist)] = checkpoint_seeds() else {
        panic!("two checkpoint seeds")
    };
    let state: ImageState = from_bytes(image, "image").unwrap();
    assert_eq!(
        host::checkpoint::to_bytes("image", &state).unwrap(),
        *image,
        "the same bytes again"
    );
    let state: MnistState = from_bytes(mnist, "mnist").unwrap();
    assert_eq!(host::checkpoint::to_bytes("mnist", &state).unwrap(), *mnist);
    let err = from_bytes::<MnistState>(image, "mnist").unwrap_err();
    assert!(matches!(err, CheckpointError::Mismatch(_)), "{err}");
    assert!(err.to_string().contains("image experiment"), "{err}");
    // Every cut and every bit flip is refused as damage.
    for seed in [image, mnist] {
        for cut in 0..seed.len() {
            let err = from_bytes::<ImageState>(&seed[..cut], "image").unwrap_err();
            assert!(matches!(err, CheckpointError::Damaged(_)), "{cut}: {err}");
        }
        for at in 0..seed.len() * 8 {
            let mut flipped = seed.clone();
            flipped[at / 8] ^= 1 << (at % 8);
            let err = from_bytes::<MnistState>(&flipped, "mnist").unwrap_err();
            assert!(matches!(err, CheckpointError::Damaged(_)), "{at}: {err}");
        }
    }
    // The seeds themselves, and resealed lengths that claim far more than the file holds.
    for (_, seed) in checkpoint_seeds() {
        read_checkpoint_everything(seed);
        for at in 0..seed.len() {
            let mut claims = seed.clone();
            claims.splice(at..at, [0xff, 0xff, 0xff, 0xff, 0x0f]);
            reseal_checkpoint(&mut claims);
            read_checkpoint_everything(&claims);
        }
    }
}

proptest! {
    #![proptest_config(fuzz_config())]

    /// Mutated checkpoints, with their checksum fixed up or not, are read or refused as
    /// damaged or not fitting, never with a panic, and never with an allocation beyond what
    /// their size earns.
    #[test]
    fn mutated_checkpoints_are_refused_or_read(
        seed in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..6),
        reseal: bool,
    ) {
        let seeds = checkpoint_seeds();
        let mut bytes = seeds[seed % seeds.len()].1.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        if reseal {
            reseal_checkpoint(&mut bytes);
        }
        read_checkpoint_everything(&bytes);
    }
}
