//! 1-D targets for the frequency experiments: sums of `amplitude · sin(k x)` and
//! `amplitude · cos(k x)` terms, parsed from text or taken from presets, and sampling grids.
//!
//! On the grid of n points over [−π, π) with the right endpoint excluded, a term with integer
//! frequency k puts its whole energy in DFT bin k: that is why the experiments sample there.
//!
//! Accepted text: terms joined by `+` or `-`, each `[amplitude[*]](sin|cos)([k[*]]x)`, with
//! decimal numbers, optional spaces and an optional leading sign, e.g.
//! `"sin(x)+sin(3x)+sin(5x)"` or `"1*sin(1x) + 0.5*cos(4*x) - .25 sin(2.5 x)"`.

use std::fmt;
use std::str::FromStr;

/// The wave of a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wave {
    /// `sin(k x)`.
    Sin,
    /// `cos(k x)`.
    Cos,
}

/// One term `amplitude · wave(frequency · x)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Term {
    /// Multiplier of the wave (negative for a subtracted term).
    pub amplitude: f64,
    /// Angular frequency k in `sin(k x)`, not negative.
    pub frequency: f64,
    /// Sine or cosine.
    pub wave: Wave,
}

impl Term {
    /// The term's value at `x`.
    pub fn eval(&self, x: f64) -> f64 {
        let phase = self.frequency * x;
        self.amplitude
            * match self.wave {
                Wave::Sin => phase.sin(),
                Wave::Cos => phase.cos(),
            }
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wave = match self.wave {
            Wave::Sin => "sin",
            Wave::Cos => "cos",
        };
        write!(f, "{}*{wave}({}x)", self.amplitude, self.frequency)
    }
}

/// Names of the preset targets, for help texts and error messages.
pub const PRESETS: [&str; 2] = ["classic", "official"];

/// A target function: a non-empty sum of terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    terms: Vec<Term>,
}

impl Target {
    /// Builds a target from terms; `None` if there are none or a number is not finite or a
    /// frequency is negative.
    pub fn from_terms(terms: Vec<Term>) -> Option<Self> {
        let valid =
            |t: &Term| t.amplitude.is_finite() && t.frequency.is_finite() && t.frequency >= 0.0;
        (!terms.is_empty() && terms.iter().all(valid)).then_some(Self { terms })
    }

    /// `sin x + sin 3x + sin 5x`: the classic three-frequency demonstration.
    pub fn classic() -> Self {
        Self::unit_sines(&[1.0, 3.0, 5.0])
    }

    /// `sin x + sin 4x`: the target of the paper's official code.
    pub fn official() -> Self {
        Self::unit_sines(&[1.0, 4.0])
    }

    fn unit_sines(frequencies: &[f64]) -> Self {
        let terms = frequencies
            .iter()
            .map(|&frequency| Term {
                amplitude: 1.0,
                frequency,
                wave: Wave::Sin,
            })
            .collect();
        Self { terms }
    }

    /// The preset called `name` (see [`PRESETS`]), or `None`.
    pub fn preset(name: &str) -> Option<Self> {
        match name {
            "classic" => Some(Self::classic()),
            "official" => Some(Self::official()),
            _ => None,
        }
    }

    /// Parses a sum of terms (see the module documentation for the syntax).
    pub fn parse(text: &str) -> Result<Self, TargetError> {
        Parser::new(text).target()
    }

    /// A preset name or, failing that, an expression: what a command-line option accepts.
    pub fn preset_or_parse(text: &str) -> Result<Self, TargetError> {
        match Self::preset(text.trim()) {
            Some(target) => Ok(target),
            None => Self::parse(text),
        }
    }

    /// The terms, in input order.
    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// The target's value at `x`.
    pub fn eval(&self, x: f64) -> f64 {
        self.terms.iter().map(|t| t.eval(x)).sum()
    }

    /// The target's value at each grid point, as `f32` for the networks.
    pub fn eval_grid(&self, xs: &[f32]) -> Vec<f32> {
        xs.iter().map(|&x| self.eval(f64::from(x)) as f32).collect()
    }

    /// The highest frequency among the terms that contribute (nonzero amplitude), or `None`
    /// when none does: what a sampling grid must resolve.
    pub fn highest_frequency(&self) -> Option<f64> {
        self.terms
            .iter()
            .filter(|t| t.amplitude != 0.0)
            .map(|t| t.frequency)
            .max_by(f64::total_cmp)
    }

