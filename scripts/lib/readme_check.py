#!/usr/bin/env python3
"""Runs the README's examples so they cannot drift from the binaries (scripts/readme-check.sh).

Two kinds of check, over every fenced code block of the given Markdown files:

* ```console blocks are run. A line `$ CMD` is a command (bash, in a fresh temporary directory
  per block, with the freshly built binaries first on PATH); the lines after it, up to the next
  `$`, are its expected standard output. A line `...` stands for any number of lines, `...`
  inside a line for any text. A command must exit 0. `CMD &` starts a background job whose
  expected lines are awaited (10 s), like `listening tcp 127.0.0.1:7000`; `kill %N` sends job N
  SIGTERM and requires it to exit 0; jobs still running at the end of a block are killed.
* every other block (```sh: commands that install things, need Docker or take minutes) is
  checked without running it: each `scripts/...` or `deploy/...` path it names must exist, and
  each `--flag` on a `reactor-server` or `reactor-loadgen SUBCOMMAND` line must be one that
  binary's `--help` lists.

Exit status 0 when everything matched; 1 with every mismatch listed.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time

FENCE = re.compile(r"^```(\w*)")


def blocks(path):
    """Yields (language, first line number, lines) for each fenced block."""
    lang, start, body = None, 0, []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            m = FENCE.match(line)
            if lang is None and m:
                lang, start, body = m.group(1), n + 1, []
            elif lang is not None and line.startswith("```"):
                yield lang, start, body
                lang = None
            elif lang is not None:
                body.append(line)


def pattern(expected):
    """A regex for expected output lines, with `...` as the wildcard."""
    parts = []
    for line in expected:
        if line == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*".join(map(re.escape, line.split("..."))) + r"\n")
    return re.compile("".join(parts), re.DOTALL)


def matches(expected, output):
    text = output if output.endswith("\n") or not output else output + "\n"
    return pattern(expected).fullmatch(text) is not None


def commands(lines):
    """Splits a console block into (command, expected lines)."""
    out = []
    for line in lines:
        if line.startswith("$ "):
            out.append((line[2:], []))
        elif out:
            out[-1][1].append(line)
    return out


def run_console(path, start, lines, env, problems):
    jobs = []
    where = f"{path}:{start}"
    with tempfile.TemporaryDirectory() as cwd:
        try:
            for cmd, expected in commands(lines):
                kill = re.fullmatch(r"kill %(\d+)", cmd.strip())
                if kill:
                    n = int(kill.group(1))
                    if n > len(jobs):
                        problems.append(f"{where}: `{cmd}`: no job {n}")
                        continue
                    proc = jobs[n - 1]
                    proc.send_signal(signal.SIGTERM)
                    try:
                        code = proc.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        code = "none (killed after 15 s)"
                    if code != 0:
                        problems.append(f"{where}: `{cmd}`: job exited {code}, not 0")
                    continue
                if cmd.rstrip().endswith("&"):
                    proc = subprocess.Popen(
                        ["bash", "-c", "exec " + cmd.rstrip()[:-1]], cwd=cwd, env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                    jobs.append(proc)
                    wanted = len([e for e in expected if e != "..."])
                    got, deadline = [], time.monotonic() + 10
                    while len(got) < wanted and time.monotonic() < deadline:
                        line = proc.stdout.readline()
                        if not line:
                            break
                        got.append(line)
                    if not matches(expected, "".join(got)):
                        problems.append(
                            f"{where}: `{cmd}` printed\n{''.join(got)}expected\n"
                            + "\n".join(expected))
                    continue
                try:
                    res = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env, text=True,
                                         capture_output=True, timeout=60)
                except subprocess.TimeoutExpired:
                    problems.append(f"{where}: `{cmd}` took over 60 s")
                    continue
                if res.returncode != 0:
                    problems.append(f"{where}: `{cmd}` exited {res.returncode}: {res.stderr.strip()}")
                elif not matches(expected, res.stdout):
                    problems.append(f"{where}: `{cmd}` printed\n{res.stdout}expected\n"
                                    + "\n".join(expected))
        finally:
            for proc in jobs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()


def help_flags(binary, sub, env, cache={}):
    key = (binary, sub)
    if key not in cache:
        argv = [binary] + ([sub] if sub else []) + ["--help"]
        res = subprocess.run(argv, env=env, capture_output=True, text=True)
        cache[key] = set(re.findall(r"--[a-z][a-z0-9-]*", res.stdout))
    return cache[key]


def check_static(path, start, lines, env, problems):
    for i, line in enumerate(lines):
        where = f"{path}:{start + i}"
        code = line.split("#", 1)[0] if not line.lstrip().startswith("#") else ""
        for p in re.findall(r"(?<![\w/.])((?:scripts|deploy)/[\w./-]+)", code):
            if not os.path.exists(p):
                problems.append(f"{where}: `{p}` does not exist")
        # The binary as the command word (after any VAR=value), not a name such as a Job's.
        m = re.search(r"(?:^|[;&|(]\s*)(?:\w+=\S+\s+)*(reactor-server|reactor-loadgen)\b"
                      r"(?:\s+(tcp|udp|http|merge|probe)\b)?", code.strip())
        if not m or "cargo " in code:
            continue
        known = help_flags(m.group(1), m.group(2), env)
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", code[m.end():]):
            if flag not in known:
                problems.append(f"{where}: {m.group(1)} {m.group(2) or ''}: no flag {flag}")


def main():
    bin_dir, files = sys.argv[1], sys.argv[2:]
    env = dict(os.environ, PATH=os.path.abspath(bin_dir) + os.pathsep + os.environ["PATH"])
    problems, ran, checked = [], 0, 0
    for path in files:
        for lang, start, lines in blocks(path):
            if lang == "console":
                run_console(path, start, lines, env, problems)
                ran += 1
            else:
                check_static(path, start, lines, env, problems)
                checked += 1
    for p in problems:
        print(f"readme-check: {p}", file=sys.stderr)
    print(f"readme-check: {ran} example blocks run, {checked} blocks checked for paths and flags, "
          f"{len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
