"""The docs match the code: README.md and docs/*.md name only options, commands, modules, files and
tests that exist, each backend's ids and variables are documented, links and anchors resolve.

These check what the docs claim against the code, never the docs' wording.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

import pytest

from embedsim.backends import backends
from embedsim.cli.parser import build_parser
from embedsim.plugin.settings import OPTIONS

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\n]+)`")


def text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def section(page: Path, heading: str) -> str:
    """The text under ``heading`` (a whole heading line) up to the next heading of any level."""
    body = text(page).split(f"\n{heading}\n", 1)[1]
    return re.split(r"\n#+ ", body, maxsplit=1)[0]


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of the page's headings: lower case, punctuation dropped, spaces as dashes."""
    headings = re.findall(r"^#+ (.+)$", text(page), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    for link in LINK.findall(text(page)):
        if re.match(r"[a-z]+:", link):
            continue
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), f"{page.name}: link to {link}, which does not exist"
        if anchor and target.suffix == ".md":
            assert anchor in anchors(target), f"{page.name}: link to {link}, which has no such heading"


def test_every_test_the_guarantees_table_names_exists() -> None:
    """Each row of docs/guarantees.md names the tests that hold it; a renamed or deleted test must
    not leave the table pointing at nothing."""
    rows = [line for line in text(ROOT / "docs" / "guarantees.md").splitlines()
            if line.startswith("| ") and not line.startswith("| guarantee")]
    assert len(rows) >= 20
    for row in rows:
        named = re.findall(r"`([\w/]+\.py)::(\w+)`", row.rsplit(" | ", 1)[1])
        assert named, f"a guarantee without a test: {row[:80]}"
        for file, test in named:
            source = (ROOT / "tests" / file).read_text(encoding="utf-8")
            assert re.search(rf"^(async )?def {test}\(", source, re.M), f"tests/{file} has no {test}"


def test_the_options_table_lists_every_option_with_its_keys() -> None:
    table = section(ROOT / "docs" / "cli.md", "## pytest options")
    rows = {m.group(1): line for line in table.splitlines() if (m := re.match(r"\| `(--embedsim-[\w-]+)", line))}
    assert set(rows) == {option.flag for option in OPTIONS}
    for option in OPTIONS:
        assert f"| `{option.ini}` / `{option.key}` |" in rows[option.flag]


def test_every_embedsim_option_the_docs_name_exists() -> None:
    flags = {option.flag for option in OPTIONS}
    for page in PAGES:
        named = set(re.findall(r"--embedsim-[a-z-]*[a-z]", text(page)))
        assert named <= flags, f"{page.name} names options the plugin lacks: {sorted(named - flags)}"


def _command_options(command: str, capsys: pytest.CaptureFixture[str]) -> set[str]:
    """The options ``embedsim COMMAND --help`` lists."""
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    options = capsys.readouterr().out.split("\noptions:\n", 1)[1].split("\n\n", 1)[0]
    invocations = [re.split(r"\s{2,}", line.strip(), maxsplit=1)[0] for line in options.splitlines()
                   if line.startswith("  -")]
    return {flag for line in invocations for flag in re.findall(r"(?<![\w-])--?[a-z][\w-]*", line)} - {"-h", "--help"}


@pytest.mark.parametrize("command", ["split", "matrix"])
def test_the_command_tables_list_every_option_of_the_embedsim_command(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    body = text(ROOT / "docs" / "cli.md").split(f"`embedsim {command}", 1)[1]
    table = body.split("\n\n", 2)[1]
    documented = {flag for line in table.splitlines()[2:]
                  for flag in re.findall(r"`(--?[\w-]+)", line.split(" | ", 1)[0])}
    assert documented == _command_options(command, capsys)


def test_every_embedsim_command_line_in_the_docs_parses() -> None:
    """The examples (``embedsim split ...``, ``embedsim matrix ...``) use only options the parser knows."""
    parser = build_parser()
    lines = [line.split("#", 1)[0].split()[1:] for page in PAGES for line in text(page).splitlines()
             if line.startswith("    embedsim ")]
    assert len(lines) >= 4
    for args in lines:
        try:
            parser.parse_args(args)
        except SystemExit:
            pytest.fail(f"embedsim {' '.join(args)}: the parser refuses it")


def _resolve(dotted: str) -> object:
    """The module or attribute ``dotted`` names, importing the longest module prefix."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            found = getattr(found, name)
        return found
    raise ModuleNotFoundError(dotted)


def test_every_module_and_name_the_docs_name_exists() -> None:
    named = {m for page in PAGES for code in CODE.findall(text(page))
             for m in re.findall(r"\bembedsim(?:\.[A-Za-z_]\w*)+", code)}
    assert len(named) >= 10
    for dotted in sorted(named):
        _resolve(dotted)


def test_every_name_imported_from_embedsim_in_the_docs_exists() -> None:
    import embedsim

    for page in PAGES:
        for names in re.findall(r"from embedsim import ([\w, ]+)", text(page)):
            for name in names.replace(" ", "").split(","):
                assert hasattr(embedsim, name), f"{page.name}: embedsim has no {name}"


def test_every_repository_path_the_docs_name_exists() -> None:
    prefixes = ("embedsim/", "scripts/", "benchmarks/", "fixtures/", "docs/", ".ci/", "tests/spec/")
    for page in PAGES:
        for code in CODE.findall(text(page)):
            path = code.split("::", 1)[0].strip("'")
            if path.startswith(prefixes) and not re.search(r"[<>*{}]|\.\.\.", path):
                assert (ROOT / path).exists(), f"{page.name} names {path}, which does not exist"


def test_every_environment_variable_of_embedsim_the_docs_name_is_read_by_the_code() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "embedsim").rglob("*.py"))
    for page in PAGES:
        for variable in set(re.findall(r"\bEMBEDSIM_[A-Z_]+", text(page))):
            assert f'"{variable}"' in source, f"{page.name} names {variable}, which embedsim never reads"


def test_every_backend_is_documented_with_its_ids_credentials_and_base_url() -> None:
    page = text(ROOT / "docs" / "backends.md")
    for spec in backends():
        facts = [*spec.model_ids, *spec.key_env, *spec.credential_env, *(spec.wire.base_url_env if spec.wire else ())]
        missing = [fact for fact in facts if f"`{fact}`" not in page]
        assert not missing, f"docs/backends.md does not name {missing} of the backend {spec.name}"


def test_every_extra_is_documented() -> None:
    extras = tomllib.loads(text(ROOT / "pyproject.toml"))["project"]["optional-dependencies"]
    page = text(ROOT / "docs" / "backends.md")
    for extra in set(extras) - {"test"}:
        assert f"`{extra}`" in page or f"[{extra}]" in page, f"docs/backends.md does not name the extra {extra}"


def test_the_docs_name_the_retried_status_codes_of_gemini() -> None:
    from embedsim.backends.gemini.embedder import RETRIED_STATUS_CODES

    assert "Retries** of " + " / ".join(map(str, RETRIED_STATUS_CODES)) + "," in " ".join(
        section(ROOT / "docs" / "backends.md", "## Gemini").split())
