"""FollowTheMoney exports through the real loader into the real engine: what a tester
found lost, mangled or kept where it must not be (``credit-graph load --format ftm``)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from graph.store import GraphStore
from loaders import row_pool
from loaders.formats import ftm_format
from loaders.pipeline import LoadSummary, load_files
from schema.policy import Policy, load_policy
from tests.builders import entity, person_code, uscc_code

NANTONG = load_policy("nantong")
CO = "91320602MA1QQQ001D"
CO2 = uscc_code(611)
P_ADULT = person_code(611)
SECRET = "SECRET佛教"


def _load(
    store: GraphStore,
    paths: list[Path],
    policy: Policy = NANTONG,
    fmt: str | None = "ftm",
    workers: int | None = None,
) -> LoadSummary:
    return load_files(
        store, paths, policy=policy, provider="os", fmt=fmt, today=dt.date(2026, 11, 21),
        workers=workers,
    )


def ftm(eid: str, schema: str, **props: Any) -> dict[str, Any]:
    return {
        "id": eid,
        "schema": schema,
        "properties": {k: v if isinstance(v, list) else [v] for k, v in props.items()},
    }


def _write(path: Path, entities: list[dict[str, Any]]) -> Path:
    path.write_text(
        "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entities), encoding="utf-8"
    )
    return path


def _rejects(summary: LoadSummary) -> list[dict[str, Any]]:
    [path] = summary.rejects_files
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


def _subjects_from_the_first_export(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "f1.ftm.json",
        [
            ftm("co-a", "Company", name="南通甲贸易有限公司", registrationNumber=CO),
            ftm("p-adult", "Person", name="顾建国", idNumber=P_ADULT),
            ftm("p-noid", "Person", name="John Doe"),
        ],
    )


def _links_of_the_second_export(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "f2.ftm.json",
        [
            ftm("d-10", "Directorship", director="p-adult", organization="co-a"),
            ftm("s-10", "Sanction", entity="co-a", startDate="2023-02-02", program="某名单"),
            ftm("d-11", "Directorship", director="p-noid", organization="co-a"),
        ],
    )


def _directors(store: GraphStore) -> list[dict[str, Any]]:
    return store.read(
        "MATCH (p)-[:DIRECTOR_OF]->(c) RETURN p.code AS p, c.code AS c ORDER BY p.code"
    )


def _sanctioned(store: GraphStore) -> list[dict[str, Any]]:
    return store.read(
        "MATCH (r:Record {kind: $k})-[:CONCERNS]->(s) RETURN r.uid AS r, s.code AS s",
        {"k": "sanction"},
    )


# -- 1. references to subjects of an earlier file ---------------------------------------


@pytest.mark.parametrize("workers", [0, 2])
def test_links_to_subjects_of_an_earlier_export_land_on_their_codes(
    store: GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """OpenSanctions deltas and split exports name entities loaded before by their FtM
    id; co-a is in the graph as its USCC, not as ftm:co-a, and must be found. The same
    with validation in worker processes, which write the subjects' ids."""
    monkeypatch.setattr(row_pool, "PARALLEL_MIN_BYTES", 0)
    first = _subjects_from_the_first_export(tmp_path)
    assert _load(store, [first], workers=workers).exit_code == 0
    later = _load(store, [_links_of_the_second_export(tmp_path)], workers=workers)
    assert later.exit_code == 0 and later.loaded == 3, later.as_dict()
    assert _directors(store) == [{"p": P_ADULT, "c": CO}, {"p": "ftm:p-noid", "c": CO}]
    assert _sanctioned(store) == [{"r": "os:s-10", "s": CO}]
    assert store.read("MATCH (s:Subject {code: $c}) RETURN s.code", {"c": "ftm:co-a"}) == []
    # Loading the second file again changes nothing.
    again = _load(store, [_links_of_the_second_export(tmp_path)])
    assert again.exit_code == 0 and again.loaded == 0 and again.unchanged == 3


