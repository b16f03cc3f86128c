"""``python -m bot bench``: build time, query latency and memory against rank-bm25 and bm25s.

Corpora are real news articles written by the benchmark's ``make_corpus.py`` (run as a
subprocess), at several sizes; the largest repeats the whole corpus under distinct folder names
(``copy-00/…``) to reach about a million passages. Questions are real headlines (titles of
articles, the same set at every size). Each engine runs in its own subprocess so peak memory
figures do not mix, and all run on the same passages and the same analysed terms:

- ``ours``: a cold build from the files (read, clean, chunk, analyse, index, write the cache),
  then ``Engine.ask`` per question (the full answer: analysis, spelling variants, top-k,
  no-match checks, highlights) and the scorer alone (top-k of the question's terms);
- ``restart``: a new process loading the cache (unchanged corpus), then one article added and
  one changed, each followed by a rebuild (only that file is read);
- ``rank-bm25``: ``BM25Okapi(tokens)`` then ``get_scores`` + top-k per question;
- ``bm25s``: ``BM25(method="robertson").index(tokens)`` then ``retrieve`` per question;
- ``lag`` (full news corpus): how late a 10 ms ticker on the bot's event loop runs while
  ``/reload``'s real code path rebuilds the index, and how many questions are answered meanwhile.

``--sizes tiny`` runs everything on a small generated corpus in seconds (the tests do).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import gzip
import json
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_NEWS_DIR = REPO.parent / "shared" / "benchmarks" / "news"
DEFAULT_SIZES = "1000,10000,28868,x16"
NEWS_ARTICLES = 28_868
TOP_K = 24  # what Engine.ask ranks for three answers (3 x CANDIDATES_PER_RESULT)
ENGINES = ("ours", "restart", "rank-bm25", "bm25s")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--news-dir", type=Path, default=DEFAULT_NEWS_DIR, metavar="DIR", help="folder with make_corpus.py and the *.jsonl.gz news files")
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help=f"comma-separated: N articles, xR (the whole corpus R times), or tiny (default {DEFAULT_SIZES})")
    parser.add_argument("--engines", default=",".join(ENGINES), help=f"comma-separated subset of {', '.join(ENGINES)}")
    parser.add_argument("--queries", type=int, default=250, metavar="N", help="headline questions per size (default 250)")
    parser.add_argument("--slow-queries", type=int, default=20, metavar="N", help="questions for rank-bm25 above 200,000 passages (default 20)")
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "corpus-bot-bench", metavar="DIR", help="where corpora and caches go (kept between runs)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--plot", type=Path, default=None, metavar="PNG", help="latency plot (needs matplotlib: pip install '.[bench]'; default WORK_DIR/speed.png, so a quick run never replaces the README's docs/speed.png)")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--no-lag", action="store_true", help="skip the event-loop lag measurement")
    parser.add_argument("--in-process", action="store_true", help="measure in this process (fast, but memory figures mix)")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)


# ------------------------------------------------------------------------------ corpora
@dataclass(frozen=True)
class Size:
    label: str
    articles: int = 0  # news articles, or 0 for the generated tiny corpus
    copies: int = 1  # the articles repeated this many times under distinct folder names

    @property
    def tiny(self) -> bool:
        return self.articles == 0


def parse_sizes(text: str) -> list[Size]:
    sizes = []
    for part in (p.strip().lower() for p in text.split(",") if p.strip()):
        if part == "tiny":
            sizes.append(Size("tiny"))
        elif part.startswith("x"):
            sizes.append(Size(part, NEWS_ARTICLES, int(part[1:])))
        else:
            sizes.append(Size(part, min(int(part), NEWS_ARTICLES)))
    return sizes


def materialize(size: Size, news_dir: Path, work_dir: Path) -> Path:
    """The corpus folder for a size, written once and kept (a marker file says it is complete)."""
    folder = work_dir / "corpora" / size.label
    if (folder / ".complete").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    if size.tiny:
        write_tiny_corpus(folder)
    elif size.copies == 1:
        make_corpus(news_dir, size.articles, folder)
    else:
        base = materialize(Size(str(size.articles), size.articles), news_dir, work_dir)
        for copy in range(size.copies):
            shutil.copytree(base, folder / f"copy-{copy:02d}", ignore=shutil.ignore_patterns(".complete"))
    (folder / ".complete").write_text("", encoding="utf-8")
    return folder


def make_corpus(news_dir: Path, articles: int, folder: Path) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, str(news_dir / "make_corpus.py"), "all", str(articles), str(folder)],
        check=True,
        capture_output=True,
        text=True,
    )


_TINY_WORDS = (
    "kyiv missile grid energy winter aid tank border talks ceasefire drone port grain ship "
    "market shares bank rates inflation oil price election senate vote court ruling climate "
    "storm flood harvest school strike union wages factory export import tariff"
).split()


def write_tiny_corpus(folder: Path, articles: int = 40) -> None:
    rng = random.Random(4)
    folder.mkdir(parents=True)
    for number in range(articles):
        title = " ".join(rng.choice(_TINY_WORDS) for _ in range(5)).capitalize()
        paragraphs = [
            " ".join(" ".join(rng.choice(_TINY_WORDS) for _ in range(rng.randint(6, 14))).capitalize() + "." for _ in range(3))
            for _ in range(rng.randint(2, 6))
        ]
        (folder / f"tiny-{number:03d}.txt").write_text(title + "\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")


def headline_questions(news_dir: Path, count: int, tiny: bool) -> list[str]:
    """Real headlines: titles of news articles, a fixed sample (the same at every size)."""
    rng = random.Random(7)
    if tiny:
        return [" ".join(rng.choice(_TINY_WORDS) for _ in range(rng.randint(2, 6))) for _ in range(count)]
    titles = []
    for name in ("bbc", "reuters", "agnews"):
        with gzip.open(news_dir / f"{name}.jsonl.gz", "rt", encoding="utf-8") as lines:
            titles.extend(json.loads(line)["title"] for line in lines if line.strip())
    return rng.sample(titles, min(count, len(titles)))


# ------------------------------------------------------------------------------ measuring
def rss_mb() -> float:
    """Resident set size of this process, from /proc (Linux); elsewhere the peak, the nearest
    figure there is."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return peak_rss_mb()
    return float("nan")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def latency(values_ms: list[float]) -> dict[str, float]:
    if not values_ms:
        return {"p50": math.nan, "p95": math.nan, "p99": math.nan, "n": 0}
    p50, p95, p99 = np.percentile(values_ms, [50, 95, 99])
    return {"p50": round(float(p50), 3), "p95": round(float(p95), 3), "p99": round(float(p99), 3), "n": len(values_ms)}


