//! Issue 17: one list of the contracts (`contracts.txt`), and errors that decode
//! unambiguously.
//!
//! `contracts.txt` is what the scripts read; the harness's `system::CONTRACTS` and the
//! interfaces in `abi/` must be exactly its contracts.
//!
//! An integrator decodes every revert of the system with the JSON ABIs
//! merged (`docs/INTEGRATORS.md`). That is unambiguous only if every error name has one
//! signature across all of `abi/` and no two signatures share a selector; an error
//! declared in several contracts (`AccountFrozen(uint256)`, ...) is then one entry of the
//! merged ABI. Read from the generated interfaces, which `scripts/abi.sh --check` keeps
//! equal to the contracts.

use std::collections::BTreeMap;

use alloy_primitives::keccak256;

/// `(key, interface)` of each line of `contracts.txt`.
fn listed() -> Vec<(String, String)> {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts.txt")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 3, "key crate interface: {l}");
            (f[0].to_string(), f[2].to_string())
        })
        .collect()
}

#[test]
fn the_harness_and_abi_hold_exactly_the_contracts_of_the_list() {
    let listed = listed();
    let keys: Vec<&str> = listed.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, margin_harness::system::CONTRACTS.to_vec());
    let mut interfaces: Vec<String> = listed.iter().map(|(_, i)| i.clone()).collect();
    interfaces.sort();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../abi");
    for ext in ["sol", "json"] {
        let mut found: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
            .collect();
        found.sort();
        assert_eq!(found, interfaces, "abi/*.{ext}");
    }
}

/// `(contract file, name, canonical signature)` of every `error` in `abi/*.sol`.
fn errors() -> Vec<(String, String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../abi");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sol"))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        listed().len(),
        "one interface per listed contract"
    );
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            let Some(decl) = line.trim().strip_prefix("error ") else {
                continue;
            };
            let (name, rest) = decl.split_once('(').expect("error Name(...)");
            let params = rest.rsplit_once(')').expect("closing parenthesis").0;
            let types: Vec<&str> = params
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| p.split_whitespace().next().unwrap())
                .collect();
            out.push((
                file.clone(),
                name.trim().to_string(),
                format!("{}({})", name.trim(), types.join(",")),
            ));
        }
    }
    out
}

#[test]
fn every_error_name_has_one_signature_and_every_selector_one_error() {
    let errors = errors();
    assert!(errors.len() > 60, "{} errors read", errors.len());
    let mut by_name: BTreeMap<&str, BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
    let mut by_selector: BTreeMap<[u8; 4], BTreeMap<&str, Vec<&str>>> = BTreeMap::new();
    for (file, name, sig) in &errors {
        by_name
            .entry(name)
            .or_default()
            .entry(sig)
            .or_default()
            .push(file);
        let selector: [u8; 4] = keccak256(sig.as_bytes())[..4].try_into().unwrap();
        by_selector
            .entry(selector)
            .or_default()
            .entry(sig)
            .or_default()
            .push(file);
    }
    let clashes: Vec<String> = by_name
        .iter()
        .filter(|(_, sigs)| sigs.len() > 1)
        .map(|(name, sigs)| format!("{name}: {sigs:?}"))
        .collect();
    assert!(
        clashes.is_empty(),
        "one name, several signatures:\n{}",
        clashes.join("\n")
    );
    let clashes: Vec<String> = by_selector
        .iter()
        .filter(|(_, sigs)| sigs.len() > 1)
        .map(|(sel, sigs)| format!("{sel:02x?}: {sigs:?}"))
        .collect();
    assert!(
        clashes.is_empty(),
        "one selector, several errors:\n{}",
        clashes.join("\n")
    );
}
