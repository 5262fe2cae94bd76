"""The Git Data edge's own arithmetic: a file's blob id as Git computes it, and which files
a commit would change."""

from __future__ import annotations

from app.github.pages import Branch, blob_id, changed


def test_blob_ids_are_gits() -> None:
    # `git hash-object` of an empty file and of "hello\n"
    assert blob_id("") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert blob_id("hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"


def test_only_files_that_differ_are_written() -> None:
    branch = Branch("gh-pages", "c1", "t1", None, {"a.html": blob_id("same"), "b": blob_id("x")})
    assert changed(branch, {"a.html": "same", "b": "y", "new": ""}) == {"b": "y", "new": ""}
