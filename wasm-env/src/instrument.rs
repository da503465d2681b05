//! Activation: checks a WASM binary against the rules Stylus activation enforces, and rewrites
//! it the way nitro instruments a program before running it:
//!
//! - **ink meter**: before every basic block (a run of operators ending with `end`, `else`,
//!   `return`, `loop`, `br`, `br_if`, `br_table`, `if`, `call` or `call_indirect`), a header
//!   checks that the ink left covers the block's whole cost plus [`INK_HEADER_COST`], traps
//!   with the "out of ink" status if not, and subtracts it. The block is paid in full on entry.
//! - **dynamic meter**: `memory.fill` and `memory.copy` are charged 100 ink per byte before
//!   they run.
//! - **heap bound**: `memory.grow` is preceded by a call of `vm_hooks.pay_for_memory_grow`
//!   with the same page count, which charges the memory model's gas.
//!
//! The instructions the instrumentation inserts are not metered themselves (as in nitro, where
//! the meter middleware sees only the original operators). nitro's stack-depth checker is not
//! reproduced (see the crate docs).

use crate::pricing::{
    ends_basic_block, opcode_ink, ModuleStats, INK_HEADER_COST, MAX_WASM_SIZE, MEMORY_COPY_INK,
    MEMORY_FILL_INK, PAGE_LIMIT,
};
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, ExportKind, ExportSection, Function, GlobalSection,
    GlobalType, Instruction, RawSection, ValType,
};
use wasmparser::{
    ExternalKind, FuncType, Operator, Parser, Payload, TypeRef, Validator, WasmFeatures,
};

/// Prefix of the per-function ink counters [`set_profiling`] adds (`prof<i>` for the
/// i-th function defined by the module).
pub const PROFILE_PREFIX: &str = "prof";

