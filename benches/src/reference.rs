//! A training step in NumPy or PyTorch (`benches/reference/step.py`), run as a child process
//! so that the `speed` bench can time it in the same rounds as ours.
//!
//! The speed standards were stated beside reference timings on this kind of machine;
//! a shared machine's speed drifts by a third or more within seconds, so a figure in
//! milliseconds compares with a standard only if the reference is measured at the same time.
//! The bench therefore reports our time per step as a ratio to the reference's, round by round.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// The reference script, relative to this package.
const SCRIPT: &str = "reference/step.py";

/// What a reference trains: a tanh network's widths and initial parameters (in the core's
/// layout), the training rows, the rows evaluated after each step (none for a plain step) and
/// Adam's learning rate.
pub struct Workload<'a> {
    /// Layer widths, inputs first.
    pub widths: &'a [usize],
    /// Initial parameters.
    pub params: &'a [f32],
    /// Training inputs, row by row.
    pub x: &'a [f32],
    /// Training targets, row by row.
    pub y: &'a [f32],
    /// Inputs evaluated after each step, row by row (may be empty).
    pub grid: &'a [f32],
    /// Adam's learning rate.
    pub learning_rate: f32,
}

/// A running reference: the child process and its pipes.
pub struct Reference {
    /// `numpy 2.4.6` or `torch 2.9.1`: the framework and its version, as the script reports it.
    pub name: String,
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    setup_file: PathBuf,
}

impl Reference {
    /// Starts the script for `framework` (`numpy` or `torch`) on `workload`, named `label`
    /// in its temporary set-up file, on `threads` threads (`None`: the framework's default,
    /// every core); `Err` says why it could not (no Python, no framework, ...), for the bench
    /// to print.
    pub fn start(
        framework: &str,
        label: &str,
        workload: &Workload<'_>,
        threads: Option<usize>,
    ) -> Result<Self, String> {
        let setup_file = std::env::temp_dir().join(format!(
            "fprinciple-reference-{}-{label}-{framework}.f32",
            std::process::id()
        ));
        let floats = workload
            .params
            .iter()
            .chain(workload.x)
            .chain(workload.y)
            .chain(workload.grid);
        let bytes: Vec<u8> = floats.flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(&setup_file, bytes)
            .map_err(|e| format!("cannot write {}: {e}", setup_file.display()))?;
        let widths: Vec<String> = workload.widths.iter().map(usize::to_string).collect();
        let n_in = match workload.widths {
            [first, .., last] if *first > 0 && *last > 0 => *first,
            _ => return Err("a network needs at least two widths, none zero".into()),
        };
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SCRIPT);
        let mut command = Command::new("python3");
        if let Some(n) = threads {
            // Read by OpenBLAS (NumPy) and by PyTorch's thread pool when they start.
            for variable in ["OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"] {
                command.env(variable, n.to_string());
            }
        }
        let spawned = command
            .arg(&script)
            .arg(framework)
            .arg(widths.join(","))
            .arg((workload.x.len() / n_in).to_string())
            .arg((workload.grid.len() / n_in).to_string())
            .arg(workload.learning_rate.to_string())
            .arg(&setup_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_file(&setup_file);
                return Err(format!("cannot run python3: {e}"));
            }
        };
        let (Some(input), Some(output)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err("no pipes to python3".into());
        };
        let suffix = threads.map_or(String::new(), |n| format!(", {n} thread(s)"));
        let mut reference = Reference {
            name: framework.into(),
            child,
            input,
            output: BufReader::new(output),
            setup_file,
        };
        let ready = reference.read_line()?;
        match ready.strip_prefix("ready ") {
            Some(name) => reference.name = format!("{}{suffix}", name.trim()),
            None => return Err(format!("python3 with {framework} did not start")),
        }
        Ok(reference)
    }

    /// The outputs after `iterations` iterations from the initial parameters: on the grid, or
    /// without one on the training rows.
    pub fn check(&mut self, iterations: usize) -> Result<Vec<f32>, String> {
        let line = self.ask(&format!("check {iterations}"))?;
        line.split_whitespace()
            .map(|v| v.parse().map_err(|e| format!("bad output {v:?}: {e}")))
            .collect()
    }

    /// Seconds per iteration over `iterations` iterations of the ongoing training.
    pub fn time(&mut self, iterations: usize) -> Result<f64, String> {
        let line = self.ask(&format!("time {iterations}"))?;
        line.trim()
            .parse()
            .map_err(|e| format!("bad timing {line:?}: {e}"))
    }

    fn ask(&mut self, command: &str) -> Result<String, String> {
        writeln!(self.input, "{command}")
            .and_then(|()| self.input.flush())
            .map_err(|e| format!("{}: {e}", self.name))?;
        self.read_line()
    }

    fn read_line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.output.read_line(&mut line) {
            Ok(0) => Err(format!("{} ended", self.name)),
            Ok(_) => Ok(line),
            Err(e) => Err(format!("{}: {e}", self.name)),
        }
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.setup_file);
    }
}
