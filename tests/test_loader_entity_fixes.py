"""Subject rows that said less than the node holds, future act dates, and how enumeration
values are spelt: what a tester found, through the real loader on real files into the
real engine.

1. A row sets only the fields it carries: a source that reports a company's code and
   name (or a row with blank cells) no longer turns a revoked social organisation into
   an active enterprise and erases its dates, address and capital (DOMAIN.md section 1:
   one subject, one node, whatever source reported it). Defaults apply when the node is
   created; a change keeps the previous content as a ``SubjectVersion``.
2. An ``act_ended_on`` after today is refused as a future ``decided_on`` is: a typo (2035
   for 2025) moved the act date past a change of legal representative and made the
   successor answer for the act.
3. An empty enumeration value means "not given" in JSON Lines as in CSV, and values are
   read stripped and in any case (``" Enterprise"``, ``"NEGATIVE"``, ``" withdraw"``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from api.checks import check_sanctions
from graph.store import GraphStore
from loaders.pipeline import LoadSummary, load_files
from schema.catalogue import load_catalogue
from schema.policy import load_policy
from schema.workdays import china_today
from tests.builders import (
    csv_file,
    entity,
    jsonl_file,
    person,
    person_code,
    record,
    role,
    uscc_code,
)
from tests.snapshot import graph_snapshot

NANTONG = load_policy("nantong")
CATALOGUE = load_catalogue()
TODAY = dt.date(2026, 11, 21)
CO = "91320602MA1MQ7HD42"  # the tester's company
CO2 = uscc_code(871)
P1, P2 = person_code(871), person_code(872)

FULL = {
    "type": "entity",
    "code": CO,
    "name": "南通宏达",
    "org_type": "social_org",
    "status": "revoked",
    "established": "2001-02-03",
    "terminated": "2024-05-06",
    "address": "南通市",
    "registered_capital": 5000000,
}
STORED = {
    "name": "南通宏达",
    "org_type": "social_org",
    "status": "revoked",
    "established": "2001-02-03",
    "terminated": "2024-05-06",
    "address": "南通市",
    "registered_capital": 5000000,
}
ENTITY_COLUMNS = [
    "code", "name", "org_type", "status", "established", "terminated", "address",
    "registered_capital",
]


def _load(store: GraphStore, path: Path, provider: str = "market", **kw: Any) -> LoadSummary:
    return load_files(store, [path], policy=NANTONG, provider=provider, today=TODAY, **kw)




def _entity(store: GraphStore, code: str = CO) -> dict[str, Any]:
    [row] = store.read("MATCH (e:Entity {code: $c}) RETURN properties(e) AS p", {"c": code})
    return dict(row["p"])


def _facts(store: GraphStore, code: str = CO) -> dict[str, Any]:
    props = _entity(store, code)
    return {k: props.get(k) for k in STORED}


def _versions(store: GraphStore, code: str) -> list[dict[str, Any]]:
    rows = store.read(
        "MATCH (v:SubjectVersion)-[:VERSION_OF]->(s:Subject {code: $c}) "
        "RETURN properties(v) AS v ORDER BY v.superseded_at, v.src_line",
        {"c": code},
    )
    return [dict(r["v"]) for r in rows]


def _sources(store: GraphStore) -> dict[str, str]:
    rows = store.read("MATCH (s:Submission) RETURN s.id AS id, s.file AS file")
    return {r["id"]: r["file"] for r in rows}


def _rejects(summary: LoadSummary) -> list[dict[str, Any]]:
    [path] = summary.rejects_files
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()]


# -- 1. a row sets only what it carries -------------------------------------------------


def test_a_source_reporting_only_code_and_name_keeps_what_the_node_holds(
    store: GraphStore, tmp_path: Path
) -> None:
    """The tester's case: market's full row, then the tax office's code and name."""
    market = jsonl_file(tmp_path / "market.jsonl", [FULL])
    tax = csv_file(tmp_path / "tax.entity.csv", ["code", "name"], [[CO, "南通宏达"]])
    assert _load(store, market).loaded == 1
    before = _entity(store)

    summary = _load(store, tax, provider="tax")

    assert summary.exit_code == 0, summary.as_dict()
    # It said nothing new: unchanged, and the node still names market's file as its source.
    assert (summary.loaded, summary.unchanged) == (0, 1)
    assert _facts(store) == STORED
    assert _entity(store) == before
    assert _sources(store)[before["src"]] == str(market)
    assert _versions(store, CO) == []