thread_local! {
    static PROFILING: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// Profiling mode for programs activated from now on (this thread): each defined
/// function gets an exported i64 global that adds up the ink of every basic block it
/// runs (self cost, callees excluded); [`crate::take_profile`] collects them. Metering
/// and gas are unchanged; only for finding where a program spends its ink.
pub fn set_profiling(on: bool) {
    PROFILING.with(|p| p.set(on));
}

/// Whether [`set_profiling`] is on (this thread).
pub(crate) fn profiling() -> bool {
    PROFILING.with(|p| p.get())
}

/// Export name of the ink-left global the instrumentation adds.
pub const INK_LEFT: &str = "stylus_ink_left";
/// Export name of the ink-status global (1 = out of ink).
pub const INK_STATUS: &str = "stylus_ink_status";

/// An activated program: the instrumented WASM and what activation measured.
#[derive(Clone, Debug)]
pub struct Activated {
    /// The instrumented module.
    pub wasm: Vec<u8>,
    /// What prices the program's init.
    pub stats: ModuleStats,
    /// The module's function imports, as `(module, name)`.
    pub imports: Vec<(String, String)>,
}

/// The WASM features activation accepts: the MVP with mutable globals, sign extension,
/// saturating float-to-int and bulk memory; no reference types, no multi-value (rejected from
/// Stylus version 3 / ArbOS 60), no SIMD, no threads. Float opcodes validate but cost
/// `u64::MAX` ink, so they can never execute.
pub fn stylus_features() -> WasmFeatures {
    WasmFeatures::MUTABLE_GLOBAL
        | WasmFeatures::SATURATING_FLOAT_TO_INT
        | WasmFeatures::SIGN_EXTENSION
        | WasmFeatures::BULK_MEMORY
        | WasmFeatures::FLOATS
}

/// Largest counts nitro's `parse_user` accepts (its anti-DoS limits).
const NITRO_LIMITS: [(&str, usize); 7] = [
    ("datas", 128),
    ("elements", 128),
    ("exports", 1024),
    ("functions", 4096),
    ("imports", 513),
    ("locals", 348),
    ("opcodes in func body", 65_536),
];

/// What nitro's WASM parser (`crates/prover/src/binary.rs`: `parse` and `parse_user`)
/// refuses beyond validation, with its reasons: any section but custom, type, import,
/// function, table, memory, global, export, start, element, code and data (a DataCount
/// section, id 12, which `wasm-opt --enable-bulk-memory` adds, fails with `unsupported
/// section type DataCountSection`); imports of anything but functions; non-constant global
/// initializers; the same import with two signatures; exporting an import's name; names
/// starting with `stylus`; and its count limits.
pub fn parse_as_nitro(wasm: &[u8]) -> Result<(), String> {
    let e = |e: wasmparser::BinaryReaderError| e.to_string();
    let limit = |name: &str, count: usize| {
        let (_, max) = NITRO_LIMITS
            .iter()
            .find(|l| l.0 == name)
            .expect("a named limit");
        if count > *max {
            return Err(format!("too many wasm {name}: {count} > {max}"));
        }
        Ok(())
    };
    let mut imports: Vec<(String, String, u32)> = Vec::new();
    let mut exports: Vec<String> = Vec::new();
    let (mut datas, mut elements, mut funcs) = (0usize, 0usize, 0usize);
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(e)? {
            Payload::Version { num, .. } if num != 1 => {
                return Err(format!("wasm format version not supported {num}"))
            }
            Payload::Version { .. }
            | Payload::TypeSection(_)
            | Payload::FunctionSection(_)
            | Payload::TableSection(_)
            | Payload::MemorySection(_)
            | Payload::StartSection { .. }
            | Payload::CodeSectionStart { .. }
            | Payload::CustomSection(_)
            | Payload::End(_) => {}
            Payload::ImportSection(r) => {
                for imp in r {
                    let imp = imp.map_err(e)?;
                    let TypeRef::Func(ty) = imp.ty else {
                        return Err(format!("unsupported import kind {:?}", imp.ty));
                    };
                    if let Some(prior) = imports
                        .iter()
                        .find(|(m, n, _)| m == imp.module && n == imp.name)
                    {
                        if prior.2 != ty {
                            return Err(format!(
                                "inconsistent imports for {} {}",
                                imp.module, imp.name
                            ));
                        }
                    }
                    imports.push((imp.module.to_string(), imp.name.to_string(), ty));
                }
            }
            Payload::GlobalSection(r) => {
                for g in r {
                    let mut init = g.map_err(e)?.init_expr.get_operators_reader();
                    let constant = matches!(
                        init.read().map_err(e)?,
                        Operator::I32Const { .. }
                            | Operator::I64Const { .. }
                            | Operator::F32Const { .. }
                            | Operator::F64Const { .. }
                    ) && matches!(init.read().map_err(e)?, Operator::End)
                        && init.eof();
                    if !constant {
                        return Err("Non-constant global initializer".into());
                    }
                }
            }
            Payload::ExportSection(r) => {
                for x in r {
                    exports.push(x.map_err(e)?.name.to_string());
                }
            }
            Payload::ElementSection(r) => elements += r.count() as usize,
            Payload::DataSection(r) => datas += r.count() as usize,
            Payload::CodeSectionEntry(body) => {
                funcs += 1;
                let mut locals = 0usize;
                for l in body.get_locals_reader().map_err(e)? {
                    locals += l.map_err(e)?.0 as usize;
                }
                limit("locals", locals)?;
                let mut ops = body.get_operators_reader().map_err(e)?;
                let mut n = 0usize;
                while !ops.eof() {
                    ops.read().map_err(e)?;
                    n += 1;
                }
                limit("opcodes in func body", n)?;
            }
            Payload::UnknownSection { id, .. } => {
                return Err(format!("unsupported unknown section type {id}"))
            }
            other => {
                // nitro prints the payload's Debug form; its variant name is the reason.
                let name = format!("{other:?}");
                let name = name
                    .split([' ', '(', '{'])
                    .next()
                    .unwrap_or("?")
                    .to_string();
                return Err(format!("unsupported section type {name}"));
            }
        }
    }
    limit("datas", datas)?;
    limit("elements", elements)?;
    limit("exports", exports.len())?;
    limit("functions", funcs)?;
    limit("imports", imports.len())?;
    // An export named like an import (after the last `__`), and reserved names.
    let exported: Vec<&str> = exports
        .iter()
        .map(|x| x.rsplit("__").next().unwrap_or(x))
        .collect();
    if let Some((_, name, _)) = imports.iter().find(|i| exported.contains(&i.1.as_str())) {
        return Err(format!(
            "binary exports an import with the same name {name}"
        ));
    }
    if let Some(name) = exported.iter().find(|x| x.starts_with("stylus")) {
        return Err(format!("binary exports reserved symbol {name}"));
    }
    if let Some((_, name, _)) = imports.iter().find(|i| i.1.starts_with("stylus")) {
        return Err(format!("binary imports reserved symbol {name}"));
    }
    Ok(())
}