def timed_ms(function: Callable[[], Any]) -> float:
    started = time.perf_counter()
    function()
    return (time.perf_counter() - started) * 1000.0


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6 if path.exists() else 0.0


def _settings(corpus: Path, cache: Path | None):
    from .config import EngineSettings

    return EngineSettings(corpus_dir=corpus, cache_dir=cache)


def measure_ours(corpus: Path, cache: Path, questions: list[str]) -> dict[str, Any]:
    from .answers import term_weights
    from .build import build_engine

    shutil.rmtree(cache, ignore_errors=True)
    # Write back what earlier steps left dirty (caches, the deleted one), so the kernel does not
    # do it on these two cores during the timed build.
    os.sync()
    started = time.perf_counter()
    built = build_engine(_settings(corpus, cache))
    build_s = time.perf_counter() - started
    peak_build = peak_rss_mb()
    gc.collect()
    steady = rss_mb()
    engine = built.engine
    for question in questions[:10]:  # warm-up: first-use costs are not query latency
        engine.ask(question)
    ask_ms = [timed_ms(lambda q=q: engine.ask(q)) for q in questions]
    scorer_ms = []
    for question in questions:
        terms = {term: 1.0 for term in engine.analyzer.analyze(question)}
        scorer_ms.append(timed_ms(lambda: engine.index.top(terms, TOP_K)))
    variants_ms = []
    for question in questions:
        weights = term_weights(engine.query_words(question))
        variants_ms.append(timed_ms(lambda: engine.index.top(weights, TOP_K)))
    answered = sum(bool(engine.ask(q).hits) for q in questions)
    return {
        "passages": built.report.passages,
        "documents": built.report.documents,
        "build_s": round(build_s, 3),
        "passages_per_s": round(built.report.passages / build_s),
        "peak_rss_mb": round(peak_build, 1),
        "steady_rss_mb": round(steady, 1),
        "disk_mb": round(folder_mb(cache), 1),
        "ask": latency(ask_ms),
        "scorer": latency(scorer_ms),
        "scorer_with_variants": latency(variants_ms),
        "answered": answered,
        "questions": len(questions),
    }


