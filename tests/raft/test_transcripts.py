"""The Raft transcripts (``transcripts/*.txt``): datadriven files of commands and the
output they must print, in the style of etcd-io/raft's ``testdata``.

Rules of this file:

- Each transcript runs through ``interaction.Interaction`` against a fresh cluster; the
  file as this run renders it must equal the stored file, byte for byte, else the test
  fails with the unified diff.
- Expectations (``expect-*`` commands) are checked against the nodes: a failed one fails
  the test whatever the stored output says, and every transcript has at least one.
- ``HARMONYSIM_REWRITE=1`` writes the rendered file (only outputs change), prints the diff
  and fails, so the run that rewrote a file never passes: review the diff, then run again
  without it. It refuses to write a transcript whose expectations fail.
- The runner itself is tested here: a wrong expected output, a failed expectation, a
  malformed file and a bad command must each fail, naming the file and line.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .datadriven import Case, DataDrivenError, parse, parse_args, render, run_file
from .interaction import Interaction

TRANSCRIPTS = Path(__file__).parent / "transcripts"
REWRITE = os.environ.get("HARMONYSIM_REWRITE") == "1"


def verify(path: Path, *, rewrite: bool = False) -> None:
    """Run one transcript; raise ``AssertionError`` saying what is wrong with it."""
    interaction = Interaction()
    result = interaction.run(path)
    if interaction.failures:
        raise AssertionError(
            f"{path.name}: expectations failed (no rewrite makes them pass):\n"
            + "\n".join(interaction.failures)
        )
    if interaction.expectations == 0:
        raise AssertionError(f"{path.name} checks nothing: add an expect-* command")
    if result.matches:
        return
    diff = result.diff()
    if rewrite:
        path.write_text(result.rendered, encoding="utf-8")
        print(diff)
        raise AssertionError(
            f"rewrote {path.name}; review the diff, then rerun without HARMONYSIM_REWRITE:\n{diff}"
        )
    raise AssertionError(
        f"{path.name} differs from this run (HARMONYSIM_REWRITE=1 rewrites it):\n{diff}"
    )


@pytest.mark.parametrize("name", sorted(path.name for path in TRANSCRIPTS.glob("*.txt")))
def test_transcript(name: str) -> None:
    try:
        verify(TRANSCRIPTS / name, rewrite=REWRITE)
    except AssertionError as error:
        pytest.fail(str(error), pytrace=False)


def test_the_ported_golden_cases_and_the_new_rules_are_all_there() -> None:
    names = {path.stem for path in TRANSCRIPTS.glob("*.txt")}
    ported = {"election_3_nodes", "split_vote", "figure_7", "figure_8", "prevote_rejoin"}
    added = {"membership", "snapshot_catch_up", "read_index", "lease_read"}
    assert ported | added | {"leadership_transfer"} <= names


# ---------------------------------------------------------------------- the runner


def copy_of(name: str, tmp_path: Path) -> Path:
    path = tmp_path / name
    shutil.copy(TRANSCRIPTS / name, path)
    return path


def test_a_wrong_expected_output_fails_with_its_diff(tmp_path: Path) -> None:
    path = copy_of("election_3_nodes.txt", tmp_path)
    text = path.read_text(encoding="utf-8")
    assert "n1 became LEADER at term 1\n" in text
    path.write_text(text.replace("n1 became LEADER at term 1\n", "n2 became LEADER at term 1\n"))
    with pytest.raises(AssertionError, match="differs from this run") as failure:
        verify(path)
    assert "-n2 became LEADER at term 1\n" in str(failure.value)
    assert "+n1 became LEADER at term 1\n" in str(failure.value)


def test_rewrite_fills_in_outputs_keeps_the_rest_and_fails_that_run(tmp_path: Path) -> None:
    stored = (TRANSCRIPTS / "split_vote.txt").read_text(encoding="utf-8")
    cases = parse(stored, "split_vote.txt")
    blank = render(stored, cases, [["stale"] for _ in cases])
    path = tmp_path / "split_vote.txt"
    path.write_text(blank, encoding="utf-8")
    with pytest.raises(AssertionError, match=r"rewrote split_vote\.txt"):
        verify(path, rewrite=True)
    assert path.read_text(encoding="utf-8") == stored  # comments and inputs kept as they were
    verify(path)  # the next run passes


def test_a_failed_expectation_fails_whatever_the_text_and_is_not_rewritten(
    tmp_path: Path,
) -> None:
    path = copy_of("election_3_nodes.txt", tmp_path)
    text = path.read_text(encoding="utf-8").replace("expect-leader n1 term=1", "expect-leader n2")
    path.write_text(text, encoding="utf-8")
    for rewrite in (False, True):
        with pytest.raises(AssertionError, match="expected leader n2, but the leaders are"):
            verify(path, rewrite=rewrite)
        assert path.read_text(encoding="utf-8") == text


def test_a_transcript_without_expectations_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "nothing.txt"
    path.write_text("add-nodes n1\n----\nok\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="checks nothing"):
        verify(path)


def test_figure_8_with_its_bug_commits_2_at_1_and_the_expectation_says_so() -> None:
    interaction = Interaction(bugs=frozenset({"commit_prior_term_by_count"}), strict=False)
    interaction.run(TRANSCRIPTS / "figure_8.txt")
    assert interaction.failures, "the bug went unnoticed"
    assert (
        "expected committed [1@1 noop], but committed [1@1 noop, 2@1 'x']"
        in (interaction.failures[0])
    )
    assert any("committed entry changed" in v for v in interaction.nodes.violations)


def test_a_safety_violation_stops_a_strict_transcript_at_its_command() -> None:
    interaction = Interaction(bugs=frozenset({"commit_prior_term_by_count"}))
    with pytest.raises(DataDrivenError, match=r"figure_8.txt:\d+: deliver: HarnessSafetyError"):
        interaction.run(TRANSCRIPTS / "figure_8.txt")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("add-nodes n1\n----\nok\n\nfly n1\n----\n", r"x.txt:5: fly: unknown command"),
        ("add-nodes n1\n----\nok\n\ntick n1 times=2\n----\n", r"x.txt:5: tick: unknown arg"),
        ("add-nodes n1\n----\nok\n\ncampaign n9\n----\n", r"x.txt:5: campaign: no node 'n9'"),
        ("add-nodes n1\n----\nok\n\ntick n=two\n----\n", r"tick: n= expects an integer"),
        ("add-nodes n1\n----\nok\n\ndeliver type=Ap\n----\n", r"unknown message types \['Ap'\]"),
        ("add-nodes n1\n----\nok\n\ncrash n1\n----\n\nrestart n1 n1\n----\n", r"expects 1 plain"),
        ("state\n----\n", r"x.txt:1: state: no nodes yet"),
        ("add-nodes n1\n\n----\n", r"x.txt:1: 'add-nodes n1' has no ---- line before"),
        ("add-nodes n1\n", r"x.txt:1: 'add-nodes n1' has no ---- line"),
        ("----\n", r"x.txt:1: ---- without a command"),
        ("add-nodes n1\n----\n\ncompact n1 index=3\n----\n", r"x.txt:4: compact: ValueError"),
    ],
)
def test_a_bad_file_or_command_names_the_file_and_line(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "x.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataDrivenError, match=message):
        Interaction().run(path)


# ---------------------------------------------------------------------- the file format


def test_arguments_are_words_keys_and_lists() -> None:
    args = parse_args("n1 n=3 to=(n2,n3) none=()")
    assert [(arg.key, arg.values) for arg in args] == [
        ("n1", None),
        ("n", ("3",)),
        ("to", ("n2", "n3")),
        ("none", ()),
    ]


def test_a_case_has_its_input_and_its_expected_output() -> None:
    text = "# comment\nexpect-committed\n1@1 noop\n----\nok\n\nstate\n----\n"
    first, second = parse(text, "t.txt")
    assert (first.line, first.command, first.input, first.expected) == (
        2,
        "expect-committed",
        ("1@1 noop",),
        ("ok",),
    )
    assert (second.line, second.expected) == (7, ())
    assert render(text, [first, second], [["FAILED"], ["a", "b"]]) == (
        "# comment\nexpect-committed\n1@1 noop\n----\nFAILED\n\nstate\n----\na\nb\n"
    )


def test_an_output_may_be_neither_empty_nor_hold_a_blank_line(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("say\n----\n", encoding="utf-8")

    def silent(case: Case) -> list[str]:
        return []

    def gappy(case: Case) -> list[str]:
        return ["a", "", "b"]

    with pytest.raises(DataDrivenError, match=r"t\.txt:1: say: printed nothing"):
        run_file(path, silent)
    with pytest.raises(DataDrivenError, match=r"t\.txt:1: say: printed a blank line"):
        run_file(path, gappy)