/// Checks `wasm` as activation would and instruments it.
pub fn activate(wasm: &[u8]) -> Result<Activated, String> {
    if wasm.len() > MAX_WASM_SIZE {
        return Err(format!(
            "wasm is {} bytes, over the {} byte limit",
            wasm.len(),
            MAX_WASM_SIZE
        ));
    }
    Validator::new_with_features(stylus_features())
        .validate_all(wasm)
        .map_err(|e| format!("invalid wasm for Stylus: {e}"))?;
    parse_as_nitro(wasm)?;

    let mut types: Vec<FuncType> = Vec::new();
    let mut func_types: Vec<u32> = Vec::new(); // type index of each function (imports first)
    let mut imported_funcs = 0u32;
    let mut imported_globals = 0u32;
    let mut defined_globals = 0u32;
    let mut imports = Vec::new();
    let mut pay_func: Option<u32> = None;
    let mut memory: Option<(u64, Option<u64>)> = None;
    let mut exports: Vec<(String, ExternalKind, u32)> = Vec::new();
    let mut data_len = 0u64;
    let mut funcs = 0u64;

    // First pass: everything instrumentation needs to know before the code section.
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(|e| e.to_string())? {
            Payload::TypeSection(r) => {
                for ty in r.into_iter_err_on_gc_types() {
                    types.push(ty.map_err(|e| e.to_string())?);
                }
            }
            Payload::ImportSection(r) => {
                for imp in r {
                    let imp = imp.map_err(|e| e.to_string())?;
                    match imp.ty {
                        TypeRef::Func(ty) => {
                            if imp.module != "vm_hooks" && imp.module != "console" {
                                return Err(format!(
                                    "import {}.{} is outside vm_hooks",
                                    imp.module, imp.name
                                ));
                            }
                            if imp.module == "vm_hooks" && imp.name == "pay_for_memory_grow" {
                                pay_func = Some(imported_funcs);
                            }
                            func_types.push(ty);
                            imported_funcs += 1;
                            imports.push((imp.module.to_string(), imp.name.to_string()));
                        }
                        TypeRef::Global(_) => imported_globals += 1,
                        _ => {
                            return Err(format!(
                                "import {}.{} is not a function",
                                imp.module, imp.name
                            ))
                        }
                    }
                }
            }
            Payload::FunctionSection(r) => {
                for ty in r {
                    func_types.push(ty.map_err(|e| e.to_string())?);
                }
            }
            Payload::MemorySection(r) => {
                for m in r {
                    let m = m.map_err(|e| e.to_string())?;
                    if memory.is_some() {
                        return Err("more than one memory".into());
                    }
                    memory = Some((m.initial, m.maximum));
                }
            }
            Payload::GlobalSection(r) => defined_globals = r.count(),
            Payload::ExportSection(r) => {
                for e in r {
                    let e = e.map_err(|e| e.to_string())?;
                    exports.push((e.name.to_string(), e.kind, e.index));
                }
            }
            Payload::StartSection { .. } => {
                return Err("programs may not have a start function".into())
            }
            Payload::CodeSectionEntry(_) => funcs += 1,
            Payload::DataSection(r) => {
                // nitro sums each segment's byte range in the binary
                for d in r {
                    data_len += d.map_err(|e| e.to_string())?.range.len() as u64;
                }
            }
            Payload::ElementSection(r) => {
                for e in r {
                    data_len += e.map_err(|e| e.to_string())?.range.len() as u64;
                }
            }
            _ => {}
        }
    }

    let (min_pages, max_pages) = memory.ok_or("the program has no memory")?;
    if min_pages > PAGE_LIMIT as u64 {
        return Err(format!(
            "memory of {min_pages} pages exceeds the bound of {PAGE_LIMIT}"
        ));
    }
    let find_export = |name: &str, kind: ExternalKind| {
        exports
            .iter()
            .find(|(n, k, _)| n == name && *k == kind)
            .map(|(_, _, i)| *i)
    };
    find_export("memory", ExternalKind::Memory).ok_or("missing export `memory`")?;
    let entry = find_export("user_entrypoint", ExternalKind::Func)
        .ok_or("missing export `user_entrypoint`")?;
    let entry_ty = &types[func_types[entry as usize] as usize];
    if entry_ty.params() != [wasmparser::ValType::I32]
        || entry_ty.results() != [wasmparser::ValType::I32]
    {
        return Err("user_entrypoint must have type (i32) -> i32".into());
    }
    let growable = max_pages != Some(min_pages);
    if growable {
        let idx =
            pay_func.ok_or("growable memory needs the import vm_hooks.pay_for_memory_grow")?;
        let ty = &types[func_types[idx as usize] as usize];
        if ty.params() != [wasmparser::ValType::I32] || !ty.results().is_empty() {
            return Err("vm_hooks.pay_for_memory_grow must have type (i32) -> ()".into());
        }
    } else {
        pay_func = None;
    }

    let type_len = func_types[imported_funcs as usize..]
        .iter()
        .map(|t| (types[*t as usize].params().len() + types[*t as usize].results().len()) as u64)
        .sum();
    let stats = ModuleStats {
        funcs,
        type_len,
        wasm_len: wasm.len() as u64,
        // nitro prices the globals after its instrumentation added ink, status, scratch and depth.
        globals: defined_globals as u64 + 4,
        data_len,
        footprint: min_pages as u16,
    };

    // Second pass: rewrite.
    let ink = imported_globals + defined_globals;
    let status = ink + 1;
    let scratch = ink + 2;
    let profiled = if PROFILING.with(|p| p.get()) {
        funcs as u32
    } else {
        0
    };
    let g = Globals {
        ink,
        status,
        scratch,
        pay_func,
    };
    let param_count = |ty: u32| {
        types
            .get(ty as usize)
            .map(|t| t.params().len() as u64)
            .unwrap_or(0)
    };

    let mut out = wasm_encoder::Module::new();
    let mut re = RoundtripReencoder;
    let mut code: Option<CodeSection> = None;
    let mut globals_done = false;
    let mut local = 0u32;
    let add_globals = |gs: &mut GlobalSection| {
        let mutable = |ty| GlobalType {
            val_type: ty,
            mutable: true,
            shared: false,
        };
        gs.global(mutable(ValType::I64), &ConstExpr::i64_const(0));
        gs.global(mutable(ValType::I32), &ConstExpr::i32_const(0));
        gs.global(mutable(ValType::I32), &ConstExpr::i32_const(0));
        for _ in 0..profiled {
            gs.global(mutable(ValType::I64), &ConstExpr::i64_const(0));
        }
    };

    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| e.to_string())?;
        match payload {
            Payload::Version { .. } => {}
            Payload::CustomSection(_) => {}
            Payload::GlobalSection(r) => {
                let mut gs = GlobalSection::new();
                for gl in r {
                    re.parse_global(&mut gs, gl.map_err(|e| e.to_string())?)
                        .map_err(|e| format!("{e:?}"))?;
                }
                add_globals(&mut gs);
                out.section(&gs);
                globals_done = true;
            }
            Payload::ExportSection(r) => {
                if !globals_done {
                    let mut gs = GlobalSection::new();
                    add_globals(&mut gs);
                    out.section(&gs);
                    globals_done = true;
                }
                let mut es = ExportSection::new();
                for e in r {
                    re.parse_export(&mut es, e.map_err(|e| e.to_string())?);
                }
                es.export(INK_LEFT, ExportKind::Global, ink);
                es.export(INK_STATUS, ExportKind::Global, status);
                for i in 0..profiled {
                    es.export(
                        &format!("{PROFILE_PREFIX}{i}"),
                        ExportKind::Global,
                        scratch + 1 + i,
                    );
                }
                out.section(&es);
            }
            Payload::CodeSectionStart { .. } => code = Some(CodeSection::new()),
            Payload::CodeSectionEntry(body) => {
                let prof = (local < profiled).then_some(scratch + 1 + local);
                local += 1;
                let mut f = re
                    .new_function_with_parsed_locals(&body)
                    .map_err(|e| format!("{e:?}"))?;
                instrument_body(
                    &mut f,
                    &mut re,
                    body.get_operators_reader().map_err(|e| e.to_string())?,
                    &g,
                    prof,
                    &param_count,
                )?;
                code.as_mut().expect("code section started").function(&f);
            }
            Payload::End(_) => {
                if let Some(c) = code.take() {
                    out.section(&c);
                }
            }
            other => {
                if let Some(c) = code.take() {
                    out.section(&c);
                }
                if let Some((id, range)) = other.as_section() {
                    out.section(&RawSection {
                        id,
                        data: &wasm[range],
                    });
                }
            }
        }
    }

    let wasm = out.finish();
    // The rewrite must still be a valid module.
    Validator::new_with_features(stylus_features())
        .validate_all(&wasm)
        .map_err(|e| format!("instrumentation produced an invalid module: {e}"))?;
    Ok(Activated {
        wasm,
        stats,
        imports,
    })
}

