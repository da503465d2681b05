//! Writes the Solidity interface of each contract to `abi/I<Name>.sol`, from code:
//!
//! - Functions, and the custom errors their `Result`s can return, come from the
//!   contract's compiled `#[public]` ABI: stylus-sdk 0.9's `export-abi`
//!   ([`GenerateAbi`](stylus_sdk::abi::GenerateAbi)), the same text
//!   `cargo stylus export-abi` prints.
//! - `export-abi` prints errors without parameter names, and no events and no
//!   docs. So the tool also reads the contract crate's source: the `sol!`
//!   blocks (events, errors and structs with their names, `indexed` flags and
//!   doc comments, parsed by `syn-solidity`, the parser of alloy's `sol!`),
//!   the crate doc, and the doc comments of the `#[public]` functions.
//! - Cross-check, both ways: every error `export-abi` prints (the contract's
//!   `margin_common::errors!` enum, which every public function returns) must be
//!   declared in a `sol!` block with the same types, and every error declared
//!   in the contract's `sol!` blocks (or imported from `contracts/common`) must
//!   be in that enum; otherwise the tool fails. So the interface lists exactly
//!   the errors the contract can revert with.
//!
//! - Inherited functions (`#[inherit(Owned)]`: a `#[public]` type of `contracts/common`):
//!   export-abi prints the inherited interface first and the contract's `is` it; the tool
//!   writes one interface with both, the inherited functions documented from their
//!   `#[public]` impl in `contracts/common`, and the events and errors that impl's file
//!   imports counted as the contract's.
//!
//! Usage: `abi-export [--out-dir DIR] CONTRACT...` (default DIR: `abi`,
//! relative to the workspace root). `abi-export --list` prints the known
//! contracts. Build with `--features export-abi` (`scripts/abi.sh` does).
//!
//! To add a contract: one `contract!` line in [`contracts`], its crate in this
//! crate's `Cargo.toml` (dependency and `export-abi` feature), and its key in
//! the list at the top of `scripts/abi.sh`.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt, fs,
    path::{Path, PathBuf},
    process::ExitCode,
};

use syn::{Attribute, Expr, ImplItem, Item, Lit, Meta};

/// Solidity version range of the generated interfaces.
const PRAGMA: &str = "pragma solidity ^0.8.23;";
/// Licence of the generated files (the project's).
const LICENSE: &str = "MIT";

/// Prints the `export-abi` text of a contract.
type AbiFn = fn(&mut fmt::Formatter<'_>) -> fmt::Result;

/// A contract the tool knows.
struct Contract {
    /// The key on the command line (`vault`).
    key: &'static str,
    /// The contract crate's directory, relative to the workspace root.
    crate_dir: &'static str,
    /// The storage type's name (`CollateralVault`); the interface is `I` + it.
    name: &'static str,
    abi: AbiFn,
    constructor: AbiFn,
}

#[cfg(feature = "export-abi")]
macro_rules! contract {
    ($key:literal, $dir:literal, $ty:path) => {
        Contract {
            key: $key,
            crate_dir: $dir,
            name: <$ty as stylus_sdk::abi::GenerateAbi>::NAME,
            abi: <$ty as stylus_sdk::abi::GenerateAbi>::fmt_abi,
            constructor: <$ty as stylus_sdk::abi::GenerateAbi>::fmt_constructor_signature,
        }
    };
}

/// Every contract the tool can export. One line per contract.
#[cfg(feature = "export-abi")]
fn contracts() -> Vec<Contract> {
    vec![
        contract!("vault", "contracts/vault", margin_vault::CollateralVault),
        contract!(
            "registry",
            "contracts/registry",
            margin_registry::PositionRegistry
        ),
        contract!("oracle", "contracts/oracle", margin_oracle::RiskOracle),
        contract!(
            "calculator",
            "contracts/calculator",
            margin_calculator::RiskCalculator
        ),
        contract!("reader", "contracts/reader", margin_reader::RiskReader),
        contract!("engine", "contracts/engine", margin_engine::RiskEngine),
        contract!("keeper", "contracts/keeper", margin_keeper::KeeperModule),
        contract!("lens", "contracts/lens", margin_lens::RiskLens),
    ]
}

#[cfg(not(feature = "export-abi"))]
fn contracts() -> Vec<Contract> {
    Vec::new()
}

struct Printer(AbiFn);

impl fmt::Display for Printer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.0)(f)
    }
}

