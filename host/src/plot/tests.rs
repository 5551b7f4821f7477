//! Figures are written, decode, and show what they should.
//!
//! Set `FPRINCIPLE_PLOT_DIR` to a directory to keep the sample figures for a look.

use std::f64::consts::PI;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::heat::colour_bar_ticks;
use super::render::format_tick;
use super::xy::{legend_corner, log_ticks, Corner};
use super::*;

/// Where the figures of one test go: the kept directory, or a scratch one removed on drop.
struct Out {
    dir: PathBuf,
    keep: bool,
}

impl Out {
    fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        match std::env::var_os("FPRINCIPLE_PLOT_DIR") {
            Some(d) => {
                let dir = PathBuf::from(d);
                std::fs::create_dir_all(&dir).unwrap();
                Self { dir, keep: true }
            }
            None => {
                let dir = std::env::temp_dir().join(format!(
                    "fprinciple-plot-{tag}-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&dir).unwrap();
                Self { dir, keep: false }
            }
        }
    }

    fn stem(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Out {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Both files exist, the PNG decodes and the SVG is an SVG; returns the decoded PNG.
fn check_files(files: &[PathBuf]) -> image::RgbImage {
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].extension().unwrap(), "png");
    assert_eq!(files[1].extension().unwrap(), "svg");
    let svg = std::fs::read_to_string(&files[1]).unwrap();
    assert!(svg.contains("<svg"), "not an SVG");
    assert!(svg.trim_end().ends_with("</svg>"));
    image::open(&files[0]).unwrap().to_rgb8()
}

/// The contents of the SVG's text elements, trimmed.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("</text>")
        .filter_map(|part| part.rsplit_once('>'))
        .map(|(_, t)| t.trim().to_string())
        .collect()
}

fn grid(n: usize, a: f64, b: f64) -> Vec<f64> {
    (0..n).map(|j| a + (b - a) * j as f64 / n as f64).collect()
}

#[test]
fn line_chart_writes_png_and_svg() {
    let out = Out::new("line");
    let steps: Vec<f64> = (0..2000).map(f64::from).collect();
    let loss: Vec<f64> = steps
        .iter()
        .map(|s| 0.5 * (-s / 300.0).exp() + 1e-4)
        .collect();
    let mut test: Vec<f64> = steps
        .iter()
        .map(|s| 0.6 * (-s / 400.0).exp() + 3e-4)
        .collect();
    test[500] = f64::NAN; // a gap, not a failure
    test[501] = 0.0; // not drawable on a log axis
    let series = [
        Series::new("train loss", &steps, &loss),
        Series::new("test loss", &steps, &test),
    ];
    let chart = LineChart::new("Loss (MSE)", "step", "mean squared error", &series).log_y(true);
    let files = line_chart(&out.stem("loss"), &chart).unwrap();
    let png = check_files(&files);
    assert_eq!(png.dimensions(), (1000, 650));

    let sigma = [1.0, 3.0, 10.0, 30.0];
    let mse = [3e-5, 8e-4, 0.027, 0.095];
    let series = [Series::new("test MSE", &sigma, &mse)];
    let chart = LineChart::new(
        "Test error against initialization scale",
        "σ",
        "test MSE",
        &series,
    )
    .log_x(true)
    .log_y(true)
    .markers(true);
    check_files(&line_chart(&out.stem("mse_vs_sigma"), &chart).unwrap());
}

#[test]
fn line_chart_rejects_bad_data() {
    let out = Out::new("bad");
    let x = [1.0, 2.0];
    let y = [1.0];
    let series = [Series::new("a", &x, &y)];
    let err = line_chart(&out.stem("a"), &LineChart::new("t", "x", "y", &series));
    assert!(matches!(err, Err(PlotError::Invalid(_))));
    let y = [f64::NAN, f64::NAN];
    let series = [Series::new("a", &x, &y)];
    let err = line_chart(&out.stem("b"), &LineChart::new("t", "x", "y", &series));
    assert!(matches!(err, Err(PlotError::Invalid(_))));
    let err = line_chart(&out.stem("c"), &LineChart::new("t", "x", "y", &[]));
    assert!(matches!(err, Err(PlotError::Invalid(_))));
}

#[test]
fn heat_map_colours_converged_cells_red_at_the_bottom() {
    let out = Out::new("heat");
    // 3 peaks over 3000 observations: k=1 converges at once, k=3 half way, k=5 never.
    let columns: Vec<f64> = (0..3000).map(f64::from).collect();
    let values: Vec<Vec<f64>> = vec![
        columns
            .iter()
            .map(|&s| if s < 50.0 { 1.0 } else { 0.01 })
            .collect(),
        columns
            .iter()
            .map(|&s| if s < 1500.0 { 0.9 } else { 0.05 })
            .collect(),
        columns.iter().map(|_| 2.0).collect(),
    ];
    let labels = vec!["k=1".to_string(), "k=3".into(), "k=5".into()];
    let map = HeatMap::new("Relative error per peak", &labels, &columns, &values);
    let files = heat_map(&out.stem("heat"), &map).unwrap();
    let png = check_files(&files);
    let svg = std::fs::read_to_string(&files[1]).unwrap();
    assert!(
        svg.contains("<image"),
        "heat map cells are embedded as an image"
    );
    assert!(svg.contains("k=3"));

    let red = image::Rgb(rdbu(0.0));
    let blue = image::Rgb(rdbu(1.0));
    // Look at the plot only (left of the colour bar).
    let (w, h) = png.dimensions();
    let (mut red_rows, mut blue_rows) = (Vec::new(), Vec::new());
    for y in 0..h {
        let row_red = (0..w - 200)
            .filter(|&x| *png.get_pixel(x, y) == red)
            .count();
        let row_blue = (0..w - 200)
            .filter(|&x| *png.get_pixel(x, y) == blue)
            .count();
        if row_red > 100 {
            red_rows.push(y);
        }
        if row_blue > 100 {
            blue_rows.push(y);
        }
    }
    assert!(!red_rows.is_empty() && !blue_rows.is_empty());
    // The converged low peak (red) is below the never-converging high peak (blue).
    assert!(red_rows.iter().max() > blue_rows.iter().max());
    assert!(red_rows.iter().min() > blue_rows.iter().min());
    // Bottom row: converged almost everywhere, so mostly red; top row: all blue.
    let bottom = *red_rows.iter().max().unwrap();
    let top = *blue_rows.iter().min().unwrap();
    let reds = (0..w - 200)
        .filter(|&x| *png.get_pixel(x, bottom) == red)
        .count();
    let blues = (0..w - 200)
        .filter(|&x| *png.get_pixel(x, top) == blue)
        .count();
    assert!(reds > 600, "{reds}");
    assert!(blues > 600, "{blues}");
}

#[test]
fn heat_map_handles_few_columns_and_rejects_bad_shapes() {
    let out = Out::new("heat2");
    let columns = [0.0, 100.0, 200.0, 400.0];
    let values = vec![vec![1.0, 0.5, 0.1, f64::NAN], vec![1.0, 1.0, 0.7, 0.3]];
    let labels = vec!["band 0".to_string(), "band 1".into()];
    let mut map = HeatMap::new("Band errors", &labels, &columns, &values);
    map.y_label = "radial band";
    check_files(&heat_map(&out.stem("few"), &map).unwrap());

    let short = vec!["only one".to_string()];
    let bad = HeatMap::new("t", &short, &columns, &values);
    assert!(matches!(
        heat_map(&out.stem("bad"), &bad),
        Err(PlotError::Invalid(_))
    ));
    let unsorted = [0.0, 2.0, 1.0, 3.0];
    let bad = HeatMap::new("t", &labels, &unsorted, &values);
    assert!(matches!(
        heat_map(&out.stem("bad"), &bad),
        Err(PlotError::Invalid(_))
    ));
}

#[test]
fn rdbu_runs_from_red_to_blue() {
    assert_eq!(rdbu(0.0), [0x67, 0x00, 0x1f]);
    assert_eq!(rdbu(-3.0), rdbu(0.0));
    assert_eq!(rdbu(0.5), [0xf7, 0xf7, 0xf7]);
    assert_eq!(rdbu(1.0), [0x05, 0x30, 0x61]);
    assert_eq!(rdbu(7.0), rdbu(1.0));
    let [r, _, b] = rdbu(0.2);
    assert!(r > b);
    let [r, _, b] = rdbu(0.8);
    assert!(b > r);
}

#[test]
fn snapshots_and_spectrum() {
    let out = Out::new("snap");
    let x = grid(256, -PI, PI);
    let target: Vec<f64> = x
        .iter()
        .map(|&t| t.sin() + (3.0 * t).sin() + (5.0 * t).sin())
        .collect();
    let outputs: Vec<Vec<f64>> = [0.2, 0.6, 1.0]
        .iter()
        .map(|&a| {
            x.iter()
                .map(|&t| t.sin() + a * (3.0 * t).sin() + a * a * (5.0 * t).sin())
                .collect()
        })
        .collect();
    let captions = ["step 10", "step 400", "step 1200"];
    let panels: Vec<Snapshot<'_>> = captions
        .iter()
        .zip(&outputs)
        .map(|(c, o)| Snapshot {
            caption: c,
            output: o,
        })
        .collect();
    let train_x: Vec<f64> = x.iter().step_by(8).copied().collect();
    let train_y: Vec<f64> = target.iter().step_by(8).copied().collect();
    let fig = Snapshots {
        title: "Target and network output during training",
        x_label: "x",
        y_label: "f(x)",
        x: &x,
        target: &target,
        panels: &panels,
        train_x: &train_x,
        train_y: &train_y,
    };
    check_files(&function_snapshots(&out.stem("snapshots"), &fig).unwrap());

    let k: Vec<f64> = (0..40).map(f64::from).collect();
    let spec_t: Vec<f64> = k
        .iter()
        .map(|&k| {
            if [1.0, 3.0, 5.0].contains(&k) {
                0.5
            } else {
                1e-9
            }
        })
        .collect();
    let spec_h: Vec<f64> = k
        .iter()
        .map(|&k| match k as u32 {
            1 => 0.49,
            3 => 0.3,
            5 => 0.05,
            _ => 1e-4 / (1.0 + k),
        })
        .collect();
    let series = [
        Series::new("target", &k, &spec_t),
        Series::new("output (step 400)", &k, &spec_h),
    ];
    let chart = SpectrumChart {
        title: "Spectrum of target and output",
        x_label: "frequency index k",
        y_label: "|DFT|",
        series: &series,
        peaks: &[1.0, 3.0, 5.0],
        marks_label: None,
        log_y: true,
    };
    check_files(&spectrum_chart(&out.stem("spectrum"), &chart).unwrap());
    let chart = SpectrumChart {
        log_y: false,
        ..chart
    };
    check_files(&spectrum_chart(&out.stem("spectrum_linear"), &chart).unwrap());
    // The SVG writes each text on a line of its own.
    let texts = |name: &str| -> Vec<String> {
        let svg = std::fs::read_to_string(out.stem(name).with_extension("svg")).unwrap();
        svg.lines().map(|l| l.trim().to_string()).collect()
    };
    assert!(texts("spectrum_linear").contains(&"peaks".to_string()));
    let chart = SpectrumChart {
        marks_label: Some("tracked frequencies"),
        ..chart
    };
    check_files(&spectrum_chart(&out.stem("spectrum_tracked"), &chart).unwrap());
    let tracked = texts("spectrum_tracked");
    assert!(tracked.contains(&"tracked frequencies".to_string()));
    assert!(!tracked.contains(&"peaks".to_string()));
}

fn test_image(s: usize, phase: f32) -> Vec<f32> {
    (0..s * s)
        .map(|i| {
            let (r, c) = ((i / s) as f32, (i % s) as f32);
            let v = 0.5 + 0.4 * ((r / 5.0 + phase).sin() * (c / 7.0).cos());
            v.clamp(0.0, 1.0)
        })
        .collect()
}

#[test]
fn image_grid_and_mask() {
    let out = Out::new("img");
    let s = 64;
    let imgs: Vec<Vec<f32>> = (0..4).map(|i| test_image(s, i as f32)).collect();
    let caps = ["step 0", "step 100", "step 1000", "step 3000"];
    let small: Vec<GrayImage<'_>> = imgs
        .iter()
        .zip(caps)
        .map(|(p, c)| GrayImage::square(s, p, c))
        .collect();
    let rows = [
        ImageRow {
            label: "σ = 0.1",
            images: &small,
        },
        ImageRow {
            label: "σ = 1",
            images: &small[..3],
        },
    ];
    let files = image_grid(&out.stem("grid"), "Network output over training", &rows).unwrap();
    check_files(&files);
    assert!(std::fs::read_to_string(&files[1])
        .unwrap()
        .contains("data:image/png;base64,"));

    let mask: Vec<bool> = (0..s * s).map(|i| i % s % 2 == 0).collect();
    let fig = MaskedImage {
        title: "Image and training split",
        image: GrayImage::square(s, &imgs[0], "original (64×64)"),
        mask: &mask,
        mask_label: "training pixels (even columns)",
    };
    let png = check_files(&image_with_mask(&out.stem("mask"), &fig).unwrap());
    let tinted = png
        .pixels()
        .filter(|p| i32::from(p[0]) > i32::from(p[2]) + 60)
        .count();
    assert!(tinted > 10_000, "{tinted}");

    let bad = GrayImage::square(s, &imgs[0][..10], "bad");
    let rows = [ImageRow {
        label: "x",
        images: std::slice::from_ref(&bad),
    }];
    assert!(matches!(
        image_grid(&out.stem("bad"), "t", &rows),
        Err(PlotError::Invalid(_))
    ));
}

#[test]
fn tick_labels_are_short() {
    assert_eq!(format_tick(0.0), "0");
    assert_eq!(format_tick(0.30000000000000004), "0.3");
    assert_eq!(format_tick(250.0), "250");
    assert_eq!(format_tick(-1.5), "-1.5");
    assert_eq!(format_tick(1e-5), "1e-5");
    assert_eq!(format_tick(2.5e6), "2.5e6");
    assert_eq!(format_tick(12345.0), "12345");
}

#[test]
fn stems_keep_their_dots() {
    let out = Out::new("dots");
    let x = [0.0, 1.0];
    let series = [Series::new("a", &x, &x)];
    let files = line_chart(
        &out.stem("sigma_0.1"),
        &LineChart::new("t", "x", "y", &series),
    )
    .unwrap();
    assert!(files[0].ends_with("sigma_0.1.png"));
    assert!(Path::new(&files[1]).ends_with("sigma_0.1.svg"));
}

#[test]
fn narrow_log_axes_get_three_short_labels() {
    let labels = |lo: f64, hi: f64| -> Vec<String> {
        log_ticks(lo, hi)
            .labels
            .iter()
            .map(|&v| format_tick(v))
            .collect()
    };
    // MNIST filter errors (0.3–3): whole decades give only "1".
    assert_eq!(labels(0.3, 3.0), ["0.5", "1", "2"]);
    // A spectrum between 0.003 and 0.04: only "0.01" was labelled.
    assert_eq!(labels(0.003, 0.04), ["0.005", "0.01", "0.02"]);
    assert_eq!(labels(1.5e-4, 9e-4), ["2e-4", "3e-4", "5e-4"]);
    // Under a factor of 2.5: 1…9 multiples, then linear steps.
    assert_eq!(labels(2.5, 5.5), ["3", "4", "5"]);
    assert_eq!(labels(1.1, 2.4)[..3], ["1.2", "1.4", "1.6"]);
    // Wide ranges keep plotters' look: every decade, at most eight labels.
    assert_eq!(labels(1e-4, 0.6), ["1e-4", "0.001", "0.01", "0.1"]);
    let wide = log_ticks(1e-20, 1.0);
    assert!(wide.labels.len() <= 8 && wide.labels.len() >= 3);
    assert_eq!(wide.labels[0], 1e-20);
}

proptest::proptest! {
    #[test]
    fn every_log_axis_has_three_labels_in_range(e in -12.0f64..12.0, decades in 0.3f64..15.0) {
        let (lo, hi) = (10f64.powf(e), 10f64.powf(e + decades));
        let t = log_ticks(lo, hi);
        proptest::prop_assert!(t.labels.len() >= 3, "{lo}..{hi}: {:?}", t.labels);
        proptest::prop_assert!(t.labels.len() <= 10, "{lo}..{hi}: {:?}", t.labels);
        for &v in &t.labels {
            proptest::prop_assert!(v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9));
            proptest::prop_assert!(format_tick(v).len() <= 7, "{}", format_tick(v));
        }
        proptest::prop_assert!(t.labels.windows(2).all(|w| w[0] < w[1]));
    }
}