struct Globals {
    ink: u32,
    status: u32,
    scratch: u32,
    pay_func: Option<u32>,
}

fn instrument_body<'a>(
    f: &mut Function,
    re: &mut RoundtripReencoder,
    reader: wasmparser::OperatorsReader<'a>,
    g: &Globals,
    prof: Option<u32>,
    param_count: &dyn Fn(u32) -> u64,
) -> Result<(), String> {
    let mut block: Vec<Operator<'a>> = Vec::new();
    let mut cost: u64 = 0;
    for op in reader {
        let op = op.map_err(|e| e.to_string())?;
        cost = cost.saturating_add(opcode_ink(&op, param_count));
        let end = ends_basic_block(&op);
        block.push(op);
        if end {
            let total = cost.saturating_add(INK_HEADER_COST) as i64;
            // if ink < cost { status = 1; unreachable }
            f.instruction(&Instruction::GlobalGet(g.ink));
            f.instruction(&Instruction::I64Const(total));
            f.instruction(&Instruction::I64LtU);
            f.instruction(&Instruction::If(BlockType::Empty));
            f.instruction(&Instruction::I32Const(1));
            f.instruction(&Instruction::GlobalSet(g.status));
            f.instruction(&Instruction::Unreachable);
            f.instruction(&Instruction::End);
            // ink -= cost
            f.instruction(&Instruction::GlobalGet(g.ink));
            f.instruction(&Instruction::I64Const(total));
            f.instruction(&Instruction::I64Sub);
            f.instruction(&Instruction::GlobalSet(g.ink));
            if let Some(p) = prof {
                f.instruction(&Instruction::GlobalGet(p));
                f.instruction(&Instruction::I64Const(total));
                f.instruction(&Instruction::I64Add);
                f.instruction(&Instruction::GlobalSet(p));
            }
            for op in block.drain(..) {
                emit(f, re, op, g)?;
            }
            cost = 0;
        }
    }
    if !block.is_empty() {
        return Err("function body does not end with `end`".into());
    }
    Ok(())
}

