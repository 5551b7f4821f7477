//! The command line: bad settings are refused with a message that names the flag, and every
//! run writes a new, complete run directory.

use clap::Parser;
use host::cli::{main_with, Cli};
use std::path::Path;

fn run(args: &[&str]) -> Result<(), String> {
    let mut argv = vec!["fprinciple"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(argv).map_err(|e| e.to_string())?;
    main_with(cli).map_err(|e| e.to_string())
}

fn refused(args: &[&str], needle: &str) {
    let out = tempdir("refused");
    let mut full = vec!["--out", out.to_str().unwrap()];
    full.extend_from_slice(args);
    let err = run(&full).expect_err("the setting must be refused");
    assert!(
        err.contains(needle),
        "message {err:?} does not name {needle:?}"
    );
    // Refused before training: no run directory was made.
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
}

fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "fprinciple-cli-{name}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn invalid_settings_name_the_flag() {
    refused(&["freq", "--sigma", "-1"], "--sigma");
    refused(&["freq", "--sigma", "NaN"], "--sigma");
    refused(&["freq", "--sigma", "0"], "--sigma");
    refused(&["freq", "--widths", "1,0,1"], "--widths");
    refused(&["freq", "--widths", "2,10,1"], "--widths");
    refused(&["freq", "--learning-rate", "0"], "--learning-rate");
    refused(&["freq", "--learning-rate", "-0.1"], "--learning-rate");
    refused(&["freq", "--analysis-points", "100"], "--analysis-points");
    refused(&["freq", "--preset", "nonsense"], "--preset");
    refused(&["freq", "--target", "sin(x)+"], "--target");
    refused(&["freq", "--target", "tan(x)"], "--target");
    refused(&["freq", "--interval", "1,-1"], "--interval");
    refused(&["freq", "--steps", "0"], "--steps");
    refused(&["freq", "--observe-every", "0"], "--observe-every");
    refused(
        &["freq", "--optimizer", "sgd", "--momentum", "1.5"],
        "--momentum",
    );
    refused(&["init", "--sigmas", "1,-3"], "--sigmas");
    refused(&["init", "--seeds", ""], "--seeds");
}

fn files_of(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_run_writes_a_new_complete_directory() {
    let out = tempdir("runs");
    let args = [
        "--out",
        out.to_str().unwrap(),
        "freq",
        "--widths",
        "1,16,1",
        "--steps",
        "60",
        "--train-points",
        "32",
        "--analysis-points",
        "32",
        "--observe-every",
        "2",
    ];
    run(&args).unwrap();
    run(&args).unwrap();
    let runs = files_of(&out);
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert_ne!(runs[0], runs[1]);
    for run in &runs {
        let dir = out.join(run);
        let files = files_of(&dir);
        for expected in [
            "config.json",
            "delta_heatmap.png",
            "delta_heatmap.svg",
            "index.html",
            "loss.png",
            "metrics.csv",
            "snapshots.png",
            "spectrum.png",
            "summary.json",
        ] {
            assert!(
                files.contains(&expected.to_string()),
                "{expected} missing in {files:?}"
            );
        }
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap())
                .unwrap();
        assert_eq!(summary["status"], "completed");
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(config["seed"], 0);
        assert_eq!(config["settings"]["steps"], 60);
        let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
        assert_eq!(
            csv.lines().count(),
            1 + 31,
            "header plus steps 0, 2, ..., 60"
        );
        assert!(csv.starts_with("step,train_loss,test_loss,delta_1"));
        let html = std::fs::read_to_string(dir.join("index.html")).unwrap();
        assert!(html.contains("data:image/png;base64,"));
        assert!(image_decodes(&dir.join("delta_heatmap.png")));
    }
    std::fs::remove_dir_all(&out).unwrap();
}

fn image_decodes(path: &Path) -> bool {
    let bytes = std::fs::read(path).unwrap();
    bytes.starts_with(&[0x89, b'P', b'N', b'G'])
}

/// Runs `args` (after `--out`), which must diverge with a message that says each of
/// `needles`, and checks that the one run directory it made is marked as diverged and holds
/// the files `kept`.
fn check_divergence(tag: &str, args: &[&str], needles: &[&str], kept: &[&str]) {
    let out = tempdir(tag);
    let mut full = vec!["--out", out.to_str().unwrap()];
    full.extend_from_slice(args);
    let err = run(&full).expect_err("the run must diverge");
    for needle in needles {
        assert!(err.contains(needle), "{err:?} does not say {needle:?}");
    }
    let runs = files_of(&out);
    assert_eq!(runs.len(), 1);
    let dir = out.join(&runs[0]);
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(summary.contains("\"diverged\""), "{summary}");
    for file in kept {
        assert!(dir.join(file).exists(), "{file} is missing");
    }
    std::fs::remove_dir_all(&out).unwrap();
}