def measure_restart(corpus: Path, cache: Path, questions: list[str]) -> dict[str, Any]:
    """A new process with the cache of ``ours``: load, then one article added and one changed."""
    from .build import build_engine

    settings = _settings(corpus, cache)
    started = time.perf_counter()
    built = build_engine(settings)
    restart_s = time.perf_counter() - started
    gc.collect()
    result = {"restart_s": round(restart_s, 3), "cache": built.report.cache, "steady_rss_mb": round(rss_mb(), 1)}
    for question in questions[:20]:
        built.engine.ask(question)
    result["ask_after_restart"] = latency([timed_ms(lambda q=q: built.engine.ask(q)) for q in questions])
    added = corpus / "bench-added-article.txt"
    changed = next(p for p in sorted(corpus.rglob("*.txt")) if p != added)
    original = changed.read_bytes()
    try:
        added.write_text("Penguins marched across the ice shelf in record numbers.\n", encoding="utf-8")
        started = time.perf_counter()
        after_add = build_engine(settings)
        result["reload_added_s"] = round(time.perf_counter() - started, 3)
        result["reload_added_files_read"] = after_add.report.files_read
        with changed.open("ab") as handle:
            handle.write(b"\nA closing paragraph about the weather in the harbour.\n")
        started = time.perf_counter()
        after_change = build_engine(settings)
        result["reload_changed_s"] = round(time.perf_counter() - started, 3)
        result["reload_changed_files_read"] = after_change.report.files_read
        result["found_added"] = bool(after_change.engine.ask("penguins ice shelf").hits)
    finally:
        added.unlink(missing_ok=True)
        changed.write_bytes(original)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    return result


def _memory() -> dict[str, float]:
    """Peak and current RSS, after a baseline is built from the tokens (which are dropped)."""
    return {"peak_rss_mb": round(peak_rss_mb(), 1), "steady_rss_mb": round(rss_mb(), 1)}


def query_latency(search: Callable[[Any], Any], queries: list) -> dict[str, float]:
    """Latency of ``search`` over ``queries``, after one warm-up query."""
    search(queries[0])
    return latency([timed_ms(lambda q=q: search(q)) for q in queries])


def corpus_tokens(corpus: Path, cache: Path):
    """Every passage's analysed terms (with repeats) from the stored index of ``ours``."""
    from .analyzer import Analyzer
    from .build import build_engine

    built = build_engine(_settings(corpus, cache))
    forward = built.engine.index.forward
    del built  # measure the baseline, not our index
    vocabulary = forward.vocabulary
    offsets, ids, freqs = forward.term_offsets, forward.term_ids, forward.term_freqs
    tokens = []
    for passage in range(forward.passage_count):
        start, end = offsets[passage], offsets[passage + 1]
        tokens.append([vocabulary[t] for t, f in zip(ids[start:end].tolist(), freqs[start:end].tolist()) for _ in range(f)])
    del forward
    gc.collect()
    return tokens, Analyzer()