/// The workspace root (two levels above this crate).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut out_dir = workspace_root().join("abi");
    let mut keys = Vec::new();
    let known = contracts();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out-dir" => match args.next() {
                Some(d) => out_dir = PathBuf::from(d),
                None => return fail("--out-dir needs a directory"),
            },
            "--list" => {
                for c in &known {
                    println!("{}\t{}\tI{}", c.key, c.crate_dir, c.name);
                }
                return ExitCode::SUCCESS;
            }
            "-h" | "--help" => {
                println!("usage: abi-export [--out-dir DIR] CONTRACT... | --list");
                return ExitCode::SUCCESS;
            }
            _ => keys.push(a),
        }
    }
    if known.is_empty() {
        return fail("built without the `export-abi` feature: run `cargo run -p abi-export --features export-abi -- ...` (scripts/abi.sh does)");
    }
    if keys.is_empty() {
        return fail("no contract given (--list shows them)");
    }
    if let Err(e) = fs::create_dir_all(&out_dir) {
        return fail(&format!("{}: {e}", out_dir.display()));
    }
    for key in keys {
        let Some(c) = known.iter().find(|c| c.key == key) else {
            return fail(&format!(
                "unknown contract `{key}`: add it to contracts() in tools/abi-export/src/main.rs (--list shows the known ones)"
            ));
        };
        let text = match render(c) {
            Ok(t) => t,
            Err(e) => return fail(&format!("{key}: {e}")),
        };
        let path = out_dir.join(format!("I{}.sol", c.name));
        if let Err(e) = fs::write(&path, text) {
            return fail(&format!("{}: {e}", path.display()));
        }
        eprintln!("abi-export: wrote {}", path.display());
    }
    ExitCode::SUCCESS
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("abi-export: {msg}");
    ExitCode::FAILURE
}

// ---------------------------------------------------------------------------
// Reading the contract crate's source
// ---------------------------------------------------------------------------

/// A documented Solidity item from a `sol!` block.
struct SolItem<T> {
    docs: Vec<String>,
    item: T,
}

/// Doc comments of `#[public]` functions by Solidity name, in source order (overloads
/// share a name).
type FnDocs = BTreeMap<String, Vec<Vec<String>>>;

/// What the source adds to `export-abi`'s text.
#[derive(Default)]
struct Source {
    crate_docs: Vec<String>,
    structs: Vec<SolItem<syn_solidity::ItemStruct>>,
    events: Vec<SolItem<syn_solidity::ItemEvent>>,
    errors: Vec<SolItem<syn_solidity::ItemError>>,
    /// Doc comments of the `#[public]` functions by Solidity name, in source
    /// order (overloads share a name).
    fn_docs: FnDocs,
    constructor_docs: Vec<String>,
    /// The types whose public functions the contract inherits (`#[inherit(Owned)]`).
    inherits: Vec<String>,
    /// Per `#[public]` type: its functions' doc comments (as `fn_docs`) and the file it
    /// is in (what an inherited type is read from, in `contracts/common`).
    public_types: BTreeMap<String, (FnDocs, PathBuf)>,
}

fn read_source(crate_dir: &Path) -> Result<Source, String> {
    let mut src = Source::default();
    let lib = crate_dir.join("src/lib.rs");
    let file = parse_rust(&lib)?;
    src.crate_docs = docs(&file.attrs);
    walk(&file.items, &lib, &mut src)?;
    add_shared(&lib, &mut src)?;
    Ok(src)
}

