"""When a loaded row changes what is stored: one rule for every loader ``MERGE``.

A row changes a node or relationship when its content hash differs from the stored one
(an identical row is skipped, so loading the same file twice changes nothing,
provenance included), unless it is older in its file than the content it would
replace from that same submission (same ``src``, a later ``src_line`` stored). Only a
file loaded again (after an interruption, or by mistake) sends such rows: without the
second half, a file naming something twice replayed both rows on every reload, and a
record gained versions each time. Within a first load the rows of one identity come in
file order, so the second half never holds a row back there.

An identical row is not always a no-op: a record withdrawn and then sent again with the
same content is revived. Records add that case, under the same rule of file order, in
``queries.records.MERGE_RECORDS``; this rule alone skipped such a row and the record
stayed withdrawn.
"""


def changed_row(var: str) -> str:
    """The ``WHERE`` that keeps ``row`` only if it changes ``var`` (just MERGEd from it).
    ``var`` is a Cypher variable of the calling statement, never input."""
    return (
        f"WHERE {var}.row_hash IS NULL\n"
        f"   OR ({var}.row_hash <> row.row_hash\n"
        f"       AND coalesce({var}.src <> row.props.src"
        f" OR {var}.src_line <= row.props.src_line, true))"
    )