    /// The distinct frequencies of the terms, ascending: where the spectral tracker looks.
    pub fn frequencies(&self) -> Vec<f64> {
        let mut ks: Vec<f64> = self.terms.iter().map(|t| t.frequency).collect();
        ks.sort_by(f64::total_cmp);
        ks.dedup();
        ks
    }
}

impl FromStr for Target {
    type Err = TargetError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, term) in self.terms.iter().enumerate() {
            if i == 0 {
                term.fmt(f)?;
            } else if term.amplitude.is_sign_negative() {
                let positive = Term {
                    amplitude: -term.amplitude,
                    ..*term
                };
                write!(f, " - {positive}")?;
            } else {
                write!(f, " + {term}")?;
            }
        }
        Ok(())
    }
}

/// Where a target expression stops making sense, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError {
    /// The whole input.
    pub input: String,
    /// 1-based column (in characters) of the problem.
    pub column: usize,
    /// What the parser expected, e.g. `"'(' after sin"`.
    pub expected: String,
    /// What it found: a quoted character, or `end of input`.
    pub found: String,
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid target {:?} at column {}: expected {}, found {}",
            self.input, self.column, self.expected, self.found
        )
    }
}

impl std::error::Error for TargetError {}

/// A hand-written recursive-descent parser over the input's bytes (the grammar is ASCII;
/// any other character is reported as unexpected).
struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    fn target(mut self) -> Result<Target, TargetError> {
        let mut terms = Vec::new();
        self.skip_spaces();
        let mut sign = self.sign();
        loop {
            terms.push(self.term(sign)?);
            self.skip_spaces();
            if self.peek().is_none() {
                break;
            }
            sign = match self.sign() {
                Some(s) => Some(s),
                None => return Err(self.error("'+', '-' or the end")),
            };
        }
        // Every number was checked finite and every frequency is unsigned.
        Target::from_terms(terms).ok_or_else(|| self.error("a finite target"))
    }

    /// An optional `+` or `-` (and the spaces after it): `Some(±1)` if present.
    fn sign(&mut self) -> Option<f64> {
        let s = match self.peek()? {
            b'+' => 1.0,
            b'-' => -1.0,
            _ => return None,
        };
        self.pos += 1;
        self.skip_spaces();
        Some(s)
    }

    /// `[amplitude[*]](sin|cos)([k[*]]x)`, after an optional sign.
    fn term(&mut self, sign: Option<f64>) -> Result<Term, TargetError> {
        let amplitude = match self.number()? {
            Some(a) => {
                self.skip_spaces();
                self.eat(b'*');
                self.skip_spaces();
                a
            }
            None => 1.0,
        };
        let wave = if self.eat_word("sin") {
            Wave::Sin
        } else if self.eat_word("cos") {
            Wave::Cos
        } else {
            return Err(self.error("a term such as sin(3x), 0.5*cos(x) or 2*sin(4*x)"));
        };
        self.skip_spaces();
        self.expect(b'(', "'(' after sin or cos")?;
        self.skip_spaces();
        let frequency = match self.number()? {
            Some(k) => {
                self.skip_spaces();
                self.eat(b'*');
                self.skip_spaces();
                k
            }
            None => 1.0,
        };
        self.expect(b'x', "'x' (optionally after a frequency, as in 3x)")?;
        self.skip_spaces();
        self.expect(b')', "')'")?;
        Ok(Term {
            amplitude: sign.unwrap_or(1.0) * amplitude,
            frequency,
            wave,
        })
    }

    /// An unsigned decimal number (`3`, `0.5`, `.25`, `2.`), if one starts here.
    fn number(&mut self) -> Result<Option<f64>, TargetError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let from = p.pos;
            while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                p.pos += 1;
            }
            p.pos - from
        };
        let int_digits = digits(self);
        let mut frac_digits = 0;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            frac_digits = digits(self);
        }
        if int_digits + frac_digits == 0 {
            self.pos = start;
            return Ok(None);
        }
        let text = &self.text[start..self.pos];
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Some(v)),
            _ => {
                self.pos = start;
                Err(self.error("a number of reasonable size"))
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let found = self.text.as_bytes()[self.pos..].starts_with(word.as_bytes());
        if found {
            self.pos += word.len();
        }
        found
    }

    fn expect(&mut self, byte: u8, expected: &str) -> Result<(), TargetError> {
        if self.eat(byte) {
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    /// An error at the current position. The position is always on a character boundary:
    /// the parser only advances over ASCII bytes.
    fn error(&self, expected: &str) -> TargetError {
        let before = self.text.get(..self.pos).unwrap_or(self.text);
        let found = match self.text.get(self.pos..).and_then(|s| s.chars().next()) {
            Some(c) => format!("{c:?}"),
            None => "end of input".to_owned(),
        };
        TargetError {
            input: self.text.to_owned(),
            column: before.chars().count() + 1,
            expected: expected.to_owned(),
            found,
        }
    }
}

/// Whether a uniform grid includes the right endpoint of its interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Endpoints {
    /// `x_j = a + j(b − a)/n` for `j < n`: [a, b), the periodic grid the DFT assumes.
    Exclude,
    /// `x_j = a + j(b − a)/(n − 1)` for `j < n`: [a, b], both ends sampled.
    Include,
}

