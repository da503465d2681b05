#!/usr/bin/env node
// Compiles Solidity with the pinned solc-js (package.json), for scripts/abi.sh.
//
//   node scripts/solc.js abi OUT_DIR FILE.sol...   writes OUT_DIR/<Interface>.json (the JSON ABI
//                                                   of each interface or contract in FILE)
//   node scripts/solc.js check FILE.sol...         compiles the files; fails on any error or warning
//
// Imports resolve relative to the importing file, then to the repository root.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const ROOT = path.resolve(__dirname, '..');

function compile(files, outputs) {
  const sources = {};
  for (const f of files) {
    const rel = path.relative(ROOT, path.resolve(f));
    sources[rel] = { content: fs.readFileSync(path.join(ROOT, rel), 'utf8') };
  }
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      optimizer: { enabled: false },
      outputSelection: { '*': { '*': outputs } },
    },
  };
  const findImports = (p) => {
    const full = path.join(ROOT, p);
    if (fs.existsSync(full)) return { contents: fs.readFileSync(full, 'utf8') };
    return { error: `not found: ${p}` };
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const problems = (out.errors || []).filter((e) => e.severity !== 'info');
  return { out, problems };
}

function report(problems) {
  for (const e of problems) process.stderr.write(`${e.formattedMessage || e.message}\n`);
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'abi') {
  const [outDir, ...files] = rest;
  const { out, problems } = compile(files, ['abi']);
  report(problems);
  if (problems.some((e) => e.severity === 'error')) process.exit(1);
  for (const f of files) {
    const rel = path.relative(ROOT, path.resolve(f));
    for (const [name, c] of Object.entries(out.contracts[rel] || {})) {
      fs.writeFileSync(path.join(outDir, `${name}.json`), `${JSON.stringify(c.abi, null, 2)}\n`);
    }
  }
} else if (mode === 'check') {
  const { problems } = compile(rest, ['abi', 'evm.bytecode.object']);
  report(problems);
  if (problems.length > 0) {
    process.stderr.write(`solc ${solc.version()}: ${problems.length} error(s)/warning(s)\n`);
    process.exit(1);
  }
  process.stdout.write(`solc ${solc.version()}: ${rest.length} file(s) compile cleanly\n`);
} else {
  process.stderr.write('usage: solc.js abi OUT_DIR FILE.sol... | solc.js check FILE.sol...\n');
  process.exit(2);
}
