//! `margin quote [--reference]`: CSV in (`spot,strike,vol,years,rate`), CSV out
//! (`call,put,delta_call,delta_put,gamma,vega,theta_call,theta_put`), each value the
//! decimal string of the core's 18-decimal result: by default from the pricer the
//! contracts use (`stylus_margin::pricer`, the numbers `RiskReader.quote` returns), with
//! `--reference` from the exact Q96 reference (`stylus_margin::black_scholes`). A row outside the pricer's domain
//! gets `error:<reason>` in every cell and the tool goes on; malformed input stops the
//! tool with a message naming the line (exit code 2).
use std::io::{BufRead, Write};

use stylus_margin::{
    black_scholes,
    decimal::{format_wad, parse_wad, ParseError},
    fixed::{Domain, MathError},
    pricer,
};

pub const HEADER_IN: &str = "spot,strike,vol,years,rate";
pub const HEADER_OUT: &str = "call,put,delta_call,delta_put,gamma,vega,theta_call,theta_put";

fn reason(e: MathError) -> &'static str {
    match e {
        MathError::Overflow => "overflow",
        MathError::DivisionByZero => "division_by_zero",
        MathError::OutOfDomain(d) => match d {
            Domain::Spot => "spot_out_of_domain",
            Domain::Strike => "strike_out_of_domain",
            Domain::Moneyness => "moneyness_out_of_domain",
            Domain::Volatility => "vol_out_of_domain",
            Domain::Time => "years_out_of_domain",
            Domain::Rate => "rate_out_of_domain",
            _ => "out_of_domain",
        },
    }
}

fn parse_err(e: ParseError) -> &'static str {
    match e {
        ParseError::Malformed => "not a decimal number",
        ParseError::TooPrecise => "more than 18 decimal places",
        ParseError::Overflow => "too large",
    }
}

/// Quotes every row of `input` into `out`.
///
/// # Errors
/// A message naming the line for a missing/wrong header, a wrong number of fields, or a
/// field that is not a decimal number.
pub fn run(input: impl BufRead, out: &mut impl Write, reference: bool) -> Result<(), String> {
    let mut rows = crate::lines(input).enumerate();
    match rows.next() {
        Some((_, Ok(h))) if h.trim() == HEADER_IN => {}
        Some((_, Ok(h))) => {
            return Err(format!(
                "line 1: expected header `{HEADER_IN}`, found `{h}`"
            ))
        }
        Some((_, Err(e))) => return Err(format!("line 1: {e}")),
        None => {
            return Err(format!(
                "line 1: empty input, expected header `{HEADER_IN}`"
            ))
        }
    }
    let w = |out: &mut dyn Write, s: &str| out.write_all(s.as_bytes()).map_err(|e| e.to_string());
    w(out, HEADER_OUT)?;
    w(out, "\n")?;
    for (i, line) in rows {
        let n = i + 1;
        let line = line.map_err(|e| format!("line {n}: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() != 5 {
            return Err(format!(
                "line {n}: expected 5 fields ({HEADER_IN}), found {}",
                fields.len()
            ));
        }
        let mut v = [0i128; 5];
        for (k, f) in fields.iter().enumerate() {
            let name = HEADER_IN.split(',').nth(k).unwrap_or("?");
            v[k] = parse_wad(f).map_err(|e| {
                format!(
                    "line {n}: field `{name}` = `{}`: {}",
                    f.trim(),
                    parse_err(e)
                )
            })?;
        }
        let quote = if reference {
            black_scholes::quote
        } else {
            pricer::quote
        };
        let row = match quote(v[0], v[1], v[2], v[3], v[4]) {
            Ok(q) => [
                q.call,
                q.put,
                q.delta_call,
                q.delta_put,
                q.gamma,
                q.vega,
                q.theta_call,
                q.theta_put,
            ]
            .map(format_wad)
            .join(","),
            Err(e) => vec![format!("error:{}", reason(e)); 8].join(","),
        };
        w(out, &row)?;
        w(out, "\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stylus_margin::fixed::WAD;

    fn run_str(s: &str) -> Result<String, String> {
        let mut out = Vec::new();
        run(s.as_bytes(), &mut out, false)?;
        Ok(String::from_utf8(out).unwrap())
    }

    #[test]
    fn quotes_rows_in_order_and_marks_domain_errors() {
        let out =
            run_str("spot,strike,vol,years,rate\n100,100,0.2,1,0.05\n100,100,0.2,1,5\n").unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], HEADER_OUT);
        // Textbook value: BS call(100, 100, 20%, 1y, 5%) = 10.450583572185565: the pricer
        // to 1e-12, the reference to 1e-15.
        assert!(lines[1].starts_with("10.450583572185"), "{}", lines[1]);
        let mut exact = Vec::new();
        run(
            "spot,strike,vol,years,rate\n100,100,0.2,1,0.05\n".as_bytes(),
            &mut exact,
            true,
        )
        .unwrap();
        let exact = String::from_utf8(exact).unwrap();
        assert!(
            exact
                .lines()
                .nth(1)
                .unwrap()
                .starts_with("10.4505835721855"),
            "{exact}"
        );
        assert_eq!(lines[1].split(',').count(), 8);
        assert_eq!(lines[2], ["error:rate_out_of_domain"; 8].join(","));
    }

    #[test]
    fn malformed_input_names_the_line_and_field() {
        let e = run_str("spot,strike,vol,years,rate\n100,100,0.2,1,0.05\n100,abc,0.2,1,0\n")
            .unwrap_err();
        assert!(e.contains("line 3") && e.contains("strike"), "{e}");
        let e = run_str("spot,strike,vol,years,rate\n100,100,0.2\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("5 fields"), "{e}");
        let e = run_str("a,b\n").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
    }

    #[test]
    fn default_is_the_on_chain_pricer_and_reference_the_exact_one() {
        let input = "spot,strike,vol,years,rate\n2000,2100,0.65,0.0833,0.05\n";
        let row = |reference| {
            let mut out = Vec::new();
            run(input.as_bytes(), &mut out, reference).unwrap();
            String::from_utf8(out)
                .unwrap()
                .lines()
                .nth(1)
                .unwrap()
                .to_string()
        };
        let args = [
            2_000 * WAD,
            2_100 * WAD,
            65 * WAD / 100,
            833 * WAD / 10_000,
            WAD / 20,
        ];
        let fmt = |q: stylus_margin::black_scholes::Quote| format_wad(q.call);
        let on_chain = pricer::quote(args[0], args[1], args[2], args[3], args[4]).unwrap();
        let exact = black_scholes::quote(args[0], args[1], args[2], args[3], args[4]).unwrap();
        assert!(row(false).starts_with(&format!("{},", fmt(on_chain))));
        assert!(row(true).starts_with(&format!("{},", fmt(exact))));
    }
}
