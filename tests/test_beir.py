"""BEIR evaluation: metrics worked out by hand, the loader and the CLI on a tiny dataset folder."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest

from bot.beir import BeirFormatError, BeirParams, build_beir_engine, evaluate_beir, load_beir, run_queries
from bot.metrics import dcg, mean, mrr_at_k, ndcg_at_k, recall_at_k
from tests.conftest import ROOT

# ---------------------------------------------------------------------------------------------
# Metrics: one query, worked out by hand.
# Ranking d1 d2 d3 d4; qrels d2 = 2, d4 = 1, d9 = 1 (never retrieved), d1 = 0 (judged irrelevant).
#   DCG@10  = 0/log2(2) + 2/log2(3) + 0/log2(4) + 1/log2(5) = 1.26186 + 0.43068 = 1.69254
#   IDCG@10 = 2/log2(2) + 1/log2(3) + 1/log2(4)             = 2 + 0.63093 + 0.5 = 3.13093
#   nDCG@10 = 1.69254 / 3.13093 = 0.54059
# ---------------------------------------------------------------------------------------------
RANKED = ["d1", "d2", "d3", "d4"]
QRELS = {"d2": 2, "d4": 1, "d9": 1, "d1": 0}


def test_ndcg_at_10_by_hand():
    expected = (2 / math.log2(3) + 1 / math.log2(5)) / (2 + 1 / math.log2(3) + 1 / math.log2(4))
    assert ndcg_at_k(RANKED, QRELS, 10) == pytest.approx(expected)
    assert ndcg_at_k(RANKED, QRELS, 10) == pytest.approx(0.54059, abs=1e-5)


def test_ndcg_cut_off_and_extremes():
    # At k=2 only d2 counts; the ideal is cut at 2 too: 2/1 + 1/log2(3).
    assert ndcg_at_k(RANKED, QRELS, 2) == pytest.approx((2 / math.log2(3)) / (2 + 1 / math.log2(3)))
    assert ndcg_at_k(["d2", "d4", "d9"], QRELS, 10) == pytest.approx(1.0)
    assert ndcg_at_k(["d1", "d3"], QRELS, 10) == 0.0
    assert ndcg_at_k([], QRELS, 10) == 0.0
    assert ndcg_at_k(RANKED, {"d1": 0}, 10) == 0.0  # no relevant document at all
    # Graded gains are linear (trec_eval), not 2^grade - 1.
    assert ndcg_at_k(["d4", "d2"], {"d2": 2, "d4": 1}, 10) == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))


def test_dcg_discount_is_log2_of_rank_plus_one():
    assert dcg([1, 1, 1]) == pytest.approx(1 + 1 / math.log2(3) + 0.5)


def test_recall_counts_only_relevant_documents_in_the_qrels():
    assert recall_at_k(RANKED, QRELS, 100) == pytest.approx(2 / 3)  # d9 is never retrieved
    assert recall_at_k(RANKED, QRELS, 2) == pytest.approx(1 / 3)
    assert recall_at_k(RANKED, {"d1": 0}, 100) == 0.0


def test_mrr_is_the_first_relevant_rank_within_the_cut_off():
    assert mrr_at_k(RANKED, QRELS, 10) == 0.5  # d1 is judged 0, d2 is the first relevant
    assert mrr_at_k(RANKED, QRELS, 1) == 0.0
    assert mrr_at_k(["d4"], QRELS, 10) == 1.0
    assert mean([0.5, 1.0, 0.0]) == pytest.approx(0.5)
    assert mean([]) == 0.0


# ---------------------------------------------------------------------------------------------
# A tiny BEIR folder.
# ---------------------------------------------------------------------------------------------
CORPUS = [
    {"_id": "10", "title": "Vitamin D and bone density", "text": "Vitamin D supplements increase bone mineral density in older women."},
    {"_id": "11", "title": "", "text": "Zelensky met Stoltenberg in Kyiv to discuss air defence."},
    {"_id": "12", "title": "Aspirin", "text": "Low-dose aspirin reduces the risk of colorectal cancer."},
    {"_id": "13", "title": "Sleep", "text": "Short sleep is associated with obesity in children."},
]
QUERIES = [
    {"_id": "1", "text": "Vitamin D increases bone density.", "metadata": {}},
    {"_id": "2", "text": "Aspirin lowers colorectal cancer risk.", "metadata": {}},
    {"_id": "3", "text": "Who is Zelenskyy?", "metadata": {}},
    {"_id": "4", "text": "A query without qrels is not evaluated.", "metadata": {}},
]
QRELS_TSV = "query-id\tcorpus-id\tscore\r\n1\t10\t1\r\n2\t12\t1\r\n3\t11\t1\r\n"


def write_beir(folder, corpus=CORPUS, queries=QUERIES, qrels=QRELS_TSV):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in corpus), encoding="utf-8")
    (folder / "queries.jsonl").write_text("".join(json.dumps(r) + "\n" for r in queries), encoding="utf-8")
    (folder / "qrels").mkdir(exist_ok=True)
    (folder / "qrels" / "test.tsv").write_bytes(qrels.encode("utf-8"))
    return folder


def test_loader_reads_a_beir_folder(tmp_path):
    dataset = load_beir(write_beir(tmp_path / "tiny"))
    assert dataset.name == "tiny"
    assert dataset.documents["10"] == "Vitamin D and bone density\nVitamin D supplements increase bone mineral density in older women."
    assert dataset.documents["11"] == "Zelensky met Stoltenberg in Kyiv to discuss air defence."  # no title, no blank line
    assert list(dataset.queries) == ["1", "2", "3"]  # only queries with qrels, CRLF and header handled
    assert dataset.qrels == {"1": {"10": 1}, "2": {"12": 1}, "3": {"11": 1}}


def test_loader_explains_a_broken_folder(tmp_path):
    with pytest.raises(BeirFormatError, match="cannot read"):
        load_beir(tmp_path / "missing")
    with pytest.raises(BeirFormatError, match="test.tsv:2"):
        load_beir(write_beir(tmp_path / "bad-qrels", qrels="query-id\tcorpus-id\tscore\n1\t10\n"))
    with pytest.raises(BeirFormatError, match="queries.jsonl lacks: 99"):
        load_beir(write_beir(tmp_path / "unknown-query", qrels="99\t10\t1\n"))
    folder = write_beir(tmp_path / "bad-json")
    (folder / "corpus.jsonl").write_text('{"_id": "1", "text": "ok"}\nnot json\n', encoding="utf-8")
    with pytest.raises(BeirFormatError, match="corpus.jsonl:2"):
        load_beir(folder)


def test_ranking_uses_the_engine_scoring_with_spelling_variants(tmp_path):
    dataset = load_beir(write_beir(tmp_path / "tiny"))
    with_variants = run_queries(build_beir_engine(dataset, BeirParams()), dataset.queries)
    assert with_variants["3"][:1] == ["11"]  # "Zelenskyy" reaches "Zelensky" through a variant
    without = run_queries(build_beir_engine(dataset, BeirParams(fuzzy=False)), dataset.queries)
    assert "11" not in without["3"]
    assert with_variants["1"][0] == "10" and with_variants["2"][0] == "12"


def test_evaluate_reports_the_figures(tmp_path):
    report = evaluate_beir(load_beir(write_beir(tmp_path / "tiny")), BeirParams(k1=0.9, b=0.4))
    data = report.as_dict()
    assert data["documents"] == 4 and data["queries"] == 3
    assert data["ndcg@10"] == data["recall@100"] == data["mrr@10"] == 1.0
    assert data["params"] == {"k1": 0.9, "b": 0.4, "stem": True, "stopwords": True, "fuzzy": True, "semantic_weight": 0.5}
    assert data["build_seconds"] >= 0 and data["queries_per_second"] > 0


# ---------------------------------------------------------------------------------------------
# The command line.
# ---------------------------------------------------------------------------------------------
def run_bot(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"DISCORD_TOKEN", "BM25_K1", "BM25_B", "FUZZY_MATCHING", "SEMANTIC_WEIGHT"}}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT, env=environment, timeout=120
    )


def test_cli_eval_beir_json(tmp_path):
    folder = write_beir(tmp_path / "tiny")
    result = run_bot("eval-beir", str(folder), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["dataset"] == "tiny" and data["queries"] == 3
    assert data["ndcg@10"] == 1.0 and data["recall@100"] == 1.0 and data["mrr@10"] == 1.0
    assert data["params"] == {"k1": 1.2, "b": 0.75, "stem": True, "stopwords": True, "fuzzy": True, "semantic_weight": 0.5}
    assert {"build_seconds", "queries_per_second", "load_seconds", "query_seconds"} <= set(data)


def test_cli_eval_beir_options_and_table(tmp_path):
    folder = write_beir(tmp_path / "tiny")
    options = ("--k1", "0.9", "--b", "0.4", "--no-stem", "--no-stopwords", "--no-fuzzy", "--semantic-weight", "0")
    result = run_bot("eval-beir", str(folder), "--json", *options)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["params"] == {"k1": 0.9, "b": 0.4, "stem": False, "stopwords": False, "fuzzy": False, "semantic_weight": 0.0}
    assert data["recall@100"] == pytest.approx(2 / 3, abs=1e-4)  # "Zelenskyy" finds nothing without variants

    table = run_bot("eval-beir", str(folder), env={"BM25_K1": "1.5"})
    assert table.returncode == 0, table.stderr
    assert "nDCG@10" in table.stdout and "k1=1.5" in table.stdout and "4 documents, 3 queries" in table.stdout

    off = run_bot("eval-beir", str(folder), "--json", env={"SEMANTIC_WEIGHT": "0"})
    assert off.returncode == 0, off.stderr
    assert json.loads(off.stdout)["params"]["semantic_weight"] == 0.0


def test_cli_eval_beir_explains_errors(tmp_path):
    result = run_bot("eval-beir", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "Cannot read the BEIR dataset" in result.stderr
    result = run_bot("eval-beir", str(write_beir(tmp_path / "tiny")), "--b", "1.5")
    assert result.returncode == 2 and "--b" in result.stderr
    result = run_bot("eval-beir", str(write_beir(tmp_path / "tiny2")), "--semantic-weight", "-1")
    assert result.returncode == 2 and "--semantic-weight" in result.stderr