/// The errors and events a contract uses from `margin-common` (declared once there, in its
/// `sol!` block, for every contract that raises them): those its `lib.rs` imports with
/// `use margin_common::{...}`.
///
/// A type the contract inherits (`#[inherit(Owned)]`, a `#[public]` impl in
/// `contracts/common`) adds its functions' docs and what its file imports from the crate
/// (the events it logs, the errors it raises).
fn add_shared(lib: &Path, src: &mut Source) -> Result<(), String> {
    let mut used = imported(lib, "margin_common")?;
    if used.is_empty() {
        return Ok(());
    }
    let common_lib = workspace_root().join("contracts/common/src/lib.rs");
    let common = parse_rust(&common_lib)?;
    let mut shared = Source::default();
    walk(&common.items, &common_lib, &mut shared)?;
    for ty in &src.inherits {
        let Some((docs, file)) = shared.public_types.get(ty) else {
            return Err(format!(
                "{}: inherits {ty}, which has no #[public] impl in contracts/common",
                lib.display()
            ));
        };
        for (name, d) in docs {
            if src.fn_docs.contains_key(name) {
                return Err(format!(
                    "{}: function {name} is both the contract's and inherited from {ty}",
                    lib.display()
                ));
            }
            src.fn_docs.insert(name.clone(), d.clone());
        }
        used.extend(imported(file, "crate")?);
    }
    for e in shared.errors {
        let name = e.item.name.to_string();
        if used.contains(&name) && !src.errors.iter().any(|x| x.item.name == name) {
            src.errors.push(e);
        }
    }
    for e in shared.events {
        let name = e.item.name.to_string();
        if used.contains(&name) && !src.events.iter().any(|x| x.item.name == name) {
            src.events.push(e);
        }
    }
    Ok(())
}

/// The names a file imports from `root` (`use margin_common::{..}`, `use crate::{..}`).
fn imported(file: &Path, root: &str) -> Result<Vec<String>, String> {
    fn leaves(tree: &syn::UseTree, out: &mut Vec<String>) {
        match tree {
            syn::UseTree::Path(p) => leaves(&p.tree, out),
            syn::UseTree::Name(n) => out.push(n.ident.to_string()),
            syn::UseTree::Rename(r) => out.push(r.ident.to_string()),
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| leaves(t, out)),
            syn::UseTree::Glob(_) => {}
        }
    }
    let mut used = Vec::new();
    for item in &parse_rust(file)?.items {
        if let Item::Use(u) = item {
            if let syn::UseTree::Path(p) = &u.tree {
                if p.ident == root {
                    leaves(&p.tree, &mut used);
                }
            }
        }
    }
    Ok(used)
}

fn parse_rust(path: &Path) -> Result<syn::File, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    syn::parse_file(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Whether `attrs` hold `#[cfg(test)]` (test-only code is not the contract).
fn is_test_only(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
    })
}

/// The text of the `///` / `//!` comments in `attrs`, one entry per line.
fn docs(attrs: &[Attribute]) -> Vec<String> {
    let mut out = Vec::new();
    for a in attrs {
        if let Meta::NameValue(nv) = &a.meta {
            if nv.path.is_ident("doc") {
                if let Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(s), ..
                }) = &nv.value
                {
                    let text = s.value();
                    if text.trim().is_empty() {
                        out.push(String::new());
                    }
                    for line in text.lines() {
                        out.push(
                            line.strip_prefix(' ')
                                .unwrap_or(line)
                                .trim_end()
                                .to_string(),
                        );
                    }
                }
            }
        }
    }
    out
}

/// Rust's snake_case name as Solidity camelCase, as stylus-sdk names functions.
fn camel(name: &str) -> String {
    let mut out = String::new();
    for (i, part) in name.split('_').filter(|p| !p.is_empty()).enumerate() {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            if i == 0 {
                out.extend(first.to_lowercase());
            } else {
                out.extend(first.to_uppercase());
            }
            out.push_str(&chars.as_str().to_lowercase());
        }
    }
    out
}

/// `#[selector(name = "...")]`, if any.
fn selector_override(attrs: &[Attribute]) -> Option<String> {
    let a = attrs.iter().find(|a| a.path().is_ident("selector"))?;
    let mut name = None;
    let _ = a.parse_nested_meta(|m| {
        if m.path.is_ident("name") {
            let s: syn::LitStr = m.value()?.parse()?;
            name = Some(s.value());
        }
        Ok(())
    });
    name
}

