//! Activation refuses what nitro's WASM parser refuses, with nitro's reason: a DataCount
//! section (which `wasm-opt --enable-bulk-memory` adds and nitro's parser does not accept),
//! unknown sections, reserved names. Every deployable binary activates; the same binary with
//! a DataCount section does not. And the init price of an uncached program entry is nitro's:
//! from Stylus version 2 the cached part is not counted twice.

use margin_wasm_env::pricing::ModuleStats;
use margin_wasm_env::{activate, parse_as_nitro};
use margin_wasm_env::{Address, Env, U256};
use wasm_encoder::{DataCountSection, Encode, RawSection, Section};
use wasmparser::{Parser, Payload};

/// A minimal program: memory, one active data segment, an entrypoint returning 0.
const PROGRAM: &str = r#"
(module
  (memory (export "memory") 1 1)
  (data (i32.const 16) "hello")
  (func (export "user_entrypoint") (param i32) (result i32) (i32.const 0)))
"#;

/// `wasm` with a DataCount section (as many segments as its data section holds) inserted
/// before the code section: still a valid module, as binaryen writes it.
fn with_data_count(wasm: &[u8]) -> Vec<u8> {
    let mut segments = 0u32;
    for p in Parser::new(0).parse_all(wasm) {
        if let Payload::DataSection(r) = p.unwrap() {
            segments = r.count();
        }
    }
    let mut out = wasm[..8].to_vec();
    let mut pos = 8usize;
    let mut added = false;
    while pos < wasm.len() {
        let id = wasm[pos];
        let mut reader = wasmparser::BinaryReader::new(&wasm[pos + 1..], 0);
        let size = reader.read_var_u32().unwrap() as usize;
        let end = pos + 1 + reader.original_position() + size;
        if id == 10 && !added {
            let dc = DataCountSection { count: segments };
            out.push(dc.id());
            let mut body = Vec::new();
            dc.encode(&mut body);
            out.extend_from_slice(&body);
            added = true;
        }
        out.extend_from_slice(&wasm[pos..end]);
        pos = end;
    }
    assert!(added, "the module has a code section");
    wasmparser::Validator::new_with_features(margin_wasm_env::stylus_features())
        .validate_all(&out)
        .expect("a DataCount section keeps the module valid");
    out
}

#[test]
fn data_count_section_is_refused_with_nitros_reason() {
    let wasm = wat::parse_str(PROGRAM).unwrap();
    activate(&wasm).expect("the plain program activates");
    let err = activate(&with_data_count(&wasm)).unwrap_err();
    assert_eq!(err, "unsupported section type DataCountSection");
    // Deploying it fails the same way, and nothing is left at the address.
    let mut env = Env::new();
    let from = Address::repeat_byte(1);
    let at = Address::repeat_byte(2);
    let e = env
        .deploy_wasm_at(at, &with_data_count(&wasm), None, from)
        .unwrap_err();
    assert!(format!("{e:?}").contains("DataCountSection"), "{e:?}");
    assert!(!env.has_code(at));
}

#[test]
fn unknown_sections_and_reserved_names_are_refused() {
    let wasm = wat::parse_str(PROGRAM).unwrap();
    // An unknown section id (99) appended: refused by id (wasmparser's validator already
    // refuses it; nitro's parser would say the same).
    let mut unknown = wasm.clone();
    let raw = RawSection {
        id: 99,
        data: &[0u8; 3],
    };
    unknown.push(raw.id());
    raw.encode(&mut unknown);
    assert!(activate(&unknown).is_err());
    // Exports starting with `stylus` are reserved.
    let reserved = wat::parse_str(
        r#"(module (memory (export "memory") 1 1)
             (func (export "user_entrypoint") (param i32) (result i32) (i32.const 0))
             (func (export "stylus_x")))"#,
    )
    .unwrap();
    assert_eq!(
        parse_as_nitro(&reserved).unwrap_err(),
        "binary exports reserved symbol stylus_x"
    );
}

#[test]
fn every_deployable_binary_activates_and_is_refused_with_a_data_count_section() {
    let dir = margin_harness::system::default_deploy_dir();
    let mut names: Vec<String> = margin_harness::system::CONTRACTS
        .iter()
        .map(|c| c.to_string())
        .collect();
    names.push("token".into());
    for name in names {
        let wasm = margin_harness::system::load_wasm_from(&dir, &name);
        parse_as_nitro(&wasm).unwrap_or_else(|e| panic!("{name}: {e}"));
        activate(&wasm).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            activate(&with_data_count(&wasm)).unwrap_err(),
            "unsupported section type DataCountSection",
            "{name}"
        );
    }
}

#[test]
fn uncached_init_does_not_count_the_cached_part_twice() {
    let s = ModuleStats {
        funcs: 200,
        type_len: 600,
        wasm_len: 60_000,
        globals: 6,
        data_len: 400,
        footprint: 1,
    };
    // nitro's prover, Stylus version 2: init leaves the cached part out.
    let init = 200 * 8_252 / 1_000 + 600 * 1_059 / 1_000 + 60_000 * 1_286 / 10_000;
    assert_eq!(u64::from(s.init_cost()), init);
    // (600 type bytes x 0.00089 rounds to 0.)
    let cached = 200 * 13_420 / 100_000
        + 60_000 * 122 / 100_000
        + 6 * 1_628 / 1_000
        + 400 * 75_244 / 100_000
        + 5;
    assert_eq!(u64::from(s.cached_init_cost()), cached);
    // An uncached entry pays the cached gas and the init gas (CallProgram, version > 1).
    assert_eq!(s.cached_gas(), 352 + cached);
    assert_eq!(s.init_gas(), 8_832 + init);
}

/// Gas of `balanceOf` on the test token, called twice in one block.
fn two_calls_in_a_block(arbos: u64) -> (u64, u64) {
    let mut env = Env::new();
    env.set_arbos_version(arbos);
    let owner = Address::repeat_byte(0xAA);
    let wasm = margin_harness::system::load_wasm("token");
    let token = env
        .deploy_wasm(&wasm, Some(&U256::from(18u8).to_be_bytes::<32>()), owner)
        .unwrap();
    env.mine();
    env.auto_mine = false;
    let call = margin_wasm_env::mocks::IERC20::balanceOfCall { owner };
    let a = env.call_sol(owner, token, &call);
    let b = env.call_sol(owner, token, &call);
    assert!(a.success && b.success);
    (a.gas_used, b.gas_used)
}

#[test]
fn a_program_run_again_in_the_block_enters_cached_only_from_arbos_60() {
    let stats = {
        let mut env = Env::new();
        let wasm = margin_harness::system::load_wasm("token");
        let t = env.deploy_wasm(&wasm, Some(&[0u8; 32]), Address::repeat_byte(0xAA));
        env.program_stats(t.unwrap()).unwrap()
    };
    let (first60, second60) = two_calls_in_a_block(60);
    // The second entry skips the init gas (the cached gas is paid either way).
    assert_eq!(first60 - second60, stats.init_gas());
    let (first50, second50) = two_calls_in_a_block(50);
    assert_eq!(first50, second50);
    assert_eq!(first50, first60);
}
