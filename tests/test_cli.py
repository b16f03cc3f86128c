"""The command line as a user runs it: `python -m bot ...` in a subprocess, no network."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import QUESTIONS, ROOT, SEEDS


def run_bot(*args: str, stdin: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DISCORD_TOKEN": ""}  # empty, so a .env token is not used either
    environment.update({"CORPUS_DIR": str(SEEDS), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, env=environment, timeout=120,
    )


def test_ask_json_contract_one_object_per_question():
    result = run_bot("ask", "--json", "--top", "2", "How many cruise missiles did Russia launch?", "How to bake bread?")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["question"] == "How many cruise missiles did Russia launch?"
    assert isinstance(first["took_ms"], float)
    assert 1 <= len(first["results"]) <= 2
    hit = first["results"][0]
    assert hit["source"] == "001_ba5d04ac19317d3f.txt"
    assert hit["lines"] == [5, 7] and isinstance(hit["score"], float)
    assert "48 cruise missiles" in hit["text"]
    assert first["missing"] == []
    assert second["results"] == []


def test_ask_reads_questions_from_stdin_with_one_build():
    questions = "Who is Stoltenberg?\n\nWhat did Vucic say?\n"
    result = run_bot("ask", "--json", "-", stdin=questions)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["question"] for a in answers] == ["Who is Stoltenberg?", "What did Vucic say?"]
    assert all(a["results"] for a in answers)


def test_ask_source_is_relative_to_the_corpus_folder(tmp_path):
    (tmp_path / "europe").mkdir()
    (tmp_path / "europe" / "nato.md").write_text("NATO foreign ministers met in Bucharest.", encoding="utf-8")
    result = run_bot("ask", "--json", "--corpus", str(tmp_path), "Where did NATO ministers meet?")
    assert json.loads(result.stdout)["results"][0]["source"] == "europe/nato.md"


def test_ask_prints_a_readable_answer():
    result = run_bot("ask", "What did Serbian President Vucic say?")
    assert result.returncode == 0
    assert "[1] 001_ba5d04ac19317d3f.txt:13-15" in result.stdout
    assert "**Vucic**" in result.stdout  # not a terminal: bold shown as **word**


def test_ask_says_which_words_the_quotes_lack():
    result = run_bot("ask", "Has Germany delivered tanks and howitzers to Ukraine?")
    assert "\nMissing: tanks\n" in result.stdout
    as_json = json.loads(run_bot("ask", "--json", "Has Germany delivered tanks and howitzers to Ukraine?").stdout)
    assert as_json["missing"] == ["tanks"]


def test_index_reports_the_corpus(tmp_path):
    for name in SEEDS.iterdir():
        (tmp_path / name.name).write_bytes(name.read_bytes())
    (tmp_path / "broken.txt").write_bytes(b"\x00\x00binary")
    result = run_bot("index", "--json", "--corpus", str(tmp_path))
    report = json.loads(result.stdout)
    assert report["documents"] == 5 and report["passages"] > 40 and report["terms"] > 500
    assert report["skipped"] == [{"source": "broken.txt", "reason": "binary file, not text"}]
    assert report["seconds"] >= 0


def test_eval_scores_a_question_file_next_to_the_naive_reference():
    result = run_bot("eval", "--questions", str(QUESTIONS), "--baseline", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["overall"]["questions"] == report["naive_bm25"]["overall"]["questions"] == 84
    assert set(report["per_kind"]) == set(report["naive_bm25"]["per_kind"]) == {"fact", "paraphrase", "stem", "variant", "none"}
    assert report["overall"]["hit@1"] > report["naive_bm25"]["overall"]["hit@1"]
    table = run_bot("eval", "--questions", str(QUESTIONS), "--baseline").stdout
    assert table.splitlines()[0].split() == ["kind", "n", "hit@1", "hit@3", "MRR", "naive", "hit@1", "naive", "hit@3"]
    assert "Not first" in table


def test_eval_of_a_file_that_is_not_questions_is_a_friendly_error(tmp_path):
    bad = tmp_path / "questions.jsonl"
    bad.write_text('{"question": "x"}\nnot json\n', encoding="utf-8")
    result = run_bot("eval", "--questions", str(bad))
    assert result.returncode == 2
    assert result.stderr.startswith("Cannot read questions:") and "questions.jsonl:2" in result.stderr


def test_eval_warns_about_sources_the_corpus_does_not_have(tmp_path):
    # A path written from the repository ("seeds/...") instead of the corpus folder can never
    # score: say so instead of silently reporting a miss.
    path = tmp_path / "questions.jsonl"
    path.write_text(
        '{"question": "How many cruise missiles did Russia launch?", "source": "seeds/001_ba5d04ac19317d3f.txt", '
        '"must_contain": "48 cruise missiles", "kind": "fact"}\n',
        encoding="utf-8",
    )
    result = run_bot("eval", "--questions", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["overall"]["hit@1"] == 0.0
    assert "seeds/001_ba5d04ac19317d3f.txt" in result.stderr and "relative to the corpus folder" in result.stderr


def test_missing_corpus_is_a_friendly_error(tmp_path):
    result = run_bot("ask", "--corpus", str(tmp_path / "nope"), "anything")
    assert result.returncode == 2
    assert "does not exist" in result.stderr and "Traceback" not in result.stderr


def test_without_a_token_the_bot_answers_in_the_terminal():
    result = run_bot(stdin="How many cruise missiles did Russia launch?\n")
    assert result.returncode == 0, result.stderr
    assert "No DISCORD_TOKEN is set" in result.stdout
    assert "[1] 001_ba5d04ac19317d3f.txt:5-7" in result.stdout
    assert "**cruise**" in result.stdout


def test_bad_setting_is_reported_by_name():
    result = run_bot("ask", "x", env={"TOP_K": "many"})
    assert result.returncode == 2 and "TOP_K" in result.stderr
