"""The index cache: restarts load it, changed files are read again (only they), damage is survived."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from bot import build as build_module
from bot import cache as cache_module
from bot.analyzer import Analyzer
from bot.build import build_engine
from bot.cache import IndexCache
from bot.cli import main as cli_main
from bot.config import EngineSettings
from tests.conftest import SEEDS

QUESTIONS = [
    "How many cruise missiles did Russia launch?",
    "penguins in Antarctica",
    "Who is Stoltenberg?",
    # Ranked by which passages (or the ones before them) name Poland: files are looked up.
    "How many were killed in the missile explosion in Poland?",
]


def corpus_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    (folder / "extra.md").write_text("# Penguins\n\nPenguins were seen marching in Antarctica.\n", encoding="utf-8")
    return folder


def build(folder: Path, cache: Path | None, **overrides):
    return build_engine(EngineSettings(corpus_dir=folder, cache_dir=cache, **overrides))


def snapshot(built) -> dict:
    """Everything that decides answers: passages, vocabulary, postings and their weights."""
    index = built.engine.index
    postings = index.postings
    return {
        "passages": [(p.source, p.first_line, p.last_line, p.text) for p in index.passages],
        "vocabulary": list(index.vocabulary),
        "offsets": postings.offsets.tolist(),
        "doc_ids": postings.doc_ids.tolist(),
        "weights": postings.weights.tolist(),
        "forward": (index.forward.term_offsets.tolist(), index.forward.term_ids.tolist(), index.forward.term_freqs.tolist()),
        "skipped": built.report.skipped,
    }


def answers(built) -> list:
    return [[(h.source, h.lines, round(h.score, 4)) for h in built.engine.ask(q).hits] for q in QUESTIONS]


def test_a_restart_loads_the_cache_and_answers_the_same(tmp_path):
    folder, cache = corpus_copy(tmp_path), tmp_path / "cache"
    cold = build(folder, cache)
    assert (cold.report.cache, cold.report.files_read) == ("cold", 6)
    warm = build(folder, cache)
    assert (warm.report.cache, warm.report.files_read) == ("hit", 0)
    assert snapshot(warm) == snapshot(cold) == snapshot(build(folder, None))
    assert answers(warm) == answers(cold) == answers(build(folder, None))


def test_a_changed_file_is_read_again_and_only_it(tmp_path):
    folder, cache = corpus_copy(tmp_path), tmp_path / "cache"
    build(folder, cache)
    article = folder / "extra.md"
    article.write_text(article.read_text(encoding="utf-8").replace("Penguins were", "Pelicans were"), encoding="utf-8")
    again = build(folder, cache)
    assert (again.report.cache, again.report.files_read) == ("updated", 1)
    assert "Pelicans" in again.engine.ask("pelicans marching").hits[0].text


def test_a_rewrite_that_keeps_size_and_modification_time_is_still_noticed(tmp_path):
    folder, cache = corpus_copy(tmp_path), tmp_path / "cache"
    build(folder, cache)
    article = folder / "extra.md"
    before = article.stat()
    article.write_bytes(article.read_bytes().replace(b"Penguins were", b"Pelicans were"))
    os.utime(article, ns=(before.st_atime_ns, before.st_mtime_ns))  # as rsync -t or tar would
    assert build(folder, cache).engine.ask("pelicans marching").hits


def test_a_touched_file_is_hashed_not_read(tmp_path):
    folder, cache = corpus_copy(tmp_path), tmp_path / "cache"
    build(folder, cache)
    os.utime(folder / "extra.md")
    again = build(folder, cache)
    assert (again.report.cache, again.report.files_read) == ("hit", 0)


@pytest.mark.parametrize("change", ["edit", "add", "remove", "rename", "rename-in-place", "copy", "empty", "binary"])
def test_an_incremental_build_equals_a_cold_build(tmp_path, change):
    folder, cache = corpus_copy(tmp_path), tmp_path / "cache"
    build(folder, cache)
    first = sorted(folder.glob("*.txt"))[1]
    if change == "edit":
        with first.open("a", encoding="utf-8") as handle:
            handle.write("\nA new closing paragraph about the weather in Kharkiv.\n")
    elif change == "add":
        (folder / "b-new.txt").write_text("Brand new article about grain ships in Odesa.\n", encoding="utf-8")
    elif change == "remove":
        first.unlink()
    elif change == "rename":
        first.rename(folder / "zz-renamed.txt")
    elif change == "rename-in-place":  # a new name that sorts in the same place
        first.rename(folder / (first.stem + "-renamed.txt"))
    elif change == "copy":
        shutil.copy(first, folder / "aa-copy.txt")
    elif change == "empty":
        first.write_text("  \n\n", encoding="utf-8")
    elif change == "binary":
        first.write_bytes(b"\x00\x01binary")
    incremental = build(folder, cache)
    assert incremental.report.cache == "updated"
    assert snapshot(incremental) == snapshot(build(folder, None))
    assert snapshot(build(folder, cache)) == snapshot(incremental)  # and that is what is stored


def generation_files(cache: Path) -> list[Path]:
    current = next(cache.glob("*/current.json"))
    generation = current.parent / json.loads(current.read_text())["generation"]
    return sorted(p for p in generation.iterdir() if p.is_file())


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "empty"])
def test_a_damaged_cache_file_is_ignored_and_the_index_rebuilt(tmp_path, damage):
    folder, cache = corpus_copy(tmp_path), tmp_path / "cache"
    expected = snapshot(build(folder, cache))
    names = [p.name for p in generation_files(cache) if p.name != "stats.npy"]  # stats are only hints
    assert {"manifest.json", "texts.bin", "vocabulary.json", "postings_weights.npy"} <= set(names)
    for name in names:
        path = next(p for p in generation_files(cache) if p.name == name)  # the current generation's
        data = path.read_bytes()
        if damage == "flip":
            middle = len(data) // 2
            path.write_bytes(data[:middle] + bytes([data[middle] ^ 0x20]) + data[middle + 1 :])
        elif damage == "truncate":
            path.write_bytes(data[: len(data) // 2])
        elif damage == "delete":
            path.unlink()
        else:
            path.write_bytes(b"")
        rebuilt = build(folder, cache)
        assert rebuilt.report.cache == "cold", path.name  # not used: rebuilt (and stored again)
        assert snapshot(rebuilt) == expected


def test_an_index_of_another_format_or_other_settings_is_not_used(tmp_path):
    folder, cache = corpus_copy(tmp_path), tmp_path / "cache"
    build(folder, cache)
    manifest = next(p for p in generation_files(cache) if p.name == "manifest.json")
    content = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**content, "format": content["format"] + 1}))
    assert build(folder, cache).report.cache == "cold"
    smaller = build(folder, cache, passage_tokens=48)
    assert smaller.report.cache == "cold"  # other settings: another cache entry
    assert smaller.report.passages > build(folder, cache).report.passages


def test_an_index_cut_by_an_older_chunker_is_not_used(tmp_path, monkeypatch):
    # An upgrade that cleans or cuts the same files differently must not serve the old passages.
    folder, cache = corpus_copy(tmp_path), tmp_path / "cache"
    build(folder, cache)
    assert build(folder, cache).report.cache != "cold"
    monkeypatch.setattr(build_module, "PASSAGES_VERSION", build_module.PASSAGES_VERSION + 1)
    assert build(folder, cache).report.cache == "cold"


def test_the_cache_holds_plain_arrays_and_text_no_pickles(tmp_path):
    folder, cache = corpus_copy(tmp_path), tmp_path / "cache"
    build(folder, cache)
    for path in generation_files(cache):
        assert path.suffix in {".npy", ".json", ".bin"}
        if path.suffix == ".npy":
            np.load(path, allow_pickle=False)
    assert not list(cache.rglob("*.tmp"))


def test_many_files_are_read_by_worker_processes_with_the_same_result(tmp_path, monkeypatch):
    folder = corpus_copy(tmp_path)
    serial = snapshot(build(folder, None))
    monkeypatch.setattr(build_module, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(build_module, "BATCH_FILES", 2)
    monkeypatch.setattr(build_module, "worker_count", lambda: 2)
    assert snapshot(build(folder, None)) == serial


def test_jobs_are_batched_big_first_and_small_last():
    jobs = list(range(28_868))
    batches = build_module.job_batches(jobs, 2)
    assert [job for batch in batches for job in batch] == jobs
    sizes = [len(batch) for batch in batches]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] == build_module.MAX_BATCH_FILES
    assert sizes[-2] == build_module.BATCH_FILES  # the workers finish on small jobs, together
    assert [len(batch) for batch in build_module.job_batches(list(range(999)), 1)] == [400, 400, 199]


def test_no_cache_on_the_command_line_writes_nothing(tmp_path, monkeypatch, capsys):
    folder, cache = corpus_copy(tmp_path), tmp_path / "cache"
    monkeypatch.setenv("INDEX_CACHE_DIR", str(cache))
    assert cli_main(["index", "--json", "--no-cache", "--corpus", str(folder)]) == 0
    assert json.loads(capsys.readouterr().out)["cache"] == "off"
    assert not cache.exists()
    assert cli_main(["index", "--json", "--corpus", str(folder)]) == 0
    assert json.loads(capsys.readouterr().out)["cache"] == "cold"
    assert cache.exists()


def test_two_processes_saving_at_once_keep_the_newest_generation_on_disk(tmp_path, monkeypatch):
    """Shards share INDEX_CACHE_DIR. A generation started first but finished last must neither
    take the pointer from the newer one nor leave the pointer on a deleted folder."""
    folder, cache_dir = corpus_copy(tmp_path), tmp_path / "cache"
    settings = EngineSettings(corpus_dir=folder, cache_dir=cache_dir)
    expected = snapshot(build_engine(settings))
    cache = IndexCache(cache_dir, folder, build_module.cache_key(settings, Analyzer()))
    stored = cache.load()
    newer = cache.save(stored.segment, stored.postings)
    started_before = int(newer.generation.name.split("-")[1]) - 1_000_000
    monkeypatch.setattr(cache_module.time, "time_ns", lambda: started_before)
    older = cache.save(stored.segment, stored.postings)
    monkeypatch.undo()

    pointer = json.loads((cache.entry / "current.json").read_text(encoding="utf-8"))["generation"]
    assert pointer == newer.generation.name and newer.generation.is_dir()
    assert not older.generation.exists()  # older than the current one: removed
    cache.update_stats(older, older.segment.stats)  # its folder is gone: a hint lost, no error
    rebuilt = build_engine(settings)
    assert rebuilt.report.cache == "hit"
    assert snapshot(rebuilt) == expected


def test_a_cold_build_keeps_each_file_stat_as_read_so_a_restart_reads_nothing(tmp_path):
    folder, cache = corpus_copy(tmp_path), tmp_path / "cache"
    cold = build(folder, cache)  # listed by name only: the stats come from the files as read
    stored = IndexCache(cache, folder, build_module.cache_key(EngineSettings(corpus_dir=folder, cache_dir=cache), Analyzer())).load()
    listed = build_module.scan_corpus(folder)
    assert stored is not None and stored.segment.sources == listed.sources
    assert stored.segment.stats[:, [0, 3]].tolist() == listed.stats[:, [0, 3]].tolist()  # size and inode
    warm = build(folder, cache)
    assert (warm.report.cache, warm.report.files_read) == ("hit", 0)
    assert snapshot(warm) == snapshot(cold)


def test_an_index_stored_by_another_build_during_the_listing_is_still_compared_by_stat(tmp_path, monkeypatch):
    folder, cache = corpus_copy(tmp_path), tmp_path / "cache"
    build(folder, cache)
    # The listing thinks nothing is stored (so lists names only), then the load finds an index.
    monkeypatch.setattr(IndexCache, "has_stored", lambda self: False)
    again = build(folder, cache)
    assert (again.report.cache, again.report.files_read) == ("hit", 0)