#[test]
fn legend_goes_to_a_free_corner_or_outside() {
    let size = (0.3, 0.3);
    // A curve in the lower left (and points along the bottom): the upper right is free.
    let lower_left = vec![vec![(0.0, 0.6), (0.2, 0.2), (0.6, 0.0)], vec![(0.9, 0.05)]];
    assert_eq!(legend_corner(&lower_left, size), Some(Corner::UpperRight));
    // Decaying curves from the upper left: the upper right stays free.
    let decay: Vec<(f64, f64)> = (0..=100)
        .map(|i| {
            let x = f64::from(i) / 100.0;
            (x, (-4.0 * x).exp())
        })
        .collect();
    assert_eq!(legend_corner(&[decay], size), Some(Corner::UpperRight));
    // Data in the upper corners: the lower right is taken next, then the lower left.
    let top = vec![vec![(0.0, 0.9), (1.0, 0.9)]];
    assert_eq!(legend_corner(&top, size), Some(Corner::LowerRight));
    let mut taken = top.clone();
    taken.push(vec![(0.95, 0.1)]);
    assert_eq!(legend_corner(&taken, size), Some(Corner::LowerLeft));
    // A steep dip crossing the lower left between two samples outside the box still counts.
    taken.push(vec![(0.0, 0.5), (0.5, 0.0)]);
    assert_eq!(legend_corner(&taken, size), None);
}