/// SGD at a learning rate of 90 on a 1-16-1 network: it diverges within a few steps.
const DIVERGING_SGD: [&str; 6] = [
    "--widths",
    "1,16,1",
    "--optimizer",
    "sgd",
    "--learning-rate",
    "90",
];

#[test]
fn divergence_stops_with_a_message_and_keeps_the_results() {
    let mut args = vec![
        "freq",
        "--steps",
        "500",
        "--train-points",
        "32",
        "--analysis-points",
        "32",
    ];
    args.extend(DIVERGING_SGD);
    let needles = ["at step", "--learning-rate"];
    check_divergence("diverge", &args, &needles, &["metrics.csv"]);
}

/// A σ of a sweep that diverges stops the sweep with a message that names the run, the step
/// and the settings to lower, and leaves its run directory marked as diverged.
#[test]
fn a_diverging_sweep_names_the_run_and_what_to_lower() {
    let mut args = vec!["init", "--sigmas", "1,3", "--seeds", "4", "--steps", "500"];
    args.extend(DIVERGING_SGD);
    let needles = [
        "σ = 1, seed 4",
        "at step",
        "--learning-rate (now 90)",
        "--sigmas",
    ];
    check_divergence("diverge-sweep", &args, &needles, &["config.json"]);
}

/// The image experiment trains with Adam, which does not diverge at any learning rate it
/// accepts; an initialization so large that the first outputs overflow does, at step 0.
#[test]
fn a_diverging_image_run_names_its_sigma() {
    let args = ["image", "--quick", "--sigmas", "0.1,1e19", "--steps", "20"];
    let needles = [
        "σ = 10000000000000000000: ",
        "at step 0",
        "--learning-rate (now 0.001)",
        "--sigmas",
    ];
    check_divergence("diverge-image", &args, &needles, &["config.json"]);
}

#[test]
fn invalid_image_settings_name_the_flag_and_range() {
    refused(&["image", "--size", "48"], "--size");
    refused(&["image", "--size", "2"], "power of two from 4 to 4096");
    refused(&["image", "--sigmas", "0.1,-1"], "--sigmas");
    refused(&["image", "--sigmas", "NaN"], "finite and > 0");
    refused(&["image", "--hidden", "10,0"], "--hidden");
    refused(&["image", "--bands", "0"], "--bands");
    refused(
        &["image", "--size", "8", "--bands", "5"],
        "need 1 to 4 for a 8×8 image",
    );
    refused(&["image", "--threshold", "0"], "--threshold");
    refused(&["image", "--learning-rate", "0"], "--learning-rate");
    refused(&["image", "--learning-rate", "inf"], "(0, 100)");
    refused(&["image", "--steps", "0"], "--steps");
    refused(&["image", "--observe-every", "0"], "--observe-every");
    refused(&["image", "--match-loss", "-1"], "--match-loss");
    refused(&["image", "--split", "random:1.5"], "--split");
    refused(&["image", "--split", "diagonal"], "--split");
    refused(&["image", "--checkpoint-every", "0"], "--checkpoint-every");
}

#[test]
fn invalid_mnist_settings_name_the_flag_and_range() {
    refused(&["mnist", "--gains", "1,0"], "--gains");
    refused(&["mnist", "--gains", "1,-2"], "finite and > 0");
    refused(&["mnist", "--epochs", "0"], "--epochs");
    refused(&["mnist", "--batch-size", "0"], "--batch-size");
    refused(&["mnist", "--learning-rate", "-1"], "--learning-rate");
    refused(&["mnist", "--train-samples", "1"], "--train-samples");
    refused(&["mnist", "--test-samples", "0"], "--test-samples");
    refused(&["mnist", "--widths", "784,0,10"], "--widths");
    // Checked against the data before anything runs: 784 pixels, labels 0 to 9.
    refused(&["mnist", "--widths", "100,10"], "784 pixels");
    refused(&["mnist", "--widths", "784,16,5"], "--widths");
}

/// Runs `args`, which must fail, and returns the message.
fn refusal(args: &[&str]) -> String {
    run(args).expect_err("must be refused")
}