/// Emits one original operator, preceded by the dynamic meter or the heap bound when it
/// needs one.
fn emit(
    f: &mut Function,
    re: &mut RoundtripReencoder,
    op: Operator,
    g: &Globals,
) -> Result<(), String> {
    match op {
        Operator::MemoryFill { .. } => linear_charge(f, g, MEMORY_FILL_INK),
        Operator::MemoryCopy { .. } => linear_charge(f, g, MEMORY_COPY_INK),
        Operator::MemoryGrow { .. } => {
            if let Some(pay) = g.pay_func {
                f.instruction(&Instruction::GlobalSet(g.scratch));
                f.instruction(&Instruction::GlobalGet(g.scratch));
                f.instruction(&Instruction::GlobalGet(g.scratch));
                f.instruction(&Instruction::Call(pay));
            }
        }
        Operator::MemoryInit { .. }
        | Operator::DataDrop { .. }
        | Operator::ElemDrop { .. }
        | Operator::TableInit { .. }
        | Operator::TableCopy { .. }
        | Operator::TableFill { .. }
        | Operator::TableGet { .. }
        | Operator::TableSet { .. }
        | Operator::TableGrow { .. }
        | Operator::TableSize { .. } => return Err(format!("opcode not supported: {op:?}")),
        _ => {}
    }
    let ins = re.instruction(op).map_err(|e| format!("{e:?}"))?;
    f.instruction(&ins);
    Ok(())
}

/// With a byte count on the stack: ink -= count * per_byte, trapping out of ink on underflow;
/// leaves the count on the stack.
fn linear_charge(f: &mut Function, g: &Globals, per_byte: u64) {
    f.instruction(&Instruction::GlobalSet(g.scratch));
    f.instruction(&Instruction::GlobalGet(g.ink));
    f.instruction(&Instruction::GlobalGet(g.ink));
    f.instruction(&Instruction::GlobalGet(g.scratch));
    f.instruction(&Instruction::I64ExtendI32U);
    f.instruction(&Instruction::I64Const(per_byte as i64));
    f.instruction(&Instruction::I64Mul);
    f.instruction(&Instruction::I64Sub);
    f.instruction(&Instruction::GlobalSet(g.ink));
    f.instruction(&Instruction::GlobalGet(g.ink));
    // old < new means the subtraction wrapped: out of ink
    f.instruction(&Instruction::I64LtU);
    f.instruction(&Instruction::If(BlockType::Empty));
    f.instruction(&Instruction::I32Const(1));
    f.instruction(&Instruction::GlobalSet(g.status));
    f.instruction(&Instruction::Unreachable);
    f.instruction(&Instruction::End);
    f.instruction(&Instruction::GlobalGet(g.scratch));
}
