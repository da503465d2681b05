#!/usr/bin/env python3
"""WASM sections as nitro's Stylus parser sees them.

nitro's WASM parser (`crates/prover/src/binary.rs`, `parse`) accepts only the MVP sections:
custom (0), type (1), import (2), function (3), table (4), memory (5), global (6), export (7),
start (8), element (9), code (10) and data (11). Any other section makes activation fail
(`unsupported section type DataCountSection`, `unsupported unknown section type N`), even
where `wasm-validate` passes. binaryen's `wasm-opt --enable-bulk-memory` adds a DataCount
section (12), which only `memory.init` and `data.drop` need; no contract uses them.

  wasm_sections.py check FILE...            exit 1 naming each refused section (file, id, name)
  wasm_sections.py strip-datacount FILE     removes a DataCount section in place (the caller
                                            validates afterwards: a module that uses
                                            memory.init/data.drop no longer validates)
  wasm_sections.py add-datacount IN OUT     writes IN with a DataCount section
                                            inserted before the code section, the
                                            count of its data segments (a valid module
                                            that nitro refuses: the test of `check`)
"""
import sys

NAMES = {
    0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
    6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
    12: "DataCount", 13: "tag (exceptions)",
}
ACCEPTED = set(range(12))
MAGIC = b"\0asm\x01\0\0\0"


def leb(buf, pos):
    """Unsigned LEB128 at `pos`: (value, next position)."""
    value, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated LEB128")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7


def uleb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def sections(buf):
    """[(id, start of the section header, end of the section)]."""
    if buf[:8] != MAGIC:
        raise ValueError("not a WASM 1.0 binary")
    out, pos = [], 8
    while pos < len(buf):
        start = pos
        sid = buf[pos]
        size, body = leb(buf, pos + 1)
        end = body + size
        if end > len(buf):
            raise ValueError(f"section {sid} runs past the end of the file")
        out.append((sid, start, end))
        pos = end
    return out


def check(paths):
    bad = 0
    for path in paths:
        with open(path, "rb") as f:
            buf = f.read()
        try:
            secs = sections(buf)
        except ValueError as e:
            print(f"{path}: unreadable: {e}", file=sys.stderr)
            bad += 1
            continue
        for sid, start, _ in secs:
            if sid not in ACCEPTED:
                name = NAMES.get(sid, "unknown")
                print(
                    f"{path}: section id {sid} ({name}) at byte {start} is refused by "
                    f"nitro's WASM parser (it accepts only sections 0-11)",
                    file=sys.stderr,
                )
                bad += 1
    return 1 if bad else 0


def strip_datacount(path):
    with open(path, "rb") as f:
        buf = f.read()
    keep = bytearray(buf[:8])
    removed = 0
    for sid, start, end in sections(buf):
        if sid == 12:
            removed += 1
        else:
            keep += buf[start:end]
    if removed:
        with open(path, "wb") as f:
            f.write(keep)
    return 0


def add_datacount(src, dst):
    with open(src, "rb") as f:
        buf = f.read()
    secs = sections(buf)
    # The count must equal the data section's segment count, or the module is invalid.
    count = 0
    for sid, start, end in secs:
        if sid == 11:
            _, body = leb(buf, start + 1)
            count, _ = leb(buf, body)
    out = bytearray(buf[:8])
    added = False
    for sid, start, end in secs:
        if sid == 10 and not added:
            body = uleb(count)
            out += bytes([12]) + uleb(len(body)) + body
            added = True
        out += buf[start:end]
    with open(dst, "wb") as f:
        f.write(out)
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "check":
        return check(argv[2:])
    if len(argv) == 3 and argv[1] == "strip-datacount":
        return strip_datacount(argv[2])
    if len(argv) == 4 and argv[1] == "add-datacount":
        return add_datacount(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