#[test]
fn resume_refuses_what_it_cannot_continue() {
    let out = tempdir("resume");
    let o = out.to_str().unwrap();
    run(&[
        "--out",
        o,
        "image",
        "--size",
        "8",
        "--bands",
        "2",
        "--hidden",
        "8",
        "--steps",
        "20",
        "--observe-every",
        "5",
    ])
    .unwrap();
    let dir = out.join(&files_of(&out)[0]);
    let d = dir.to_str().unwrap();
    let summary = dir.join("summary.json");
    let checkpoint = dir.join("checkpoint.bin");
    let good = std::fs::read(&checkpoint).unwrap();
    let set_status = |status: &str| {
        let text = std::fs::read_to_string(&summary).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let old = value["status"].as_str().unwrap().to_string();
        std::fs::write(
            &summary,
            text.replace(&format!("\"{old}\""), &format!("\"{status}\"")),
        )
        .unwrap();
    };

    let err = refusal(&["image", "--resume", d]);
    assert!(err.contains("already complete"), "{err}");
    let err = refusal(&["mnist", "--resume", d]);
    assert!(err.contains("not of mnist"), "{err}");
    let err = refusal(&["image", "--resume", o]);
    assert!(err.contains("not a run directory"), "{err}");
    let missing = out.join("missing");
    let err = refusal(&["image", "--resume", missing.to_str().unwrap()]);
    assert!(err.contains("no such run directory"), "{err}");
    let err = refusal(&["image", "--resume", d, "--size", "16"]);
    assert!(err.contains("--size"), "{err}");
    let err = refusal(&["mnist", "--resume", d, "--epochs", "3"]);
    assert!(err.contains("--epochs"), "{err}");

    // As Ctrl-C leaves a run: marked interrupted, with a checkpoint. Damage it in turn.
    set_status("diverged");
    let err = refusal(&["image", "--resume", d]);
    assert!(err.contains("diverged"), "{err}");
    set_status("interrupted");
    std::fs::write(&checkpoint, &good[..good.len() / 2]).unwrap();
    let err = refusal(&["image", "--resume", d]);
    assert!(
        err.contains("checkpoint.bin") && err.contains("truncated"),
        "{err}"
    );
    let mut flipped = good.clone();
    flipped[good.len() / 3] ^= 1;
    std::fs::write(&checkpoint, &flipped).unwrap();
    let err = refusal(&["image", "--resume", d]);
    assert!(err.contains("damaged checkpoint"), "{err}");
    // A checkpoint of the previous format (its weights laid out the other way): same header
    // and checksum, version 2.
    let mut old_version = good.clone();
    old_version[8..12].copy_from_slice(&2u32.to_le_bytes());
    let body = old_version.len() - 8;
    let sum = host::checkpoint::fnv1a(&old_version[..body]);
    old_version[body..].copy_from_slice(&sum.to_le_bytes());
    std::fs::write(&checkpoint, &old_version).unwrap();
    let err = refusal(&["image", "--resume", d]);
    assert!(
        err.contains(
            "checkpoint.bin: unsupported checkpoint: format version 2; this build reads version 3"
        ),
        "{err}"
    );
    std::fs::write(&checkpoint, b"steps=20\n").unwrap();
    let err = refusal(&["image", "--resume", d]);
    assert!(err.contains("not a fprinciple checkpoint"), "{err}");
    std::fs::remove_file(&checkpoint).unwrap();
    let err = refusal(&["image", "--resume", d]);
    assert!(err.contains("no checkpoint.bin"), "{err}");

    // A sound checkpoint whose run's settings were edited afterwards.
    std::fs::write(&checkpoint, &good).unwrap();
    let config = dir.join("config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("\"steps\": 20", "\"steps\": 21")).unwrap();
    let err = refusal(&["image", "--resume", d]);
    assert!(err.contains("other settings (steps differ)"), "{err}");
    std::fs::write(&config, text.replace("\"size\": 8", "\"size\": 12")).unwrap();
    let err = refusal(&["image", "--resume", d]);
    assert!(err.contains("--size"), "{err}");
    std::fs::write(&config, "{").unwrap();
    let err = refusal(&["image", "--resume", d]);
    assert!(err.contains("config.json"), "{err}");

    // Nothing was lost on the way: the run's results are where they were.
    assert!(dir.join("metrics.csv").exists() && dir.join("index.html").exists());
    assert_eq!(files_of(&out).len(), 1, "no new run directory");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn resume_refuses_a_run_of_another_experiment() {
    let out = tempdir("resume-freq");
    let o = out.to_str().unwrap();
    run(&[
        "--out",
        o,
        "freq",
        "--widths",
        "1,8,1",
        "--steps",
        "5",
        "--train-points",
        "16",
        "--analysis-points",
        "16",
    ])
    .unwrap();
    let dir = out.join(&files_of(&out)[0]);
    let err = refusal(&["image", "--resume", dir.to_str().unwrap()]);
    assert!(
        err.contains("a run of the freq-classic experiment, not of image"),
        "{err}"
    );
    let err = refusal(&["mnist", "--resume", dir.to_str().unwrap()]);
    assert!(err.contains("not of mnist"), "{err}");
    std::fs::remove_dir_all(&out).unwrap();
}
