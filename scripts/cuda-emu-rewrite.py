#!/usr/bin/env python3
"""Rewrites a .cu file into C++ that g++ compiles against the CUDA emulator (native/cuda/emu).

Only what macros cannot express is rewritten; the line structure is kept, so one #line
directive makes compiler errors point at the .cu:
  kernel<targs><<<grid, block[, smem[, stream]]>>>(args...)
      -> ::cr::emu::launch(kernel<targs>, "kernel<targs>", grid, block[, smem[, stream]])(args...)
  extern __shared__ [__align__(n)] T name[];
      -> T* name = reinterpret_cast<T*>(::cr::emu::dynamicShared());

usage: cuda-emu-rewrite.py in.cu out.cc
"""
import os
import re
import sys


def mask_comments_and_strings(text):
    """A copy of text with comments, string and char literals blanked (same length, newlines kept)."""
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = ' '
            i = j
        elif text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if text[k] != '\n':
                    out[k] = ' '
            i = j
        elif c == '"' or c == "'":
            # Raw strings are not expected in kernels; a plain literal ends at its unescaped quote.
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            for k in range(i + 1, min(j, n)):
                if text[k] != '\n':
                    out[k] = ' '
            i = j + 1
        else:
            i += 1
    return ''.join(out)


def fail(path, text, pos, message):
    line = text.count('\n', 0, pos) + 1
    sys.stderr.write(f'{path}:{line}: cuda-emu-rewrite: {message}\n')
    sys.exit(1)


def kernel_start(masked, end):
    """Start of the kernel expression that ends just before `end` (name, ::, template args)."""
    i = end
    while i > 0 and masked[i - 1].isspace():
        i -= 1
    if i > 0 and masked[i - 1] == '>':
        depth = 0
        while i > 0:
            i -= 1
            ch = masked[i]
            if ch == '>':
                depth += 1
            elif ch == '<':
                depth -= 1
                if depth == 0:
                    break
        while i > 0 and masked[i - 1].isspace():
            i -= 1
    while i > 0 and (masked[i - 1].isalnum() or masked[i - 1] in '_:'):
        i -= 1
    return i


def split_top_level(masked, start, end):
    """Comma positions at bracket depth 0 in masked[start:end]."""
    depth = 0
    commas = []
    for k in range(start, end):
        ch = masked[k]
        if ch in '([{':
            depth += 1
        elif ch in ')]}':
            depth -= 1
        elif ch == ',' and depth == 0:
            commas.append(k)
    return commas


def rewrite(path, text):
    masked = mask_comments_and_strings(text)
    pieces = []
    pos = 0
    for m in re.finditer(r'<<<', masked):
        if m.start() < pos:
            continue
        close = masked.find('>>>', m.end())
        if close < 0:
            fail(path, text, m.start(), 'a <<< without >>>')
        start = kernel_start(masked, m.start())
        kernel = text[start:m.start()].strip()
        if not kernel:
            fail(path, text, m.start(), 'no kernel name before <<<')
        params = text[m.end():close]
        count = len(split_top_level(masked, m.end(), close)) + 1
        if not 2 <= count <= 4:
            fail(path, text, m.start(), f'a launch takes 2 to 4 parameters, got {count}')
        name = ' '.join(kernel.split()).replace('"', '\\"')
        pieces.append(text[pos:start])
        pieces.append(f'::cr::emu::launch({kernel}, "{name}", {params})')
        pos = close + 3
    pieces.append(text[pos:])
    out = ''.join(pieces)

    # extern __shared__ arrays: the block's dynamic shared memory.
    def shared(m):
        return f'{m.group(1)}* {m.group(2)} = reinterpret_cast<{m.group(1)}*>(::cr::emu::dynamicShared());'

    out = re.sub(r'extern\s+__shared__\s+(?:__align__\s*\(\s*\d+\s*\)\s+)?([A-Za-z_][\w:<>, ]*?)\s+(\w+)\s*\[\s*\]\s*;', shared, out)

    # Static __shared__ variables (one declarator): a registration after them, so the emulator
    # fills them with 0xff bytes at every block start (shared memory is not zeroed on a GPU).
    def poison(m):
        return f'{m.group(0)} static thread_local ::cr::emu::SharedPoison crEmuShared_{m.group(1)}(&{m.group(1)}, sizeof({m.group(1)}));'

    out = re.sub(r'(?<![\w])__shared__\s+(?:__align__\s*\(\s*\d+\s*\)\s+)?[A-Za-z_][\w:<> ]*?\s+'
                 r'([A-Za-z_]\w*)\s*(?:\[[^\];,{}]*\]\s*)*;', poison, out)
    return out


def main():
    if len(sys.argv) != 3:
        sys.stderr.write('usage: cuda-emu-rewrite.py in.cu out.cc\n')
        sys.exit(2)
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, encoding='utf-8') as f:
        text = f.read()
    out = f'#line 1 "{os.path.abspath(src)}"\n' + rewrite(src, text)
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    tmp = dst + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(out)
    os.replace(tmp, dst)


if __name__ == '__main__':
    main()
