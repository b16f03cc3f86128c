"""The command line: ``python -m bot [ask|index|eval|eval-beir|run|bench]``.

With no command, the bot connects to Discord when ``DISCORD_TOKEN`` is set, and otherwise
opens a question prompt in the terminal so a fresh checkout is useful at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Iterable, Sequence, TextIO

from . import semantic
from .beir import BeirFormatError, BeirParams, evaluate_beir, load_beir
from .build import Built, build_engine, warm_up_models, warm_up_word_lists
from .config import EngineSettings, SettingsError, load_settings
from .corpus import CorpusError
from .evaluation import NaiveBm25, QuestionFileError, evaluate, evaluate_naive, load_questions, unknown_sources
from .formatting import answer_to_json, format_answer_for_terminal
from .passages import encoding
from .progress import TerminalProgress

log = logging.getLogger("bot.cli")

MAX_TOP_K = 50


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="corpus-bot", description="Answer questions by quoting a folder of articles.")
    commands = parser.add_subparsers(dest="command")

    ask = commands.add_parser("ask", help="answer questions in the terminal (or as JSON lines)")
    ask.add_argument("questions", nargs="*", metavar="QUESTION", help="questions; '-' reads one per line from stdin")
    ask.add_argument("--json", action="store_true", help="one JSON object per question, one per line")
    ask.add_argument("--top", type=int, default=None, metavar="K", help="passages per answer (default TOP_K, 3)")
    _add_corpus_option(ask)

    index = commands.add_parser("index", help="build the index and print what it holds")
    index.add_argument("--json", action="store_true")
    _add_corpus_option(index)

    ev = commands.add_parser("eval", help="hit@1, hit@3 and MRR on a JSON Lines question file")
    ev.add_argument("--questions", required=True, type=Path, metavar="FILE")
    ev.add_argument("--json", action="store_true")
    ev.add_argument(
        "--baseline",
        action="store_true",
        help="also score the naive reference (rank-bm25, one passage per line, lowercase split, top 3): how hard the file is",
    )
    _add_corpus_option(ev)

    beir = commands.add_parser("eval-beir", help="nDCG@10, Recall@100 and MRR@10 on a BEIR dataset folder")
    beir.add_argument("dataset", type=Path, metavar="DIR", help="folder with corpus.jsonl, queries.jsonl, qrels/test.tsv")
    beir.add_argument("--json", action="store_true")
    beir.add_argument("--k1", type=float, default=None, metavar="X", help="BM25 k1 (default BM25_K1, 1.2)")
    beir.add_argument("--b", type=float, default=None, metavar="Y", help="BM25 b (default BM25_B, 0.75)")
    beir.add_argument("--no-stem", action="store_true", help="no Snowball stemming")
    beir.add_argument("--no-stopwords", action="store_true", help="keep stopwords")
    beir.add_argument("--no-fuzzy", action="store_true", help="no spelling-variant expansion (default FUZZY_MATCHING)")
    beir.add_argument(
        "--semantic-weight", type=float, default=None, metavar="W", help="re-ranking by meaning (default SEMANTIC_WEIGHT, 0.5; 0: off)"
    )

    run = commands.add_parser("run", help="connect to Discord (needs DISCORD_TOKEN)")
    _add_corpus_option(run)

    bench = commands.add_parser("bench", help="speed benchmark against rank-bm25 and bm25s on the news corpus")
    from .bench import add_arguments  # the benchmark's own options, next to its code

    add_arguments(bench)
    return parser


def _add_corpus_option(parser: argparse.ArgumentParser) -> None:
    """The options of every command that builds the index."""
    parser.add_argument("--corpus", type=Path, default=None, metavar="DIR", help="corpus folder (default CORPUS_DIR, seeds/)")
    parser.add_argument("--no-cache", action="store_true", help="rebuild the index instead of using INDEX_CACHE_DIR")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # `python -m bot eval ... | head`: the reader left; that is not an error. Point stdout at
        # /dev/null so the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    engine_settings = settings.engine
    if getattr(args, "corpus", None) is not None:
        engine_settings = dataclasses.replace(engine_settings, corpus_dir=args.corpus)
    if getattr(args, "no_cache", False):
        engine_settings = dataclasses.replace(engine_settings, cache_dir=None)

    if args.command is None:
        if settings.discord_token:
            return run_discord(settings, engine_settings)
        return interactive(engine_settings, sys.stdin, sys.stdout)
    if args.command == "run":
        return run_discord(settings, engine_settings)
    if args.command == "eval-beir":
        return run_eval_beir(args, engine_settings)
    if args.command == "bench":
        from .bench import run_benchmark

        return run_benchmark(args)

    built = _build_or_explain(engine_settings)
    if built is None:
        return 2
    if args.command == "ask":
        return ask(built, args.questions, as_json=args.json, top_k=args.top)
    if args.command == "index":
        return print_index_report(built, as_json=args.json)
    return run_eval(built, args.questions, as_json=args.json, baseline=args.baseline)


def _build_or_explain(settings: EngineSettings) -> Built | None:
    progress = TerminalProgress(sys.stderr)  # drawn only on a terminal
    try:
        built = build_engine(settings, progress=progress)
        # The first question follows at once: let the tokenizer's background load finish here,
        # so that the time shown with an answer is the answer's.
        encoding()
        return built
    except CorpusError as error:
        print(f"Cannot read the corpus: {error}. Set CORPUS_DIR or pass --corpus DIR.", file=sys.stderr)
        return None
    finally:
        progress.close()


def _questions_from(arguments: list[str], stdin: TextIO) -> Iterable[str]:
    for argument in arguments:
        if argument == "-":
            if hasattr(stdin, "reconfigure"):
                stdin.reconfigure(errors="replace")  # a stray non-UTF-8 byte is not worth a crash
            for line in stdin:
                if line.strip():
                    yield line.rstrip("\n")
        else:
            yield _valid_text(argument)


def _valid_text(argument: str) -> str:
    """Python hands undecodable argv bytes over as lone surrogates, which nothing can print."""
    return argument.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def ask(built: Built, questions: list[str], *, as_json: bool, top_k: int | None) -> int:
    if top_k is not None and not 1 <= top_k <= MAX_TOP_K:
        print(f"--top must be between 1 and {MAX_TOP_K}", file=sys.stderr)
        return 2
    if not questions:
        print("Give a question, e.g.: python -m bot ask \"Who is Stoltenberg?\" (or '-' to read stdin)", file=sys.stderr)
        return 2
    color = sys.stdout.isatty()
    # Once, before the clock of the first answer starts.
    warm_up_word_lists()
    if built.engine.options.semantic_weight > 0:
        semantic.warm_up()
    for question in _questions_from(questions, sys.stdin):
        answer = built.engine.ask(question, top_k=top_k)
        if as_json:
            print(json.dumps(answer_to_json(answer), ensure_ascii=False), flush=True)
        else:
            print(format_answer_for_terminal(answer, color=color) + "\n", flush=True)
    return 0


def index_report_dict(built: Built) -> dict:
    report = built.report
    return {
        "corpus": str(report.corpus_dir),
        "documents": report.documents,
        "passages": report.passages,
        "terms": report.terms,
        "skipped": [{"source": s.source, "reason": s.reason} for s in report.skipped],
        "seconds": round(report.seconds, 4),
        "cache": report.cache,  # off | cold | hit | updated
        "files_read": report.files_read,
    }


def print_index_report(built: Built, *, as_json: bool) -> int:
    data = index_report_dict(built)
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
        return 0
    print(f"Corpus:    {data['corpus']}")
    print(f"Documents: {data['documents']}")
    print(f"Passages:  {data['passages']}")
    print(f"Terms:     {data['terms']}")
    print(f"Built in:  {data['seconds']:.3f} s ({data['files_read']} file(s) read; index cache: {data['cache']})")
    if data["skipped"]:
        print(f"Skipped:   {len(data['skipped'])} file(s)")
        for skipped in data["skipped"]:
            print(f"  - {skipped['source']}: {skipped['reason']}")
    else:
        print("Skipped:   none")
    return 0


def run_eval(built: Built, path: Path, *, as_json: bool, baseline: bool = False) -> int:
    try:
        questions = load_questions(path)
    except (OSError, QuestionFileError) as error:
        print(f"Cannot read questions: {error}", file=sys.stderr)
        return 2
    sources = built.engine.index.sources
    unknown = unknown_sources(questions, sources)
    if unknown:
        example = sources[0] if sources else "article.txt"
        print(
            f"Warning: {len(unknown)} source(s) in {path} are not files of the corpus {built.corpus.root}, "
            f"so their questions cannot score: {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}. "
            f"Sources are paths relative to the corpus folder, e.g. {example}.",
            file=sys.stderr,
        )
    report = evaluate(built.engine, questions).as_dict()
    if baseline:
        report["naive_bm25"] = evaluate_naive(NaiveBm25.from_folder(built.corpus.root), questions).figures()
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    naive = report.get("naive_bm25")
    header = f"{'kind':<12}{'n':>5}{'hit@1':>8}{'hit@3':>8}{'MRR':>8}"
    print(header + (f"{'naive hit@1':>14}{'naive hit@3':>13}" if naive else ""))
    rows = list(report["per_kind"].items()) + [("overall", report["overall"])]
    for kind, scores in rows:
        line = f"{kind:<12}{scores['questions']:>5}{scores['hit@1']:>8.3f}{scores['hit@3']:>8.3f}{scores['mrr']:>8.3f}"
        if naive:
            reference = naive["overall"] if kind == "overall" else naive["per_kind"][kind]
            line += f"{reference['hit@1']:>14.3f}{reference['hit@3']:>13.3f}"
        print(line)
    if report["misses"]:
        print(f"\nNot first ({len(report['misses'])}):")
        for miss in report["misses"]:
            got = ", ".join(miss["got"]) or "no result"
            print(f"  [{miss['kind']}] {miss['question']}\n      expected {miss['expected']}, got {got}")
    return 0


def run_eval_beir(args: argparse.Namespace, settings: EngineSettings) -> int:
    params = BeirParams(
        k1=settings.k1 if args.k1 is None else args.k1,
        b=settings.b if args.b is None else args.b,
        stem=not args.no_stem,
        stopwords=not args.no_stopwords,
        fuzzy=settings.fuzzy and not args.no_fuzzy,
        semantic_weight=settings.semantic_weight if args.semantic_weight is None else args.semantic_weight,
    )
    if params.k1 < 0 or not 0 <= params.b <= 1 or params.semantic_weight < 0:
        print("--k1 and --semantic-weight must be 0 or more and --b between 0 and 1", file=sys.stderr)
        return 2
    started = time.perf_counter()
    try:
        dataset = load_beir(args.dataset)
    except BeirFormatError as error:
        print(f"Cannot read the BEIR dataset: {error}", file=sys.stderr)
        return 2
    report = evaluate_beir(dataset, params, load_seconds=time.perf_counter() - started).as_dict()
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return 0
    options = ", ".join(f"{name}={value}" for name, value in report["params"].items())
    print(f"Dataset:   {report['dataset']} ({report['documents']} documents, {report['queries']} queries)")
    print(f"Settings:  {options}")
    print(f"{'nDCG@10':>10}{'R@100':>10}{'MRR@10':>10}{'build s':>10}{'queries/s':>11}")
    print(
        f"{report['ndcg@10']:>10.4f}{report['recall@100']:>10.4f}{report['mrr@10']:>10.4f}"
        f"{report['build_seconds']:>10.2f}{report['queries_per_second']:>11.1f}"
    )
    return 0


def interactive(settings: EngineSettings, stdin: TextIO, stdout: TextIO) -> int:
    """A question prompt in the terminal: what the bot does when no Discord token is set."""
    built = _build_or_explain(settings)
    if built is None:
        return 2
    report = built.report
    print(
        f"corpus-bot: {report.documents} articles, {report.passages} passages from {report.corpus_dir} "
        f"(built in {report.seconds:.2f} s).\n"
        "No DISCORD_TOKEN is set, so questions are answered here. To connect to Discord, put\n"
        "DISCORD_TOKEN=... in .env (see .env.example) and run `python -m bot run`.\n"
        "Ask a question (empty line or Ctrl-D to quit).",
        file=stdout,
    )
    color = stdout.isatty()
    # Loaded while the member types, not on the first question that needs them.
    threading.Thread(target=warm_up_models, args=(settings,), name="models-warm-up", daemon=True).start()
    while True:
        if stdin.isatty():
            stdout.write("? ")
            stdout.flush()
        line = stdin.readline()
        if not line or not line.strip():
            return 0
        answer = built.engine.ask(line.strip())
        print(format_answer_for_terminal(answer, color=color) + "\n", file=stdout, flush=True)


def run_discord(settings, engine_settings: EngineSettings) -> int:
    if not settings.discord_token:
        print(
            "DISCORD_TOKEN is not set. Create a bot at https://discord.com/developers/applications, "
            "put DISCORD_TOKEN=... in .env (see README), then run `python -m bot run`.",
            file=sys.stderr,
        )
        return 2
    try:
        from .discord.runner import run_bot
    except ImportError:
        print("The Discord layer is not installed in this build.", file=sys.stderr)
        return 2
    return run_bot(dataclasses.replace(settings, engine=engine_settings))