#[test]
fn heat_map_cells_are_centred_on_their_steps() {
    let labels = vec!["f".to_string()];
    // MNIST: epochs 0..6, seven columns; cell 6 spans 5.5..6.5, not 6..7.
    let epochs: Vec<f64> = (0..7).map(f64::from).collect();
    let values = vec![epochs.clone()];
    let map = HeatMap::new("t", &labels, &epochs, &values);
    let expected: Vec<f64> = (0..8).map(|i| f64::from(i) - 0.5).collect();
    assert_eq!(map.cell_edges(), expected);
    // Uneven steps: halfway to each neighbour, the outer cells by half their inner gap.
    let steps = [0.0, 100.0, 200.0, 400.0];
    let values = vec![vec![0.1, 0.4, 0.7, 1.0]];
    let map = HeatMap::new("t", &labels, &steps, &values);
    assert_eq!(map.cell_edges(), [-50.0, 50.0, 150.0, 300.0, 500.0]);
    // One pixel per unit from -50: the pixel at step 350 belongs to step 400's cell.
    let px = map.row_pixels(&values[0], 550);
    let colour = |v: f64| rdbu((v - 0.1) / 0.9);
    assert_eq!(px[50 + 350], colour(1.0));
    assert_eq!(px[50 + 250], colour(0.7));
    assert_eq!(px[50 + 40], colour(0.1));
    assert_eq!(px[50 + 60], colour(0.4));
    let one = [5.0];
    let single = vec![vec![0.5]];
    let map = HeatMap::new("t", &labels, &one, &single);
    assert_eq!(map.cell_edges(), [4.5, 5.5]);
    // Thousands of columns: the extent grows by half a step only.
    let many: Vec<f64> = (0..3000).map(f64::from).collect();
    let rows = vec![many.clone()];
    let map = HeatMap::new("t", &labels, &many, &rows);
    let edges = map.cell_edges();
    assert_eq!((edges[0], edges[3000]), (-0.5, 2999.5));
}