def measure_rank_bm25(corpus: Path, cache: Path, questions: list[str], slow_queries: int) -> dict[str, Any]:
    from rank_bm25 import BM25Okapi

    tokens, analyzer = corpus_tokens(corpus, cache)
    queries = [list(dict.fromkeys(analyzer.analyze(q))) for q in questions]
    if len(tokens) > 200_000:
        queries = queries[:slow_queries]
    started = time.perf_counter()
    bm25 = BM25Okapi(tokens)
    build_s = time.perf_counter() - started
    del tokens
    gc.collect()
    result = {"build_s": round(build_s, 3), **_memory()}

    def search(query: list[str]) -> None:
        scores = bm25.get_scores(query)
        best = np.argpartition(-scores, TOP_K)[:TOP_K]
        best[np.argsort(-scores[best])]

    result["query"] = query_latency(search, queries)
    return result


def measure_bm25s(corpus: Path, cache: Path, questions: list[str]) -> dict[str, Any]:
    import logging

    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    tokens, analyzer = corpus_tokens(corpus, cache)
    started = time.perf_counter()
    retriever = bm25s.BM25(k1=1.2, b=0.75, method="robertson")
    retriever.index(tokens, show_progress=False)
    build_s = time.perf_counter() - started
    del tokens
    gc.collect()
    result = {"build_s": round(build_s, 3), **_memory()}
    vocabulary = retriever.vocab_dict
    queries = [[t for t in dict.fromkeys(analyzer.analyze(q)) if t in vocabulary] or [""] for q in questions]

    def search(query: list[str]) -> None:
        retriever.retrieve([query], k=TOP_K, show_progress=False, n_threads=0)

    result["query"] = query_latency(search, queries)
    return result


def measure_lag(corpus: Path, cache: Path, questions: list[str]) -> dict[str, Any]:
    """Event-loop lag while the bot's real reload path (``CorpusIndex.reload``) runs."""
    from .discord.runner import freeze_startup_heap

    freeze_startup_heap()  # as `python -m bot run` does before building the index
    try:
        return _measure_lag_scenarios(corpus, cache, questions)
    finally:
        gc.unfreeze()  # with --in-process the caller's heap must become collectable again


def _measure_lag_scenarios(corpus: Path, cache: Path, questions: list[str]) -> dict[str, Any]:
    from .build import build_engine
    from .discord.index import CorpusIndex

    results = {}
    cached = _settings(corpus, cache)
    scenarios = {
        "unchanged": (cached, None),
        "one_article_changed": (cached, "change"),
        "full_rebuild": (dataclasses.replace(cached, cache_dir=None), None),
    }
    for name, (settings, action) in scenarios.items():
        index = CorpusIndex(build_engine(cached), settings)
        changed = next(p for p in sorted(corpus.rglob("*.txt")))
        original = changed.read_bytes()
        if action == "change":
            with changed.open("ab") as handle:
                handle.write(b"\nOne more paragraph for the lag measurement.\n")
        try:
            results[name] = asyncio.run(_lag_during(index, questions))
        finally:
            changed.write_bytes(original)
    return results