/// `n` uniformly spaced points on the interval from `a` to `b`.
///
/// Computed in `f64` from the index (no accumulated rounding). With [`Endpoints::Include`] and
/// `n == 1` the single point is `a`; `n == 0` gives an empty grid.
pub fn uniform_grid(a: f64, b: f64, n: usize, endpoints: Endpoints) -> Vec<f64> {
    let intervals = match endpoints {
        Endpoints::Exclude => n,
        Endpoints::Include => n.saturating_sub(1).max(1),
    };
    (0..n)
        .map(|j| a + (b - a) * (j as f64 / intervals as f64))
        .collect()
}

/// [`uniform_grid`] rounded to `f32`, the networks' input type.
pub fn uniform_grid_f32(a: f64, b: f64, n: usize, endpoints: Endpoints) -> Vec<f32> {
    uniform_grid(a, b, n, endpoints)
        .into_iter()
        .map(|x| x as f32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(amplitude: f64, frequency: f64, wave: Wave) -> Term {
        Term {
            amplitude,
            frequency,
            wave,
        }
    }

    fn parsed(text: &str) -> Vec<Term> {
        match Target::parse(text) {
            Ok(target) => target.terms().to_vec(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(
            parsed("sin(x)+sin(3x)+sin(5x)"),
            Target::classic().terms().to_vec()
        );
        assert_eq!(
            parsed("1*sin(1x) + 0.5*cos(4*x)"),
            vec![term(1.0, 1.0, Wave::Sin), term(0.5, 4.0, Wave::Cos)]
        );
        assert_eq!(
            parsed("  -sin(x) - .25 cos( 2.5 * x ) +2sin(4x) "),
            vec![
                term(-1.0, 1.0, Wave::Sin),
                term(-0.25, 2.5, Wave::Cos),
                term(2.0, 4.0, Wave::Sin)
            ]
        );
        assert_eq!(parsed("+3.*sin(0x)"), vec![term(3.0, 0.0, Wave::Sin)]);
    }

    #[test]
    fn display_parses_back() {
        let target = Target::parse("-0.5*cos(2.5x) + sin(3x) - 0.125*sin(7x)").unwrap();
        assert_eq!(
            target.to_string(),
            "-0.5*cos(2.5x) + 1*sin(3x) - 0.125*sin(7x)"
        );
        assert_eq!(Target::parse(&target.to_string()).unwrap(), target);
    }

    #[test]
    fn presets() {
        assert_eq!(Target::official().frequencies(), vec![1.0, 4.0]);
        assert_eq!(Target::classic().frequencies(), vec![1.0, 3.0, 5.0]);
        for name in PRESETS {
            assert!(Target::preset(name).is_some());
            assert!(Target::preset_or_parse(name).is_ok());
        }
        assert!(Target::preset("nope").is_none());
        assert_eq!(
            Target::preset_or_parse("cos(2x)").unwrap().frequencies(),
            vec![2.0]
        );
    }

    #[test]
    fn eval_and_frequencies() {
        let target: Target = "sin(x) + 0.5*cos(4x) + 2*sin(x)".parse().unwrap();
        let x = 0.7;
        let expected = 3.0 * f64::sin(x) + 0.5 * f64::cos(4.0 * x);
        assert!((target.eval(x) - expected).abs() < 1e-12);
        assert_eq!(target.frequencies(), vec![1.0, 4.0]);
        assert_eq!(target.highest_frequency(), Some(4.0));
        let silent: Target = "sin(x) + 0*cos(9x)".parse().unwrap();
        assert_eq!(silent.highest_frequency(), Some(1.0));
        assert_eq!(Target::parse("0*sin(x)").unwrap().highest_frequency(), None);
        let ys = target.eval_grid(&[0.0, 0.7]);
        assert_eq!(ys.len(), 2);
        assert!((ys[0] - 0.5).abs() < 1e-6);
    }

    /// (input, 1-based column, text the `expected` part must contain, found)
    const ERRORS: &[(&str, usize, &str, &str)] = &[
        ("", 1, "a term", "end of input"),
        ("   ", 4, "a term", "end of input"),
        ("tan(x)", 1, "a term", "'t'"),
        ("sin x", 5, "'('", "'x'"),
        ("sin(x", 6, "')'", "end of input"),
        ("sin(3y)", 6, "'x'", "'y'"),
        ("sin(-3x)", 5, "'x'", "'-'"),
        ("sin(x) sin(2x)", 8, "'+', '-' or the end", "'s'"),
        ("sin(x)+", 8, "a term", "end of input"),
        ("sin(x)+-sin(x)", 8, "a term", "'-'"),
        ("0.5*", 5, "a term", "end of input"),
        ("2**sin(x)", 3, "a term", "'*'"),
        ("sin(x)×2", 7, "'+', '-' or the end", "'×'"),
        ("é+sin(x)", 1, "a term", "'é'"),
        ("sin(é)", 5, "'x'", "'é'"),
        ("sin(.x)", 5, "'x'", "'.'"),
    ];

    #[test]
    fn errors_name_the_position_and_the_expectation() {
        for &(input, column, expected, found) in ERRORS {
            let err = Target::parse(input).expect_err(input);
            assert_eq!(err.column, column, "{err}");
            assert!(err.expected.contains(expected), "{err}");
            assert_eq!(err.found, found, "{err}");
            assert!(err.to_string().contains(&format!("column {column}")));
        }
    }

    #[test]
    fn enormous_numbers_are_refused() {
        let big = format!("{}*sin(x)", "9".repeat(400));
        let err = Target::parse(&big).unwrap_err();
        assert_eq!(err.column, 1);
        assert!(err.expected.contains("number"));
    }

    #[test]
    fn from_terms_checks() {
        assert!(Target::from_terms(vec![]).is_none());
        assert!(Target::from_terms(vec![term(f64::NAN, 1.0, Wave::Sin)]).is_none());
        assert!(Target::from_terms(vec![term(1.0, -1.0, Wave::Sin)]).is_none());
        assert!(Target::from_terms(vec![term(1.0, 2.0, Wave::Cos)]).is_some());
    }

    #[test]
    fn grids() {
        let open = uniform_grid(0.0, 1.0, 4, Endpoints::Exclude);
        assert_eq!(open, vec![0.0, 0.25, 0.5, 0.75]);
        let closed = uniform_grid(0.0, 1.0, 5, Endpoints::Include);
        assert_eq!(closed, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
        let pi = std::f64::consts::PI;
        assert_eq!(uniform_grid(-pi, pi, 3, Endpoints::Include)[2], pi);
        assert_eq!(uniform_grid(2.0, 3.0, 1, Endpoints::Include), vec![2.0]);
        assert!(uniform_grid(0.0, 1.0, 0, Endpoints::Exclude).is_empty());
        assert_eq!(
            uniform_grid_f32(0.0, 1.0, 2, Endpoints::Exclude),
            vec![0.0, 0.5]
        );
    }

    #[test]
    fn integer_frequency_lands_in_its_dft_bin() {
        // On [−π, π) with the right end excluded, sin(3x) is exactly periodic on the grid.
        let n = 64;
        let xs = uniform_grid(
            -std::f64::consts::PI,
            std::f64::consts::PI,
            n,
            Endpoints::Exclude,
        );
        let target = Target::parse("sin(3x)").unwrap();
        let power = |k: f64| {
            let (re, im) = xs.iter().enumerate().fold((0.0, 0.0), |(re, im), (j, &x)| {
                let angle = -2.0 * std::f64::consts::PI * k * j as f64 / n as f64;
                let y = target.eval(x);
                (re + y * angle.cos(), im + y * angle.sin())
            });
            (re * re + im * im).sqrt() / n as f64
        };
        assert!((power(3.0) - 0.5).abs() < 1e-9);
        assert!(power(2.0) < 1e-9 && power(4.0) < 1e-9);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,40}") {
            let _ = Target::parse(&text);
        }

        #[test]
        fn near_miss_text_never_panics(text in "[sincox()+*. 0-9-]{0,30}") {
            if let Err(e) = Target::parse(&text) {
                proptest::prop_assert!(e.column <= text.chars().count() + 1);
            }
        }
    }
}
