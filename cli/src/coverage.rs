//! `margin coverage MODEL.toml`: the fraction of simulated moves (fat-tailed, with jumps,
//! vol moving with spot; the model in the file) whose real loss by full repricing stays
//! within the MM of the book, per structure of the seeded random books
//! (`margin_books::coverage`).
use std::process::ExitCode;

use margin_books::coverage::{book_coverage, BookCoverage, MoveModel};
use margin_books::{book_at, Rng, STRUCTURES};
use stylus_margin::margin::MarginParams;

use crate::sim::scenario::parse_duration;

pub const USAGE: &str = "usage: margin coverage MODEL.toml [--books N] [--moves M] [--seed HEX]
                       [--structure NAME] [--book I]

For each of N seeded random books (default 1,600: 100 per structure) and each horizon of
the model file, draws M moves (default: the file's `moves`) and counts those whose loss by
full repricing (the core's pricer, the horizon's decay included) stays within the book's
MM (default parameters and grid). Prints a markdown table per structure and horizon.
--structure NAME  only books of that structure;  --book I  only the I-th book, with detail.
Model file keys (see coverage/default.toml): horizons, moves, vol (\"forecast\" or a number),
vol_multiplier, tail_dof, jumps_per_year, jump_mean, jump_sd, vol_spot_beta, vol_of_vol.
Exit codes: 0 done, 2 a wrong argument or model file (the message names the key).
";

struct Args {
    model: String,
    books: usize,
    moves: Option<usize>,
    seed: u64,
    structure: Option<String>,
    book: Option<usize>,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let mut a = Args {
        model: String::new(),
        books: 1_600,
        moves: None,
        seed: 0xC0FE_2026,
        structure: None,
        book: None,
    };
    let mut it = args.iter();
    while let Some(x) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let num = |name: &str, v: String| {
            v.parse::<usize>()
                .map_err(|_| format!("{name}: `{v}` is not a number"))
        };
        match x.as_str() {
            "--books" => a.books = num("--books", value("--books")?)?,
            "--moves" => a.moves = Some(num("--moves", value("--moves")?)?),
            "--book" => a.book = Some(num("--book", value("--book")?)?),
            "--seed" => {
                let v = value("--seed")?;
                a.seed = u64::from_str_radix(v.trim_start_matches("0x"), 16)
                    .map_err(|_| format!("--seed: `{v}` is not hexadecimal"))?;
            }
            "--structure" => {
                let v = value("--structure")?;
                if !STRUCTURES.contains(&v.as_str()) {
                    return Err(format!(
                        "--structure: `{v}` is not one of: {}",
                        STRUCTURES.join(", ")
                    ));
                }
                a.structure = Some(v);
            }
            f if !f.starts_with("--") && a.model.is_empty() => a.model = f.to_string(),
            f => return Err(format!("unknown argument `{f}`")),
        }
    }
    if a.model.is_empty() {
        return Err("no model file".into());
    }
    Ok(a)
}

/// The model file: horizons, moves per book and horizon, and the move model's parameters.
#[derive(Debug)]
pub struct ModelFile {
    pub moves: usize,
    pub models: Vec<MoveModel>,
}

/// Parses a model file (TOML).
/// # Errors
/// A message naming the file and the key.
pub fn load_model(name: &str, text: &str) -> Result<ModelFile, String> {
    let t: toml::Table = text.parse().map_err(|e| format!("{name}: {e}"))?;
    let known = [
        "horizons",
        "moves",
        "vol",
        "vol_multiplier",
        "tail_dof",
        "jumps_per_year",
        "jump_mean",
        "jump_sd",
        "vol_spot_beta",
        "vol_of_vol",
    ];
    if let Some(k) = t.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!("{name}: unknown key `{k}`"));
    }
    let num = |k: &str, default: f64| -> Result<f64, String> {
        match t.get(k) {
            None => Ok(default),
            Some(toml::Value::Float(x)) => Ok(*x),
            Some(toml::Value::Integer(x)) => Ok(*x as f64),
            Some(v) => Err(format!("{name}: `{k}` = {v} is not a number")),
        }
    };
    let horizons = match t.get("horizons") {
        None => vec![3_600, 86_400],
        Some(toml::Value::Array(xs)) => xs
            .iter()
            .map(|x| match x {
                toml::Value::String(s) => parse_duration(s),
                toml::Value::Integer(n) if *n > 0 => Ok(*n as u64),
                v => Err(format!("{v} is not a duration")),
            })
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{name}: `horizons`: {e}"))?,
        Some(v) => return Err(format!("{name}: `horizons` = {v} is not a list")),
    };
    let vol = match t.get("vol") {
        None => None,
        Some(toml::Value::String(s)) if s == "forecast" => None,
        Some(_) => Some(num("vol", 0.0)?),
    };
    let moves = num("moves", 400.0)?;
    if !(1.0..=1_000_000.0).contains(&moves) || moves.fract() != 0.0 {
        return Err(format!(
            "{name}: `moves` must be a whole number in 1..1,000,000"
        ));
    }
    let dof = num("tail_dof", 4.0)?;
    if dof.fract() != 0.0 || !(0.0..=1_000.0).contains(&dof) {
        return Err(format!(
            "{name}: `tail_dof` must be 0 or a whole number from 3"
        ));
    }
    let mut models = Vec::new();
    for &horizon in &horizons {
        let m = MoveModel {
            horizon,
            vol,
            vol_multiplier: num("vol_multiplier", 1.0)?,
            tail_dof: dof as u32,
            jumps_per_year: num("jumps_per_year", 12.0)?,
            jump_mean: num("jump_mean", -0.02)?,
            jump_sd: num("jump_sd", 0.06)?,
            vol_spot_beta: num("vol_spot_beta", -2.0)?,
            vol_of_vol: num("vol_of_vol", 1.5)?,
        };
        m.validate()
            .map_err(|k| format!("{name}: `{k}` is out of range"))?;
        models.push(m);
    }
    Ok(ModelFile {
        moves: moves as usize,
        models,
    })
}