def test_the_ftm_id_is_kept_whatever_loads_the_subject_before_or_after(
    store: GraphStore, tmp_path: Path, write_jsonl: Any
) -> None:
    """The subject came first from a provider's JSONL with the very content the export
    gives it (an unchanged row is skipped), and a later JSONL row changes it again: the
    export's id must still be remembered and name it."""
    local = entity(CO, "南通甲贸易有限公司", org_type="enterprise")
    assert _load(store, [write_jsonl([local])], fmt=None).exit_code == 0
    first = _subjects_from_the_first_export(tmp_path)
    assert _load(store, [first]).exit_code == 0
    assert _load(store, [first]).loaded == 0  # the same export again changes nothing
    renamed = entity(CO, "南通甲贸易集团有限公司", org_type="enterprise")
    assert _load(store, [write_jsonl([renamed])], fmt=None).loaded == 1
    later = _load(store, [_links_of_the_second_export(tmp_path)])
    assert later.exit_code == 0, later.as_dict()
    assert _sanctioned(store) == [{"r": "os:s-10", "s": CO}]
    assert {d["c"] for d in _directors(store)} == {CO}


def test_an_export_past_the_in_memory_bound_still_links_within_itself(
    store: GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader keeps a bounded number of FtM ids with their codes in memory; past it
    a link names ``ftm:<id>`` and is resolved through the graph, where the subject of
    the same file already is by then."""
    monkeypatch.setattr(ftm_format, "REFERENCE_CODES_MAX", 0)
    path = _write(
        tmp_path / "one.ftm.json",
        [
            ftm("d-1", "Directorship", director="p-adult", organization="co-a"),
            ftm("co-a", "Company", name="南通甲贸易有限公司", registrationNumber=CO),
            ftm("p-adult", "Person", name="顾建国", idNumber=P_ADULT),
        ],
    )
    summary = _load(store, [path])
    assert summary.exit_code == 0 and summary.loaded == 3, summary.as_dict()
    assert _directors(store) == [{"p": P_ADULT, "c": CO}]


def test_an_ftm_id_given_to_two_subjects_is_not_guessed(
    store: GraphStore, tmp_path: Path
) -> None:
    """An export corrected co-a's USCC: the id now names two subjects in the graph, and
    a link by that id is refused with the reason rather than put on either."""
    old = _write(tmp_path / "old.ftm.json", [ftm("co-a", "Company", name="甲", uscCode=CO)])
    new = _write(tmp_path / "new.ftm.json", [ftm("co-a", "Company", name="甲", uscCode=CO2)])
    assert _load(store, [old]).exit_code == 0 and _load(store, [new]).exit_code == 0
    link = _write(
        tmp_path / "link.ftm.json",
        [ftm("s-1", "Sanction", entity="co-a", startDate="2023-02-02")],
    )
    summary = _load(store, [link])
    assert dict(summary.rejected) == {"unknown_reference": 1}
    [rejected] = _rejects(summary)
    assert "FtM id co-a names 2 subjects in the graph" in rejected["reason"]
    assert _sanctioned(store) == []


# -- 2. a property given as a string ----------------------------------------------------


def test_an_ftm_property_given_as_a_string_is_refused_not_split(
    store: GraphStore, tmp_path: Path
) -> None:
    line = {
        "id": "co-n3",
        "schema": "Company",
        "properties": {"name": "字符串不是列表", "registrationNumber": CO},
    }
    summary = _load(store, [_write(tmp_path / "s.ftm.json", [line])])
    assert dict(summary.rejected) == {"malformed": 1}, summary.as_dict()
    [rejected] = _rejects(summary)
    assert "name" in rejected["reason"] and "FtM property values are lists" in rejected["reason"]
    assert rejected["properties"] == line["properties"]  # for the provider to fix
    assert store.read("MATCH (s:Subject) RETURN s.code AS c, s.name AS n") == []


# -- 3. prohibited properties -----------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "prop", "article"),
    [("wuhan", "religion", "Art. 15"), ("zhengzhou", "ethnicity", "Art. 9(1)")],
)
def test_an_ftm_entity_with_a_prohibited_property_is_rejected(
    store: GraphStore, tmp_path: Path, policy: str, prop: str, article: str
) -> None:
    path = _write(
        tmp_path / "p.ftm.json",
        [
            ftm("p-adult", "Person", name="顾建国", idNumber=P_ADULT, **{prop: SECRET}),
            ftm("p-other", "Person", name="John Doe"),
        ],
    )
    summary = _load(store, [path], policy=load_policy(policy))
    assert dict(summary.rejected) == {"prohibited_field": 1}, summary.as_dict()
    assert summary.loaded == 1
    [rejected] = _rejects(summary)
    assert f"'properties.{prop}" in rejected["reason"] and article in rejected["reason"]
    assert rejected["id"] == "p-adult" and rejected["properties"]["name"] == ["顾建国"]
    assert SECRET not in json.dumps(rejected, ensure_ascii=False)
    codes = [r["c"] for r in store.read("MATCH (s:Subject) RETURN s.code AS c")]
    assert codes == ["ftm:p-other"]


def test_a_prohibited_property_beside_another_problem_is_counted_as_prohibited(
    store: GraphStore, tmp_path: Path
) -> None:
    """Rejected for a missing date as well: the regulators' category wins, both are
    named, the value stays out."""
    sanction = ftm("s-1", "Sanction", entity="co-a", religion=SECRET)
    summary = _load(store, [_write(tmp_path / "s.ftm.json", [sanction])])
    assert dict(summary.rejected) == {"prohibited_field": 1}, summary.as_dict()
    [rejected] = _rejects(summary)
    assert "'properties.religion' (Art. 14)" in rejected["reason"]
    assert "decided_on" in rejected["reason"]
    assert SECRET not in json.dumps(rejected, ensure_ascii=False)


def test_ethnicity_is_rejected_only_where_the_policy_forbids_it_and_never_stored(
    store: GraphStore, tmp_path: Path
) -> None:
    """Zhengzhou Art. 9(1) forbids race, which FtM can only give as ethnicity; Nantong
    forbids neither: there the person loads, and the value is still stored nowhere."""
    path = _write(
        tmp_path / "p.ftm.json",
        [ftm("p-adult", "Person", name="顾建国", idNumber=P_ADULT, ethnicity=SECRET)],
    )
    assert dict(_load(store, [path], policy=load_policy("zhengzhou")).rejected) == {
        "prohibited_field": 1
    }
    assert store.read("MATCH (s:Subject) RETURN s.code") == []
    loaded = _load(store, [path], policy=NANTONG)
    assert loaded.exit_code == 0 and loaded.loaded == 1
    stored = store.read("MATCH (n) RETURN properties(n) AS p")
    assert SECRET not in json.dumps(stored, ensure_ascii=False)


# -- 4. over-long values stay out of the rejects file -----------------------------------


@pytest.mark.parametrize(
    ("entity_", "field"),
    [
        (ftm("s-1", "Sanction", entity="co-a", startDate="2023-02-02", program="x" * 20_000),
         "title"),
        (ftm("d-1", "Directorship", director="p-1", organization="co-a", role="x" * 20_000),
         "position"),
    ],
)
def test_an_over_long_ftm_value_is_kept_out_of_the_rejects_file(
    store: GraphStore, tmp_path: Path, entity_: dict[str, Any], field: str
) -> None:
    summary = _load(store, [_write(tmp_path / "long.ftm.json", [entity_])])
    assert dict(summary.rejected) == {"field_too_long": 1}, summary.as_dict()
    [rejected] = _rejects(summary)
    assert rejected["reason"].startswith(f"{field}: 20000 characters")
    assert "x" * 100 not in json.dumps(rejected)
    assert rejected["id"] == entity_["id"]
    kept = {k: v for k, v in entity_["properties"].items() if "x" * 100 not in v[0]}
    assert rejected["properties"] == kept  # the rest stays, for the provider to fix