def test_blank_cells_from_the_same_provider_erase_nothing(
    store: GraphStore, tmp_path: Path
) -> None:
    """The same provider sends the company again with empty cells, in CSV and in JSON
    (empty strings and nulls): nothing is reset, nothing counts as changed."""
    _load(store, jsonl_file(tmp_path / "market.jsonl", [FULL]))
    blank_csv = csv_file(
        tmp_path / "entity.csv", ENTITY_COLUMNS, [[CO, "南通宏达", "", "", "", "", "", ""]]
    )
    blank_json = jsonl_file(
        tmp_path / "blank.jsonl",
        [{"type": "entity", "code": CO, "name": "南通宏达", "org_type": "", "status": "",
          "established": "", "terminated": None, "address": "", "registered_capital": None}],
    )
    for path in (blank_csv, blank_json):
        summary = _load(store, path)
        assert summary.exit_code == 0, summary.as_dict()
        assert (summary.loaded, summary.unchanged) == (0, 1), path.name
        assert _facts(store) == STORED, path.name


def test_defaults_are_given_when_the_node_is_created_and_never_after(
    store: GraphStore, tmp_path: Path
) -> None:
    """A company first reported with code and name is an active enterprise until a
    source says otherwise; that source's facts then stay when the first one is sent
    again."""
    tax = csv_file(tmp_path / "tax.entity.csv", ["code", "name"], [[CO, "南通宏达"]])
    _load(store, tax, provider="tax")
    created = _entity(store)
    assert (created["org_type"], created["status"]) == ("enterprise", "active")
    assert "address" not in created and "established" not in created

    assert _load(store, jsonl_file(tmp_path / "market.jsonl", [FULL])).loaded == 1
    assert _facts(store) == STORED

    again = _load(store, tax, provider="tax")
    assert (again.loaded, again.unchanged) == (0, 1)
    assert _facts(store) == STORED


def test_a_row_changes_only_the_fields_it_carries_and_keeps_the_old_content(
    store: GraphStore, tmp_path: Path
) -> None:
    """A later source that says something new changes that field alone; the node's
    previous content is kept as a version (who sent it, what replaced it), and loading
    both files again changes nothing."""
    market = jsonl_file(tmp_path / "market.jsonl", [FULL])
    tax = csv_file(
        tmp_path / "tax.entity.csv", ["code", "name", "status", "address"],
        [[CO, "南通宏达", "cancelled", ""]],
    )
    _load(store, market)
    summary = _load(store, tax, provider="tax")
    assert (summary.loaded, summary.unchanged) == (1, 0)
    assert _facts(store) == {**STORED, "status": "cancelled"}
    sources = _sources(store)
    assert sources[_entity(store)["src"]] == str(tax)

    [old] = _versions(store, CO)
    assert {k: old.get(k) for k in STORED} == STORED
    assert sources[old["src"]] == str(market) and old["src_line"] == 1
    assert sources[old["superseded_by"]] == str(tax) and old["superseded_at"]

    # Market's file, sent again, still says revoked: the later word is the content.
    assert _load(store, market).loaded == 1
    assert _facts(store) == STORED
    assert len(_versions(store, CO)) == 2
    snapshot = graph_snapshot(store)
    twice = _load(store, market)
    assert (twice.loaded, twice.unchanged) == (0, 1)
    assert graph_snapshot(store) == snapshot


def test_a_file_naming_a_company_twice_loads_once_and_again_changes_nothing(
    store: GraphStore, tmp_path: Path
) -> None:
    """Within one file the later row adds to the earlier one; a double load changes
    nothing, version history included."""
    path = jsonl_file(
        tmp_path / "twice.jsonl",
        [FULL, entity(CO, "南通宏达"), entity(CO, "南通宏达", status="cancelled"),
         entity(CO2, "南通乙")],
    )
    first = _load(store, path)
    assert (first.loaded, first.unchanged) == (3, 1), first.as_dict()
    assert _facts(store) == {**STORED, "status": "cancelled"}
    assert _facts(store, CO2)["org_type"] == "enterprise"
    snapshot = graph_snapshot(store)

    second = _load(store, path)
    assert (second.loaded, second.unchanged) == (0, 4), second.as_dict()
    assert graph_snapshot(store) == snapshot