#[derive(Default, Clone, Copy)]
struct Row {
    books: usize,
    moves: usize,
    covered: usize,
    under_99: usize,
    worst_book: f64,
    worst_ratio: f64,
    /// The index of the book of `worst_ratio` (for `--book`).
    worst_at: usize,
}

impl Row {
    fn add(&mut self, i: usize, c: &BookCoverage) {
        self.merge(&Row {
            books: 1,
            moves: c.moves,
            covered: c.covered,
            under_99: usize::from(c.fraction() < 0.99),
            worst_book: c.fraction(),
            worst_ratio: c.worst_ratio,
            worst_at: i,
        });
    }

    fn merge(&mut self, r: &Row) {
        if self.books == 0 {
            self.worst_book = 1.0;
        }
        self.books += r.books;
        self.moves += r.moves;
        self.covered += r.covered;
        self.under_99 += r.under_99;
        self.worst_book = self.worst_book.min(r.worst_book);
        if r.worst_ratio > self.worst_ratio {
            (self.worst_ratio, self.worst_at) = (r.worst_ratio, r.worst_at);
        }
    }
}

fn label(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s => format!("{s}s"),
    }
}

pub fn run(args: &[String]) -> ExitCode {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let a = match parse_args(args) {
        Ok(a) => a,
        Err(e) => {
            eprint!("margin coverage: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let file = match std::fs::read_to_string(&a.model)
        .map_err(|e| format!("{}: {e}", a.model))
        .and_then(|t| load_model(&a.model, &t))
    {
        Ok(f) => f,
        Err(e) => {
            eprintln!("margin coverage: {e}");
            return ExitCode::from(2);
        }
    };
    let moves = a.moves.unwrap_or(file.moves);
    let params = MarginParams::DEFAULT;
    let mut book_rng = Rng(a.seed);
    // Moves come from their own stream, so a book's moves do not depend on the others'.
    let mut rows: Vec<Vec<Row>> = vec![vec![Row::default(); STRUCTURES.len()]; file.models.len()];
    let last = a.book.map_or(a.books, |b| b + 1);
    for i in 0..last {
        let book = book_at(&mut book_rng, i);
        if a.book.is_some_and(|b| b != i)
            || a.structure.as_deref().is_some_and(|s| s != book.structure)
        {
            continue;
        }
        let s = STRUCTURES
            .iter()
            .position(|s| *s == book.structure)
            .unwrap();
        for (h, model) in file.models.iter().enumerate() {
            let mut rng = Rng(a.seed ^ (i as u64).wrapping_mul(0x9E37_79B9) ^ model.horizon);
            match book_coverage(&book, model, &params, moves, &mut rng) {
                Ok(c) => {
                    rows[h][s].add(i, &c);
                    if a.book.is_some() {
                        println!(
                            "book {i} ({}), horizon {}: MM {:.4}, notional {:.2}, covered {}/{} ({:.2}%), worst loss/MM {:.3}",
                            book.structure,
                            label(model.horizon),
                            c.mm,
                            c.notional,
                            c.covered,
                            c.moves,
                            100.0 * c.fraction(),
                            c.worst_ratio
                        );
                    }
                }
                Err(e) => {
                    eprintln!("margin coverage: book {i} ({}): {e:?}", book.structure);
                    return ExitCode::from(1);
                }
            }
        }
        if a.book.is_some() {
            println!(
                "spot {:.4}, forecast vol {:.3}, positions {:?}, collateral {:?}",
                book.gen.spot, book.gen.forecast, book.positions, book.collateral
            );
        }
    }
    println!("| structure | horizon | books | moves | within MM | books under 99% | worst book | worst loss / MM (book) |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for (h, model) in file.models.iter().enumerate() {
        let mut all = Row::default();
        for (s, r) in rows[h].iter().enumerate() {
            if r.books == 0 {
                continue;
            }
            print_row(STRUCTURES[s], model.horizon, r);
            all.merge(r);
        }
        print_row("**all**", model.horizon, &all);
    }
    ExitCode::SUCCESS
}

fn print_row(name: &str, horizon: u64, r: &Row) {
    let frac = if r.moves == 0 {
        1.0
    } else {
        r.covered as f64 / r.moves as f64
    };
    println!(
        "| {name} | {} | {} | {} | {:.2}% | {} | {:.1}% | {:.2} (#{}) |",
        label(horizon),
        r.books,
        r.moves,
        100.0 * frac,
        r.under_99,
        100.0 * r.worst_book,
        r.worst_ratio,
        r.worst_at
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_files_name_the_wrong_key() {
        let ok = load_model("m.toml", "horizons = [\"1h\", \"1d\"]\nvol = 0.8\n").unwrap();
        assert_eq!(
            ok.models.iter().map(|m| m.horizon).collect::<Vec<_>>(),
            vec![3_600, 86_400]
        );
        assert_eq!(ok.models[1].vol, Some(0.8));
        let e = load_model("m.toml", "jump_sd = -1\n").unwrap_err();
        assert!(e.contains("`jump_sd`"), "{e}");
        let e = load_model("m.toml", "jumps = 3\n").unwrap_err();
        assert!(e.contains("unknown key `jumps`"), "{e}");
        let e = load_model("m.toml", "horizons = [\"1x\"]\n").unwrap_err();
        assert!(e.contains("`horizons`"), "{e}");
        let shipped = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../coverage/default.toml"
        ))
        .unwrap();
        load_model("default.toml", &shipped).unwrap();
    }
}
