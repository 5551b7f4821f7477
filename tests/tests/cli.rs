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

#[test]
fn divergence_stops_with_a_message_and_keeps_the_results() {
    let out = tempdir("diverge");
    let err = run(&[
        "--out",
        out.to_str().unwrap(),
        "freq",
        "--widths",
        "1,16,1",
        "--optimizer",
        "sgd",
        "--learning-rate",
        "90",
        "--steps",
        "500",
        "--train-points",
        "32",
        "--analysis-points",
        "32",
    ])
    .expect_err("a learning rate of 90 diverges");
    assert!(err.contains("at step"), "{err}");
    assert!(err.contains("--learning-rate"), "{err}");
    let runs = files_of(&out);
    assert_eq!(runs.len(), 1);
    let summary = std::fs::read_to_string(out.join(&runs[0]).join("summary.json")).unwrap();
    assert!(summary.contains("\"diverged\""), "{summary}");
    assert!(out.join(&runs[0]).join("metrics.csv").exists());
    std::fs::remove_dir_all(&out).unwrap();
}