#[test]
fn colour_bar_marks_the_converged_threshold() {
    assert_eq!(colour_bar_ticks(0.1, 1.0), [0.1, 0.25, 0.5, 0.75, 1.0]);
    assert_eq!(colour_bar_ticks(0.0, 2.0), [0.0, 0.5, 1.0, 1.5, 2.0]);
    // Light reds are not converged: the label names the threshold, not just "red".
    let labels = vec!["k=1".to_string(), "k=3".into()];
    let columns = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let values = vec![
        vec![1.0, 0.8, 0.5, 0.3, 0.15, 0.08, 0.02],
        vec![1.2, 1.0, 0.9, 0.7, 0.5, 0.3, 0.2],
    ];
    let mut map = HeatMap::new("Δ_F along p₁, g = 1", &labels, &columns, &values);
    map.x_label = "epoch";
    assert!(map.colour_label.contains("≤ 0.1") && map.colour_label.contains("darkest red"));
    let out = Out::new("bar");
    let files = heat_map(&out.stem("delta_heatmap_epochs"), &map).unwrap();
    let png = check_files(&files);
    let svg = std::fs::read_to_string(&files[1]).unwrap();
    let texts = svg_texts(&svg);
    for tick in ["0.1", "0.25", "0.5", "0.75", "1"] {
        assert!(texts.iter().any(|t| t == tick), "colour bar tick {tick}");
    }
    assert!(texts.iter().any(|t| t.contains("converged")));
    // In the bar: a band of the darkest red (clipped values) under a white threshold line.
    let (w, h) = png.dimensions();
    let x = w - 200 + 30;
    let dark = image::Rgb(rdbu(0.0));
    let white = image::Rgb([255, 255, 255]);
    let line = (1..h - 6).find(|&y| {
        *png.get_pixel(x, y) == white
            && *png.get_pixel(x, y + 5) == dark
            && *png.get_pixel(x, y - 1) != white
    });
    assert!(line.is_some(), "no threshold line on the colour bar");
}