async def _lag_during(index, questions: list[str]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    answered = 0
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            started = loop.time()
            await asyncio.sleep(0.01)
            lags.append((loop.time() - started - 0.01) * 1000.0)

    async def asker() -> None:  # as the bot does: questions go to a worker thread
        nonlocal answered
        while not done.is_set():
            await asyncio.to_thread(index.current.engine.ask, questions[answered % len(questions)])
            answered += 1

    tasks = [asyncio.create_task(ticker()), asyncio.create_task(asker())]
    await asyncio.sleep(0.2)
    before, answered_before = len(lags), answered
    started = time.perf_counter()
    result = await index.reload(by="bench")
    seconds = time.perf_counter() - started
    done.set()
    await asyncio.gather(*tasks)
    lags, answered = lags[before:] or [0.0], answered - answered_before  # during the reload only
    return {
        "reload_s": round(seconds, 3),
        "ok": result.ok,
        "max_lag_ms": round(max(lags), 1),
        "p99_lag_ms": round(float(np.percentile(lags, 99)), 1),
        "questions_answered": answered,
    }


# ------------------------------------------------------------------------------ orchestration
def run_task(task: dict[str, Any], in_process: bool) -> dict[str, Any]:
    if in_process:
        return worker(task)
    completed = subprocess.run(
        [sys.executable, "-m", "bot.bench", "--worker", json.dumps(task)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1] if completed.stderr.strip() else f"exit {completed.returncode}"}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def worker(task: dict[str, Any]) -> dict[str, Any]:
    corpus, cache = Path(task["corpus"]), Path(task["cache"])
    questions = task["questions"]
    engine = task["engine"]
    if engine == "ours":
        return measure_ours(corpus, cache, questions)
    if engine == "restart":
        return measure_restart(corpus, cache, questions)
    if engine == "rank-bm25":
        return measure_rank_bm25(corpus, cache, questions, task["slow_queries"])
    if engine == "bm25s":
        return measure_bm25s(corpus, cache, questions)
    if engine == "lag":
        return measure_lag(corpus, cache, questions)
    raise ValueError(f"unknown engine {engine!r}")


def run_benchmark(args: argparse.Namespace) -> int:
    sizes = parse_sizes(args.sizes)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - set(ENGINES)
    if unknown or not sizes:
        print(f"Unknown engine(s) {', '.join(sorted(unknown))}; choose from {', '.join(ENGINES)}" if unknown else "No sizes given", file=sys.stderr)
        return 2
    needs_news = any(not size.tiny for size in sizes)
    if needs_news and not (args.news_dir / "make_corpus.py").is_file():
        print(f"No news benchmark at {args.news_dir} (make_corpus.py missing); pass --news-dir or use --sizes tiny", file=sys.stderr)
        return 2
    args.work_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"machine": machine(), "command": "python -m bot bench " + " ".join(sys.argv[2:]), "sizes": []}
    for size in sizes:
        corpus = materialize(size, args.news_dir, args.work_dir)
        questions = headline_questions(args.news_dir, args.queries, size.tiny)
        cache = args.work_dir / "caches" / size.label
        row: dict[str, Any] = {"size": size.label, "articles": size.articles * size.copies, "copies": size.copies}
        row["load_average_at_start"] = machine()["load_average"]  # other work on the machine skews timings
        for engine in ["ours"] + [e for e in engines if e != "ours"]:  # the others use ours' cache
            task = {"engine": engine, "corpus": str(corpus), "cache": str(cache), "questions": questions, "slow_queries": args.slow_queries}
            row[engine] = run_task(task, args.in_process)
            _progress(f"{size.label}: {engine} done")
        if not args.no_lag and (size.tiny or (size.articles == NEWS_ARTICLES and size.copies == 1)):
            row["lag"] = run_task({"engine": "lag", "corpus": str(corpus), "cache": str(cache), "questions": questions}, args.in_process)
        report["sizes"].append(row)
    add_ratios(report)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print(render_markdown(report))
    if not args.no_plot:
        plot(report, args.plot or args.work_dir / "speed.png")
    return 0


def _progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "")
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    return {"cpu": model, "cores": os.cpu_count(), "python": sys.version.split()[0], "load_average": [round(x, 2) for x in load]}


def add_ratios(report: dict[str, Any]) -> None:
    """How many times slower each baseline's median query is than ours (scorer and full ask)."""
    for row in report["sizes"]:
        ours = row.get("ours", {})
        for engine in ("rank-bm25", "bm25s"):
            theirs = row.get(engine, {}).get("query", {}).get("p50")
            if theirs and ours.get("scorer", {}).get("p50"):
                row.setdefault("ratios", {})[engine] = {
                    "vs_scorer": round(theirs / ours["scorer"]["p50"], 1),
                    "vs_ask": round(theirs / ours["ask"]["p50"], 1),
                }