fn walk(items: &[Item], file: &Path, src: &mut Source) -> Result<(), String> {
    for item in items {
        match item {
            Item::Mod(m) if !is_test_only(&m.attrs) => match &m.content {
                Some((_, inner)) => walk(inner, file, src)?,
                None => {
                    let child = module_file(file, &m.ident.to_string())?;
                    let parsed = parse_rust(&child)?;
                    walk(&parsed.items, &child, src)?;
                }
            },
            Item::Macro(m) if m.mac.path.segments.last().is_some_and(|s| s.ident == "sol") => {
                let sol: syn_solidity::File = syn::parse2(m.mac.tokens.clone())
                    .map_err(|e| format!("{}: sol! block: {e}", file.display()))?;
                for it in sol.items {
                    match it {
                        syn_solidity::Item::Struct(s) => src.structs.push(SolItem {
                            docs: docs(&s.attrs),
                            item: s,
                        }),
                        syn_solidity::Item::Event(e) => src.events.push(SolItem {
                            docs: docs(&e.attrs),
                            item: e,
                        }),
                        syn_solidity::Item::Error(e) => src.errors.push(SolItem {
                            docs: docs(&e.attrs),
                            item: e,
                        }),
                        // Interfaces of other contracts, functions, ...: not this
                        // contract's ABI.
                        _ => {}
                    }
                }
            }
            Item::Impl(imp)
                if !is_test_only(&imp.attrs)
                    && imp.attrs.iter().any(|a| a.path().is_ident("public")) =>
            {
                for a in imp.attrs.iter().filter(|a| a.path().is_ident("inherit")) {
                    let types = a
                        .parse_args_with(
                            syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
                        )
                        .map_err(|e| format!("{}: #[inherit]: {e}", file.display()))?;
                    for t in types {
                        if let Some(last) = t.segments.last() {
                            src.inherits.push(last.ident.to_string());
                        }
                    }
                }
                let mut own = BTreeMap::new();
                for ii in &imp.items {
                    if let ImplItem::Fn(f) = ii {
                        let d = docs(&f.attrs);
                        if f.attrs.iter().any(|a| a.path().is_ident("constructor")) {
                            src.constructor_docs = d;
                            continue;
                        }
                        let name = selector_override(&f.attrs)
                            .unwrap_or_else(|| camel(&f.sig.ident.to_string()));
                        own.entry(name.clone())
                            .or_insert_with(Vec::new)
                            .push(d.clone());
                        src.fn_docs.entry(name).or_default().push(d);
                    }
                }
                if let syn::Type::Path(tp) = &*imp.self_ty {
                    if let Some(last) = tp.path.segments.last() {
                        src.public_types
                            .insert(last.ident.to_string(), (own, file.to_path_buf()));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The file of `mod name;` declared in `parent`.
fn module_file(parent: &Path, name: &str) -> Result<PathBuf, String> {
    let dir = parent.parent().unwrap_or(Path::new("."));
    let stem = parent.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let base = if matches!(stem, "lib" | "main" | "mod") {
        dir.to_path_buf()
    } else {
        dir.join(stem)
    };
    for cand in [
        base.join(format!("{name}.rs")),
        base.join(name).join("mod.rs"),
    ] {
        if cand.exists() {
            return Ok(cand);
        }
    }
    Err(format!(
        "module `{name}` of {}: file not found",
        parent.display()
    ))
}

// ---------------------------------------------------------------------------
// Writing the interface
// ---------------------------------------------------------------------------

/// Rust doc text as Solidity NatSpec lines (`/// ...`) at `indent`.
fn natspec(out: &mut String, docs: &[String], indent: &str) {
    // Drop leading and trailing blank lines.
    let start = docs
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(docs.len());
    let end = docs
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(start, |i| i + 1);
    for line in &docs[start..end] {
        // Rustdoc links [`x`] read as `x`, `Error::X` as the Solidity error `X`;
        // an `@` would start a NatSpec tag.
        let line = line
            .replace("[`", "`")
            .replace("`]", "`")
            .replace("`Error::", "`")
            .replace('@', "(at)");
        if line.is_empty() {
            out.push_str(indent);
            out.push_str("///\n");
        } else {
            out.push_str(&format!("{indent}/// {line}\n"));
        }
    }
}

/// The parameter types of `error Name(t1, t2)` / `error Name(t1 a, t2 b)`.
fn error_key(name: &str, params: &str) -> String {
    let types: Vec<&str> = params
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.split_whitespace().next().unwrap_or(p))
        .collect();
    format!("{name}({})", types.join(","))
}

/// Splits `error Name(params);` into its name and parameter text.
fn split_decl<'a>(line: &'a str, keyword: &str) -> Option<(&'a str, &'a str)> {
    let rest = line.strip_prefix(keyword)?.trim_start();
    let open = rest.find('(')?;
    let close = rest.rfind(')')?;
    Some((rest[..open].trim(), &rest[open + 1..close]))
}

/// Solidity reserved words that alloy's `sol!` accepts as names but solc does not.
const RESERVED: &[&str] = &[
    "after",
    "alias",
    "apply",
    "auto",
    "byte",
    "case",
    "copyof",
    "default",
    "define",
    "final",
    "implements",
    "in",
    "inline",
    "let",
    "macro",
    "match",
    "mutable",
    "null",
    "of",
    "partial",
    "promise",
    "reference",
    "relocatable",
    "sealed",
    "sizeof",
    "static",
    "supports",
    "switch",
    "typedef",
    "typeof",
    "var",
    "is",
    "contract",
    "interface",
    "address",
    "bool",
    "int",
    "uint",
];

/// A parameter name solc accepts: a reserved word gets a leading `_`, as
/// stylus-sdk's export-abi does for function arguments. Names do not change
/// selectors or encodings.
fn sol_name(name: &str, what: &str) -> String {
    if RESERVED.contains(&name) {
        eprintln!(
            "abi-export: {what}: parameter `{name}` is a Solidity reserved word, written as `_{name}` (rename it in the sol! block)"
        );
        format!("_{name}")
    } else {
        name.to_string()
    }
}

fn declaration(v: &syn_solidity::VariableDeclaration, indexed: bool, what: &str) -> String {
    let mut out = v.ty.to_string();
    if indexed {
        out.push_str(" indexed");
    }
    if let Some(n) = &v.name {
        out.push(' ');
        out.push_str(&sol_name(&n.to_string(), what));
    }
    out
}

fn error_decl(e: &syn_solidity::ItemError) -> String {
    let what = format!("error {}", e.name);
    let params: Vec<String> = e
        .parameters
        .iter()
        .map(|p| declaration(p, false, &what))
        .collect();
    format!("error {}({});", e.name, params.join(", "))
}

fn event_decl(e: &syn_solidity::ItemEvent) -> String {
    let what = format!("event {}", e.name);
    let params: Vec<String> = e
        .parameters
        .iter()
        .map(|p| {
            let v = syn_solidity::VariableDeclaration {
                attrs: Vec::new(),
                ty: p.ty.clone(),
                storage: None,
                name: p.name.clone(),
            };
            declaration(&v, p.indexed.is_some(), &what)
        })
        .collect();
    let anonymous = if e.is_anonymous() { " anonymous" } else { "" };
    format!("event {}({}){anonymous};", e.name, params.join(", "))
}

/// Splits `a, b[] memory, (c, d)` at top-level commas.
fn split_top(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for ch in list.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Whether a function returns several values of which one is dynamic. stylus-sdk 0.9.0
/// encodes a public function's return with `abi_encode` of its Rust type: for such a tuple
/// that is one dynamic tuple (a leading offset word), not the several return values
/// Solidity's `returns (a, b[] memory)` reads (stylus-sdk-rs issue 308, fixed by its PR 328
/// after 0.9). The interface would then describe bytes the contract does not send, so the
/// export fails: such a function returns a named `sol!` struct
/// (`margin_common::abi_struct!`), whose encoding is the same one tuple.
fn several_with_a_dynamic_one(line: &str) -> bool {
    let Some(at) = line.find(" returns (") else {
        return false;
    };
    let Some(inner) = line[at + " returns (".len()..].strip_suffix(");") else {
        return false;
    };
    let values = split_top(inner);
    values.len() >= 2 && values.iter().any(|v| v.ends_with(" memory"))
}

/// The section a state-changing function's doc lacks, if any: every function that is not
/// `view` or `pure` documents what it reverts with (`# Errors`) and logs (`# Events`).
fn missing_sections(line: &str, docs: &[String]) -> Option<&'static str> {
    if line.contains(" view") || line.contains(" pure") {
        return None;
    }
    ["Errors", "Events"]
        .into_iter()
        .find(|s| !docs.iter().any(|d| d.trim() == format!("# {s}")))
}

fn render(c: &Contract) -> Result<String, String> {
    let root = workspace_root();
    let src = read_source(&root.join(c.crate_dir))?;
    let exported = Printer(c.abi).to_string();
    let constructor = Printer(c.constructor).to_string();
    let iface = format!("I{}", c.name);

    let declared: BTreeMap<String, usize> = src
        .errors
        .iter()
        .enumerate()
        .map(|(i, e)| {
            (
                error_key(&e.item.name.to_string(), &e.item.parameters.to_string()),
                i,
            )
        })
        .collect();
    let struct_names: BTreeSet<String> = src
        .structs
        .iter()
        .map(|s| s.item.name.to_string())
        .collect();

    let mut functions = String::new();
    let mut returned = BTreeSet::new();
    let mut seen_fn: BTreeMap<String, usize> = BTreeMap::new();
    let mut undocumented = Vec::new();
    let mut incomplete = Vec::new();
    let mut saw_interface = false;
    for raw in exported.lines() {
        let line = raw.trim();
        if line.is_empty() || line == "}" {
            continue;
        }
        // An inherited type's interface comes first (`interface IOwned {..}`), then the
        // contract's (`interface IRiskOracle is IOwned {..}`): one interface here, with
        // every function and error.
        if line.starts_with("interface ") {
            saw_interface = true;
            continue;
        }
        if let Some((name, _)) = split_decl(line, "function") {
            if several_with_a_dynamic_one(line) {
                return Err(format!(
                    "{iface}: {name} returns several values with a dynamic one, which stylus-sdk 0.9 encodes as one tuple that Solidity's several returns do not read: return a named sol! struct (margin_common::abi_struct!)"
                ));
            }
            let n = seen_fn.entry(name.to_string()).or_insert(0);
            match src.fn_docs.get(name).and_then(|d| d.get(*n)) {
                Some(d) if !d.is_empty() => {
                    if let Some(missing) = missing_sections(line, d) {
                        incomplete.push(format!("{name} (# {missing})"));
                    }
                    natspec(&mut functions, d, "    ")
                }
                _ => undocumented.push(name.to_string()),
            }
            *n += 1;
            functions.push_str(&format!("    {line}\n\n"));
            continue;
        }
        if let Some((name, params)) = split_decl(line, "error") {
            let key = error_key(name, params);
            if declared.contains_key(&key) {
                returned.insert(key);
            } else {
                return Err(format!(
                    "{iface}: error {key} is in the contract's `errors!` enum but declared in no sol! block of {} or of contracts/common it imports",
                    c.crate_dir
                ));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("struct ") {
            let name = rest.split_whitespace().next().unwrap_or_default();
            if struct_names.contains(name) {
                continue;
            }
        }
        return Err(format!("unexpected line in export-abi output: {line}"));
    }
    if !saw_interface {
        return Err("export-abi printed no interface".into());
    }
    if !incomplete.is_empty() {
        return Err(format!(
            "{iface}: state-changing functions whose doc lacks a section (docs/CONVENTIONS.md): {}",
            incomplete.join(", ")
        ));
    }
    for f in &undocumented {
        eprintln!("abi-export: {iface}: function {f} has no doc comment");
    }

    let mut out = String::new();
    out.push_str(&format!(
        "// SPDX-License-Identifier: {LICENSE}\n{PRAGMA}\n\n"
    ));
    out.push_str(&format!(
        "// GENERATED by tools/abi-export from {dir}: do not edit. Regenerate with scripts/abi.sh.\n\
         // Functions and the errors they return: stylus-sdk export-abi; events, errors and structs\n\
         // with names and docs: the sol! blocks of {dir}/src; docs: its Rust doc comments.\n",
        dir = c.crate_dir
    ));
    let ctor = constructor.trim();
    if !ctor.is_empty() {
        out.push_str(&format!(
            "// Deployment: the Stylus constructor `{ctor}` runs once, at deployment.\n"
        ));
    }
    out.push('\n');
    natspec(&mut out, &src.crate_docs, "");
    out.push_str(&format!("interface {iface} {{\n"));

    if !src.structs.is_empty() {
        out.push_str("    // ---- Structs ----\n\n");
        for s in &src.structs {
            natspec(&mut out, &s.docs, "    ");
            out.push_str(&format!("    struct {} {{\n", s.item.name));
            let what = format!("struct {}", s.item.name);
            for f in s.item.fields.iter() {
                out.push_str(&format!("        {};\n", declaration(f, false, &what)));
            }
            out.push_str("    }\n\n");
        }
    }
    if !src.events.is_empty() {
        out.push_str("    // ---- Events ----\n\n");
        for e in &src.events {
            natspec(&mut out, &e.docs, "    ");
            out.push_str(&format!("    {}\n\n", event_decl(&e.item)));
        }
    }
    out.push_str("    // ---- Errors ----\n\n");
    let not_returned: Vec<String> = src
        .errors
        .iter()
        .map(|e| e.item.name.to_string())
        .filter(|n| {
            !returned
                .iter()
                .any(|k| k.split('(').next() == Some(n.as_str()))
        })
        .collect();
    if !not_returned.is_empty() {
        // Every function returns the contract's `errors!` enum, which lists exactly what
        // it can raise: an error declared but not listed is stale, or missing from the
        // enum.
        return Err(format!(
            "{iface}: {} error(s) declared in sol! blocks are in no public function's error type (the contract's `errors!` enum): {}",
            not_returned.len(),
            not_returned.join(", ")
        ));
    }
    for e in &src.errors {
        natspec(&mut out, &e.docs, "    ");
        out.push_str(&format!("    {}\n\n", error_decl(&e.item)));
    }
    out.push_str("    // ---- Functions ----\n\n");
    out.push_str(&functions);
    // One newline before the closing brace, not two.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out.push_str("}\n");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_matches_stylus_names() {
        assert_eq!(camel("set_haircut_params"), "setHaircutParams");
        assert_eq!(camel("owner"), "owner");
        assert_eq!(camel("get_account_state"), "getAccountState");
    }

    #[test]
    fn error_key_ignores_names() {
        assert_eq!(
            error_key("E", "uint256 account, address caller"),
            error_key("E", "uint256, address")
        );
        assert_eq!(error_key("ZeroAmount", ""), "ZeroAmount()");
    }

    #[test]
    fn several_returns_with_a_dynamic_one_are_refused() {
        assert!(several_with_a_dynamic_one(
            "function getPositions(uint256 account) external view returns (uint256[] memory, int256);"
        ));
        assert!(!several_with_a_dynamic_one(
            "function f() external returns (uint256, int256);"
        ));
        assert!(!several_with_a_dynamic_one(
            "function f() external returns (uint256[] memory);"
        ));
        assert!(!several_with_a_dynamic_one(
            "function f() external view returns (Positions memory);"
        ));
    }

    #[test]
    fn state_changing_functions_need_errors_and_events() {
        let both: Vec<String> = vec![
            "Sets it.".into(),
            "# Errors".into(),
            "`X`.".into(),
            "# Events".into(),
            "`Y`.".into(),
        ];
        let no_events: Vec<String> = vec!["Sets it.".into(), "# Errors".into(), "`X`.".into()];
        let setter = "function setX(uint256 x) external;";
        assert_eq!(missing_sections(setter, &both), None);
        assert_eq!(missing_sections(setter, &no_events), Some("Events"));
        assert_eq!(missing_sections(setter, &both[..1]), Some("Errors"));
        assert_eq!(
            missing_sections("function x() external view returns (uint256);", &both[..1]),
            None
        );
    }

    #[test]
    fn natspec_rewrites_links_and_at_signs() {
        let mut s = String::new();
        natspec(
            &mut s,
            &["".into(), "See [`Error::X`] @here.".into(), "".into()],
            "",
        );
        assert_eq!(s, "/// See `X` (at)here.\n");
    }
}
