//! The release review's defects, run through the binary: settings that cannot work are refused
//! before a run directory exists, with a message that names the flag (or file); degenerate and
//! unfinished runs report no verdict they cannot support; SIGTERM saves a run like Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// An image run small enough to finish in a moment (add `--steps`).
const TINY_IMAGE: [&str; 9] = [
    "image",
    "--size",
    "8",
    "--bands",
    "2",
    "--hidden",
    "8",
    "--observe-every",
    "5",
];

/// A fresh, absent folder for one test's runs, never shared with another call (the tests run
/// side by side and each checks what its folder holds).
fn scratch(name: &str) -> PathBuf {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "fprinciple-refusals-{name}-{}-{}",
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn fprinciple(out: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fprinciple"))
        .arg("--out")
        .arg(out)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Entries of `dir` (none if it does not exist).
fn entries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map_or_else(|_| Vec::new(), |d| d.map(|e| e.unwrap().path()).collect())
}

/// Runs `args`, which must fail with a message containing every one of `needles`, without
/// creating a run directory. Returns the message.
fn refused(args: &[&str], needles: &[&str]) -> String {
    let out = scratch("refused");
    let output = fprinciple(&out, args);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{args:?} was accepted: {stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{args:?}: {stderr:?} does not name {needle:?}"
        );
    }
    assert!(
        entries(&out).is_empty(),
        "{args:?} left {:?}",
        entries(&out)
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = std::fs::remove_dir_all(&out);
    stderr
}

fn summary(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

fn only_run(out: &Path) -> PathBuf {
    let runs = entries(out);
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs.into_iter().next().unwrap()
}

#[test]
fn runs_too_large_for_memory_are_refused_naming_the_flags() {
    // Each would abort on a failed allocation (or be killed) after making its directory.
    refused(
        &["freq", "--quick", "--train-points", "100000000"],
        &["--train-points"],
    );
    refused(
        &[
            "init",
            "--quick",
            "--steps",
            "20",
            "--train-points",
            "100000000",
        ],
        &["--train-points"],
    );
    refused(
        &["freq", "--quick", "--test-points", "100000000"],
        &["--test-points"],
    );
    // Points single precision still tells apart, but too many rows to hold at once. Every
    // size here needs hundreds of GiB, so the refusal holds on any machine that runs the tests.
    refused(
        &[
            "freq",
            "--train-points",
            "10000000",
            "--widths",
            "1,4096,4096,1",
        ],
        &["memory", "--train-points"],
    );
    let wide = ["65536"; 8].join(",");
    refused(
        &["freq", "--widths", &format!("1,{wide},1")],
        &["memory", "--widths"],
    );
    refused(&["image", "--hidden", &wide], &["memory", "--hidden"]);
    refused(
        &["mnist", "--widths", &format!("784,{wide},10")],
        &["memory", "--widths"],
    );
    refused(&["freq", "--steps", "4000000000"], &["memory", "--steps"]);
}

#[test]
fn target_frequencies_at_the_nyquist_limit_are_refused() {
    refused(
        &["freq", "--quick", "--steps", "20", "--target=sin(64x)"],
        &["--target", "--analysis-points", "Nyquist"],
    );
    refused(&["freq", "--target=sin(1000x)"], &["--target", "Nyquist"]);
    // The default target's sin 5x on 8 points.
    refused(
        &["freq", "--quick", "--analysis-points", "8"],
        &["--analysis-points", "Nyquist"],
    );
    refused(&["init", "--target=sin(600x)"], &["--target", "Nyquist"]);
}

#[test]
fn settings_that_would_fail_in_the_run_are_refused_before_it() {
    for target in [
        "sin(0x)",
        "0*sin(x)",
        "0.0000000000000000000000000000000000000000000001*sin(x)",
    ] {
        refused(&["freq", "--target", target], &["--target", "no peak"]);
    }
    refused(&["freq", "--interval", "0,1e300"], &["--interval"]);
    refused(&["freq", "--test-every", "0"], &["--test-every"]);
    refused(&["mnist", "--train-samples", "2"], &["--train-samples"]);
    let one = mnist_folder("one", (1, 28, 28), (1, 28, 28));
    refused(
        &["mnist", "--data", one.to_str().unwrap()],
        &["--data", "1 sample"],
    );
    std::fs::remove_dir_all(&one).unwrap();
}

#[test]
fn divergence_at_the_first_step_gives_the_hint_and_valid_files() {
    for flags in [
        ["--sigma", "1e19"],
        ["--target", "100000000000000000000*sin(x)"],
    ] {
        let out = scratch("diverge0");
        let mut args = vec!["freq", "--steps", "5"];
        args.extend_from_slice(&flags);
        let output = fprinciple(&out, &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success());
        assert!(
            stderr.contains("at step 0") && stderr.contains("lower --learning-rate"),
            "{stderr}"
        );
        assert!(!stderr.contains("invalid figure data"), "{stderr}");
        let dir = only_run(&out);
        assert_eq!(summary(&dir)["status"], "diverged");
        assert_eq!(summary(&dir)["results"]["steps_run"], 0);
        for file in ["config.json", "metrics.csv", "index.html", "spectrum.png"] {
            assert!(dir.join(file).is_file(), "{file}");
        }
        std::fs::remove_dir_all(&out).unwrap();
    }
}

#[test]
fn wrong_flags_are_not_blamed() {
    let err = refused(
        &["freq", "--preset", "theory", "--theory-sigmas", "1,nan"],
        &["--theory-sigmas"],
    );
    assert!(!err.contains("--sigma-per-layer"), "{err}");

    let sizes = mnist_folder("sizes", (20, 28, 28), (5, 14, 14));
    let err = refused(
        &["mnist", "--data", sizes.to_str().unwrap()],
        &[
            "train-images-idx3-ubyte",
            "t10k-images-idx3-ubyte",
            "28×28",
            "14×14",
        ],
    );
    assert!(!err.contains("--widths"), "{err}");
    std::fs::remove_dir_all(&sizes).unwrap();

    let file =
        std::env::temp_dir().join(format!("fprinciple-refusals-file-{}", std::process::id()));
    std::fs::write(&file, "not a folder").unwrap();
    let output = fprinciple(&file, &["freq", "--steps", "5"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("--out") && stderr.contains("not a directory"),
        "{stderr}"
    );
    let output = fprinciple(
        &scratch("unused"),
        &["image", "--resume", file.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not a directory"), "{stderr}");
    std::fs::remove_file(&file).unwrap();
}

#[test]
fn a_resumed_run_names_the_config_key_it_cannot_use() {
    let out = scratch("resume-key");
    let tiny = [TINY_IMAGE.as_slice(), &["--steps", "20"]].concat();
    assert!(fprinciple(&out, &tiny).status.success());
    let dir = only_run(&out);
    // As a stopped run leaves it, with a setting edited afterwards.
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"completed\"", "\"interrupted\"")).unwrap();
    let path = dir.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    config["settings"]["hidden"] = serde_json::json!([0]);
    std::fs::write(&path, config.to_string()).unwrap();
    let output = fprinciple(&out, &["image", "--resume", dir.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("config.json") && stderr.contains("`hidden`"),
        "{stderr}"
    );
    assert_eq!(entries(&out).len(), 1, "no new run directory");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn flags_that_would_be_ignored_are_refused() {
    refused(
        &["freq", "--momentum", "0.5"],
        &["--momentum", "--optimizer sgd"],
    );
    refused(
        &["init", "--momentum", "0.5"],
        &["--momentum", "--optimizer sgd"],
    );
    refused(
        &["freq", "--sigma", "0.1", "--sigma-per-layer", "1,1,1,1,1"],
        &["--sigma", "--sigma-per-layer"],
    );
    refused(
        &["freq", "--theory-sigmas", "1,2"],
        &["--theory-sigmas", "--preset theory"],
    );
    refused(
        &["freq", "--preset", "theory", "--sigma", "2"],
        &["--sigma", "--theory-sigmas"],
    );
    refused(
        &["mnist", "--train-samples", "100000"],
        &["--train-samples", "8000"],
    );
    refused(
        &["mnist", "--test-samples", "100000"],
        &["--test-samples", "2000"],
    );
    refused(
        &["freq", "--observe-every", "5000"],
        &["--observe-every", "--steps"],
    );
    refused(
        &["image", "--observe-every", "2000", "--quick"],
        &["--observe-every"],
    );
    refused(
        &["image", "--sigmas", "0.5,0.1"],
        &["--sigmas", "small first"],
    );
    refused(&["init", "--sigmas", "3,1"], &["--sigmas", "increasing"]);
    refused(&["mnist", "--gains", "8,1"], &["--gains", "increasing"]);
    // The help and the check agree on the image sizes.
    let help = fprinciple(&scratch("help"), &["image", "--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("from 4 to 4096"));
    refused(&["image", "--size", "8192"], &["--size", "from 4 to 4096"]);
}

#[test]
fn values_are_echoed_as_given() {
    refused(&["freq", "--sigma", "1e308"], &["--sigma", "1e308"]);
    refused(
        &["freq", "--learning-rate", "1e-300"],
        &["--learning-rate", "1e-300"],
    );
    refused(&["mnist", "--gains", "1,1e39"], &["--gains", "1e39"]);
    refused(
        &["image", "--split", "random:1e-300"],
        &["--split", "1e-300"],
    );
}

#[test]
fn single_point_sweeps_report_no_trend() {
    let out = scratch("trend-init");
    let args = [
        "init",
        "--sigmas",
        "1",
        "--seeds",
        "0",
        "--steps",
        "50",
        "--train-points",
        "5",
        "--test-points",
        "11",
    ];
    assert!(fprinciple(&out, &args).status.success());
    let dir = only_run(&out);
    assert!(summary(&dir)["results"]["test_mse_grows_with_sigma"].is_null());
    let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(page.contains("not determined (needs two σ)"), "{page}");
    std::fs::remove_dir_all(&out).unwrap();

    let out = scratch("trend-mnist");
    let args = [
        "mnist",
        "--gains",
        "1",
        "--epochs",
        "1",
        "--train-samples",
        "200",
        "--test-samples",
        "50",
        "--widths",
        "784,16,10",
    ];
    let output = fprinciple(&out, &args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dir = only_run(&out);
    assert!(summary(&dir)["results"]["test_accuracy_falls_with_gain"].is_null());
    let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert!(page.contains("not determined (needs two gains)"), "{page}");
    assert!(
        !page.contains("AboveNoise") && !page.contains("LocalMaxima"),
        "{page}"
    );
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn the_image_split_is_spelled_as_on_the_command_line() {
    let out = scratch("split");
    let args = [TINY_IMAGE.as_slice(), &["--steps", "10"]].concat();
    assert!(fprinciple(&out, &args).status.success());
    let page = std::fs::read_to_string(only_run(&out).join("index.html")).unwrap();
    assert!(page.contains("split even-columns"), "{page}");
    assert!(!page.contains("EvenColumns"), "{page}");
    std::fs::remove_dir_all(&out).unwrap();
}

/// Starts `args`, waits until its first run directory has existed for `settle`, sends
/// `signal`, and returns the output and the folder.
fn signal_after_start(
    name: &str,
    args: &[&str],
    signal: &str,
    settle: Duration,
) -> Option<(Output, PathBuf)> {
    if Command::new("kill").arg("-l").output().is_err() {
        println!("skipped: no `kill` command");
        return None;
    }
    let out = scratch(name);
    let child = Command::new(env!("CARGO_BIN_EXE_fprinciple"))
        .arg("--out")
        .arg(&out)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while entries(&out).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(settle);
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    Some((child.wait_with_output().unwrap(), out))
}

#[test]
fn sigterm_saves_the_run_like_ctrl_c() {
    let Some((output, out)) = signal_after_start(
        "sigterm",
        &["freq", "--steps", "1000000"],
        "-TERM",
        Duration::from_millis(1500),
    ) else {
        return;
    };
    assert!(!output.status.success());
    let dir = only_run(&out);
    assert_eq!(summary(&dir)["status"], "interrupted");
    assert!(dir.join("index.html").is_file() && dir.join("metrics.csv").is_file());
    let leftovers: Vec<_> = entries(&dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn an_interrupted_all_says_what_ran_and_what_never_did() {
    let Some((output, out)) = signal_after_start(
        "all",
        &["all", "--quick"],
        "-INT",
        Duration::from_millis(1000),
    ) else {
        return;
    };
    assert!(!output.status.success());
    let root = only_run(&out);
    let report = std::fs::read_to_string(root.join("report.html")).unwrap();
    assert!(report.contains("interrupted"), "{report}");
    assert!(report.contains("mnist: never ran"), "{report}");
    let summary = summary(&root);
    assert_eq!(summary["status"], "interrupted");
    assert_eq!(
        summary["results"]["never_ran"]
            .as_array()
            .unwrap()
            .last()
            .unwrap(),
        "mnist"
    );
    // The never-run experiments link to the folder's own page, which lists them.
    let page = std::fs::read_to_string(root.join("index.html")).unwrap();
    assert!(page.contains("never ran"), "{page}");
    std::fs::remove_dir_all(&out).unwrap();
}

// ---- MNIST folders ---------------------------------------------------------------------------

fn idx(magic: u32, dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(payload);
    out
}

/// A folder with the four MNIST files: `(samples, rows, cols)` of the training and the test
/// set, varied pixels and labels cycling through the classes.
fn mnist_folder(name: &str, train: (u32, u32, u32), test: (u32, u32, u32)) -> PathBuf {
    let dir = scratch(&format!("mnist-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    for (prefix, (n, rows, cols)) in [("train", train), ("t10k", test)] {
        let pixels: Vec<u8> = (0..n * rows * cols).map(|i| (i * 37 % 256) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        std::fs::write(
            dir.join(format!("{prefix}-images-idx3-ubyte")),
            idx(0x0803, &[n, rows, cols], &pixels),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{prefix}-labels-idx1-ubyte")),
            idx(0x0801, &[n], &labels),
        )
        .unwrap();
    }
    dir
}