def _cell(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        "| size | engine | passages | build s | passages/s | p50 ms | p95 ms | p99 ms | peak RSS MB | steady RSS MB | disk MB | p50 ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["sizes"]:
        ours = row.get("ours", {})
        passages = ours.get("passages")
        if "error" in ours:
            lines.append(f"| {row['size']} | ours | error: {ours['error']} |||||||||||")
            continue
        for label, key in (("ours: Engine.ask", "ask"), ("ours: scorer (top-k)", "scorer")):
            q = ours[key]
            build = ours if key == "ask" else {}
            lines.append(
                f"| {row['size']} | {label} | {_cell(passages)} | {_cell(build.get('build_s'), 2)} | {_cell(build.get('passages_per_s'))} "
                f"| {_cell(q['p50'], 2)} | {_cell(q['p95'], 2)} | {_cell(q['p99'], 2)} | {_cell(build.get('peak_rss_mb'))} "
                f"| {_cell(build.get('steady_rss_mb'))} | {_cell(build.get('disk_mb'))} | 1 |"
            )
        for engine in ("rank-bm25", "bm25s"):
            data = row.get(engine)
            if not data:
                continue
            if "error" in data:
                lines.append(f"| {row['size']} | {engine} | error: {data['error']} |||||||||||")
                continue
            q = data["query"]
            ratio = row.get("ratios", {}).get(engine, {}).get("vs_scorer")
            lines.append(
                f"| {row['size']} | {engine} ({q['n']} q) | {_cell(passages)} | {_cell(data['build_s'], 2)} | {_cell(round(passages / data['build_s']) if passages else None)} "
                f"| {_cell(q['p50'], 2)} | {_cell(q['p95'], 2)} | {_cell(q['p99'], 2)} | {_cell(data['peak_rss_mb'])} | {_cell(data['steady_rss_mb'])} | – | {_cell(ratio)}× |"
            )
    lines += ["", "| size | restart s (cache) | steady RSS MB after restart | reload, 1 article added: s (files read) | 1 article changed: s (files read) |", "|---|---:|---:|---:|---:|"]
    for row in report["sizes"]:
        data = row.get("restart")
        if data and "error" not in data:
            lines.append(
                f"| {row['size']} | {_cell(data['restart_s'], 2)} ({data['cache']}) | {_cell(data['steady_rss_mb'])} "
                f"| {_cell(data['reload_added_s'], 2)} ({data['reload_added_files_read']}) | {_cell(data['reload_changed_s'], 2)} ({data['reload_changed_files_read']}) |"
            )
    lag_rows = [(row["size"], row["lag"]) for row in report["sizes"] if row.get("lag") and "error" not in row["lag"]]
    if lag_rows:
        lines += ["", "| size | /reload scenario | reload s | max loop lag ms | p99 lag ms | questions answered meanwhile |", "|---|---|---:|---:|---:|---:|"]
        for size, lag in lag_rows:
            for scenario, data in lag.items():
                lines.append(f"| {size} | {scenario} | {_cell(data['reload_s'], 2)} | {_cell(data['max_lag_ms'])} | {_cell(data['p99_lag_ms'])} | {data['questions_answered']} |")
    return "\n".join(lines)


def plot(report: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install '.[bench]'): no plot written.", file=sys.stderr)
        return
    series: dict[str, list[tuple[int, float]]] = {}
    for row in report["sizes"]:
        ours = row.get("ours", {})
        passages = ours.get("passages")
        if not passages:
            continue
        for label, value in (
            ("ours: Engine.ask", ours.get("ask", {}).get("p50")),
            ("ours: scorer (top-24)", ours.get("scorer", {}).get("p50")),
            ("rank-bm25 get_scores + top-24", row.get("rank-bm25", {}).get("query", {}).get("p50")),
            ("bm25s retrieve (top-24)", row.get("bm25s", {}).get("query", {}).get("p50")),
        ):
            if value:
                series.setdefault(label, []).append((passages, value))
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for label, points in series.items():
        xs, ys = zip(*sorted(points))
        axes.plot(xs, ys, marker="o", label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("passages (news articles, 128-token passages)")
    axes.set_ylabel("median query latency (ms)")
    axes.set_title("Query latency against corpus size (2-core machine)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    print(f"Plot written to {path}", file=sys.stderr)


def _worker_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", required=True)
    task = json.loads(parser.parse_args(argv).worker)
    print(json.dumps(worker(task)))
    return 0


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