#[test]
fn narrow_log_charts_and_crowded_legends_render() {
    let out = Out::new("narrow");
    // filter_errors-like: six curves between 0.08 and 3 on a log axis.
    let epochs: Vec<f64> = (0..31).map(f64::from).collect();
    let curves: Vec<(String, Vec<f64>)> = (0..6)
        .map(|i| {
            let a = 3.0 - 0.3 * f64::from(i);
            let r = 0.04 + 0.02 * f64::from(i);
            let y = epochs
                .iter()
                .map(|&e| 0.08 + a * (-r * e).exp() * 0.7)
                .collect();
            (format!("curve {i}"), y)
        })
        .collect();
    let series: Vec<Series<'_>> = curves
        .iter()
        .map(|(n, y)| Series::new(n, &epochs, y))
        .collect();
    let chart = LineChart::new("Narrow log axis", "epoch", "relative error", &series)
        .log_y(true)
        .markers(true);
    check_files(&line_chart(&out.stem("narrow_log"), &chart).unwrap());

    // Δ_F curves that occupy every corner (one dips in the lower left): the legend goes beside.
    let steps: Vec<f64> = (0..400).map(f64::from).collect();
    let d: Vec<Vec<f64>> = vec![
        steps.iter().map(|&s| 1.0 - 0.9 * s / 400.0).collect(),
        steps.iter().map(|&s| 0.1 + 0.9 * s / 400.0).collect(),
        steps
            .iter()
            .map(|&s| 0.5 - 0.48 * (-((s - 60.0) / 15.0).powi(2)).exp())
            .collect(),
        steps.iter().map(|_| 0.5).collect(),
    ];
    let names = ["k=1", "k=3", "k=5", "k=7"];
    let series: Vec<Series<'_>> = names
        .iter()
        .zip(&d)
        .map(|(n, y)| Series::new(n, &steps, y))
        .collect();
    let chart = LineChart::new("Δ_F per peak", "step", "Δ_F", &series);
    let png = check_files(&line_chart(&out.stem("crowded_legend"), &chart).unwrap());
    // The plotting area gives way to the legend: k=1 (blue) ends well left of the figure's
    // edge, where it ended with the legend inside, and the legend box is drawn right of it.
    let blue = image::Rgb([31, 119, 180]);
    let blue_end = (0..png.width())
        .filter(|&x| (300..560).any(|y| *png.get_pixel(x, y) == blue))
        .max()
        .unwrap();
    assert!(blue_end < 900, "{blue_end}");
    let legend_pixels = (blue_end + 10..png.width())
        .flat_map(|x| (60..200).map(move |y| (x, y)))
        .filter(|&(x, y)| png.get_pixel(x, y).0.iter().all(|&c| c < 200))
        .count();
    assert!(legend_pixels > 50, "{legend_pixels}");
}