def test_followthemoney_without_a_status_keeps_the_stored_status(
    store: GraphStore, tmp_path: Path
) -> None:
    """FtM has no status for most companies: the row leaves the stored one alone."""
    _load(store, jsonl_file(tmp_path / "market.jsonl", [{**FULL, "org_type": "enterprise"}]))
    export = tmp_path / "os.ftm.json"
    export.write_text(
        json.dumps({"id": "co-1", "schema": "Company",
                    "properties": {"name": ["南通宏达"], "registrationNumber": [CO]}},
                   ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    summary = _load(store, export, provider="os", fmt="ftm")
    assert summary.exit_code == 0, summary.as_dict()
    props = _entity(store)
    assert {k: props.get(k) for k in STORED} == {**STORED, "org_type": "enterprise"}
    assert props["ftm_ids"] == ["co-1"]  # the new id is what changed
    assert summary.loaded == 1


def test_a_person_renamed_by_a_later_source_keeps_the_old_name_as_a_version(
    store: GraphStore, tmp_path: Path
) -> None:
    """Persons go through the same rule: a row that says the same name from another
    source is unchanged; a new name is kept, the old one as a version."""
    _load(store, jsonl_file(tmp_path / "a.jsonl", [person(P1, "张三")]), provider="a")
    same = _load(store, csv_file(tmp_path / "b.person.csv", ["code", "name"], [[P1, "张三"]]),
                 provider="b")
    assert (same.loaded, same.unchanged) == (0, 1)
    renamed = _load(store, jsonl_file(tmp_path / "c.jsonl", [person(P1, "张叁")]), provider="c")
    assert renamed.loaded == 1
    [row] = store.read("MATCH (p:Person {code: $c}) RETURN p.name AS n", {"c": P1})
    assert row["n"] == "张叁"
    [old] = _versions(store, P1)
    assert old["name"] == "张三" and old["kind"] == "person"


# -- 2. an act date after today ----------------------------------------------------------


def _company_whose_representative_changed() -> list[dict[str, Any]]:
    return [
        entity(CO2, "南通乙建设有限公司"),
        person(P1, "李四"),
        person(P2, "王五"),
        role(CO2, P1, "legal_representative", "2015-01-01", "2025-08-31"),
        role(CO2, P2, "legal_representative", "2025-09-01"),
    ]


def test_an_act_ended_on_after_today_is_refused_and_the_successor_is_not_blamed(
    store: GraphStore, tmp_path: Path
) -> None:
    """2035 for 2025: the act date moved past the change of legal representative on
    2025-09-01, and the successor answered for an act of his predecessor's time."""
    typo = record("R1", CO2, "2025-06-20", severity="serious", list="black",
                  act_ended_on="2035-03-31")
    right = record("R2", CO2, "2025-06-20", severity="serious", list="black",
                   act_ended_on="2025-03-31")
    # One day of slack for time zones, as for decided_on.
    tomorrow = (china_today() + dt.timedelta(days=1)).isoformat()
    ongoing = record("R3", CO2, "2026-11-01", act_ended_on=tomorrow)
    summary = _load(store, jsonl_file(tmp_path / "r.jsonl",
                                  [*_company_whose_representative_changed(), typo, right,
                                   ongoing]))
    successor = check_sanctions(store, P2, policy=NANTONG, catalogue=CATALOGUE, as_of=TODAY)
    assert not successor.restricted and successor.measures == []

    assert summary.rejected == {"bad_date": 1} and summary.loaded == 7, summary.as_dict()
    [rejected] = _rejects(summary)
    assert rejected["id"] == "R1"
    assert "act_ended_on" in rejected["reason"] and "2035-03-31" in rejected["reason"]
    assert "is after today" in rejected["reason"]
    predecessor = check_sanctions(store, P1, policy=NANTONG, catalogue=CATALOGUE, as_of=TODAY)
    assert "NO_OFFICE" in {m.measure for m in predecessor.measures}
    assert {m.basis_record_id for m in predecessor.measures} == {"market:R2"}


# -- 3. empty, padded and capitalised enumeration values --------------------------------


def test_empty_enumeration_values_in_json_mean_not_given_as_in_csv(
    store: GraphStore, tmp_path: Path
) -> None:
    """JSON ``""`` loads as an empty CSV cell does: defaults for a new node or record."""
    rows = [
        entity(CO2, "南通乙", org_type="", status=""),
        record("R1", CO2, "2025-06-01", disclosure="", action="", severity="", list=""),
    ]
    summary = _load(store, jsonl_file(tmp_path / "empty.jsonl", rows))
    assert summary.exit_code == 0 and summary.loaded == 2, summary.as_dict()
    props = _entity(store, CO2)
    assert (props["org_type"], props["status"]) == ("enterprise", "active")
    [rec] = store.read("MATCH (r:Record {uid: $u}) RETURN properties(r) AS r", {"u": "market:R1"})
    assert rec["r"]["disclosure"] == "public" and rec["r"]["status"] == "active"

    # The same rows as CSV files are the same content: nothing changes.
    csv_entity = csv_file(tmp_path / "entity.csv", ["code", "name", "org_type", "status"],
                      [[CO2, "南通乙", "", ""]])
    again = _load(store, csv_entity)
    assert (again.loaded, again.unchanged) == (0, 1)


def test_empty_enumeration_values_do_not_overwrite_stored_ones(
    store: GraphStore, tmp_path: Path
) -> None:
    _load(store, jsonl_file(tmp_path / "market.jsonl", [FULL]))
    blank = {"type": "entity", "code": CO, "name": "南通宏达", "org_type": "", "status": " "}
    summary = _load(store, jsonl_file(tmp_path / "blank.jsonl", [blank]), provider="tax")
    assert summary.exit_code == 0 and summary.unchanged == 1, summary.as_dict()
    assert _facts(store) == STORED


def test_enumeration_values_are_read_stripped_and_in_any_case(
    store: GraphStore, tmp_path: Path
) -> None:
    """The values are a closed list: ``" Social_Org "`` and ``"REVOKED"`` can mean one
    value only, and are stored as the contract spells it. A record ``kind`` is an open
    identifier and stays lower-case only."""
    rows = [
        entity(CO2, "南通乙", org_type=" Social_Org ", status="REVOKED"),
        person(P1, "李四"),
        role(CO2, P1, " Legal_Representative", "2015-01-01"),
        record("R1", CO2, "2025-06-01", category="NEGATIVE", severity=" Serious",
               list="Black ", disclosure="Public", action="Upsert"),
        record("R2", CO2, "2025-06-02"),
        record("R3", CO2, "2025-06-03", kind="Penalty"),
        {"type": "record", "id": "R2", "action": " WITHDRAW "},
    ]
    summary = _load(store, jsonl_file(tmp_path / "spelt.jsonl", rows))
    assert summary.rejected == {"bad_value": 1}, summary.as_dict()
    assert "R3" in json.dumps(_rejects(summary), ensure_ascii=False)
    assert summary.rows_by_type["withdraw"] == 1
    props = _entity(store, CO2)
    assert (props["org_type"], props["status"]) == ("social_org", "revoked")
    recs = {
        r["id"]: r for r in (
            dict(x["r"]) for x in store.read("MATCH (r:Record) RETURN properties(r) AS r")
        )
    }
    assert (recs["R1"]["category"], recs["R1"]["severity"], recs["R1"]["list"],
            recs["R1"]["disclosure"]) == ("negative", "serious", "black", "public")
    assert recs["R2"]["status"] == "withdrawn"
    [held] = store.read(
        "MATCH (:Person {code: $p})-[r:LEGAL_REPRESENTATIVE_OF]->(:Entity) RETURN r.role AS r",
        {"p": P1},
    )
    assert held["r"] == "legal_representative"
    # The same content spelt as the contract does is no change.
    spelt_right = jsonl_file(tmp_path / "right.jsonl",
                         [entity(CO2, "南通乙", org_type="social_org", status="revoked")])
    assert _load(store, spelt_right).unchanged == 1
