//! The `margin` binary as a user runs it.
use std::io::Write;
use std::process::{Command, Stdio};

fn run(input: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_margin"))
        .arg("quote")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn quote_writes_one_row_per_input_row() {
    let (code, out, _) = run("spot,strike,vol,years,rate\n100,100,0.2,1,0.05\n100,90,0.3,0.5,0\n");
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 3);
}

#[test]
fn malformed_input_exits_2_naming_the_line() {
    let (code, _, err) = run("spot,strike,vol,years,rate\n100,100,0.2,1,0.05\n1,2,x,4,5\n");
    assert_eq!(code, 2);
    assert!(err.contains("line 3") && err.contains("vol"), "{err}");
}

#[test]
fn the_example_file_quotes() {
    let input = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/quote.csv"
    ))
    .unwrap();
    let (code, out, _) = run(&input);
    assert_eq!(code, 0);
    // The 20-year row is outside the domain and reported, not mispriced.
    assert!(out
        .lines()
        .last()
        .unwrap()
        .starts_with("error:years_out_of_domain"));
}
