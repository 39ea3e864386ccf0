"""Limits that keep one GraphQL document from costing the service more than it is worth.

A caller controls the document, so everything the service does before it refuses a
document must be bounded by the document's size, not by what the document would expand
to. The parser is bounded by a source length and a token count; then ``QueryCostLimiter``
walks the operations once, with every fragment priced once and memoised, and refuses a
document whose expansion is too large, too deep, too aliased or too expensive before any
other validation rule runs. Strawberry's own ``QueryDepthLimiter`` and ``MaxAliasesLimiter``
stay as a second line, but they re-expand fragments on every path that reaches them
(exponential in the fragment fan-out) and crash on unknown fragments, empty selection sets
and long fragment chains (strawberry-graphql 0.341.2), so they only ever see documents the
first walk has found small.

Every refusal for size carries ``extensions.code`` ``LIMIT_EXCEEDED``: the errors are
``LimitError`` with a ``LimitExceeded`` as original error, which ``api.errors.ErrorCodes``
turns into that code. A document that is wrong rather than big (a fragment cycle, an
unknown fragment) gets a plain error, which ``ErrorCodes`` codes as
``GRAPHQL_VALIDATION_FAILED``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from graphql import (
    ASTValidationRule,
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    Node,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationContext,
    ValueNode,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig

from schema.errors import LimitExceeded

LIMIT_EXCEEDED = LimitExceeded.code

#: Counts saturate here, so a document of fragments spreading fragments cannot make
#: the walk do big-integer arithmetic; anything this large is refused anyway.
SATURATION = 10**15

SizeMode = Literal["count", "length"]

#: Arguments that bound how many items a list field returns: ``count`` takes the integer
#: value (``first: 50``), ``length`` the length of a list value (``codes: [...]``).
DEFAULT_SIZE_ARGUMENTS: Mapping[str, SizeMode] = {
    "first": "count",
    "last": "count",
    "limit": "count",
    "codes": "length",
}


@dataclass(frozen=True)
class CostModel:
    """The data the estimated cost is computed from; extend it, do not edit the walk.

    ``field_costs`` and ``list_sizes`` are keyed ``"Type.field"`` (GraphQL names, e.g.
    ``"Query.checkSanctions"``). A field costs ``field_costs`` (default
    ``default_field_cost``) each time it is resolved; the fields below a list field are
    resolved once per item, the item count taken from a size argument in
    ``size_arguments`` (given literally, through a variable, or as the schema default of
    the argument), else ``list_sizes``, else ``default_list_size``. A size given inside
    an input-object argument counts as one of the field's own (``exportGraph(source:
    {codes: [...]})``). A size argument of a field that returns one object (a page, a
    subgraph) scales the cost below it by given / default size, since ``list_sizes``
    describe the lists in that object at the default. An integral float (``100.0``,
    which graphql-core coerces to the Int 100) is priced as the integer.
    """

    field_costs: Mapping[str, int] = field(default_factory=dict)
    size_arguments: Mapping[str, SizeMode] = field(
        default_factory=lambda: dict(DEFAULT_SIZE_ARGUMENTS)
    )
    list_sizes: Mapping[str, int] = field(default_factory=dict)
    default_list_size: int = 10
    default_field_cost: int = 1


@dataclass(frozen=True)
class Limits:
    """Per-document budgets.

    The defaults fit interactive use. A batch is priced per code asked: with the default
    list size of 10 for ``SanctionCheck.measures``, 1000 codes asking for measures cost
    about 23,000, so a deployment serving full batches raises ``max_cost`` or tells the
    cost model how long those lists really are, e.g.
    ``Limits(costs=CostModel(list_sizes={"SanctionCheck.measures": 3}))``.
    """

    #: Nested fields with selections (Strawberry's definition of depth).
    max_depth: int = 10
    #: Aliased fields, counted once per time their fragment is spread.
    max_aliases: int = 30
    #: Lexical tokens, comments included (parser stops there).
    max_tokens: int = 5000
    #: Estimated cost of the most expensive operation (see ``CostModel``).
    max_cost: int = 5000
    #: Code points of the document text (parser refuses before lexing).
    max_source_length: int = 100_000
    #: Selection sets and fragment spreads nested in one another: bounds the recursion
    #: of every later walk, including Strawberry's limiters.
    max_nesting: int = 60
    #: Fields, spreads and inline fragments once every fragment is spread: bounds the
    #: work of validation rules that expand fragments per path.
    max_selections: int = 10_000
    costs: CostModel = field(default_factory=CostModel)


class LimitError(GraphQLError):
    """A refusal for size; ``ErrorCodes`` keeps ``LIMIT_EXCEEDED`` through the original."""

    def __init__(self, message: str, nodes: Node | Sequence[Node] | None = None) -> None:
        super().__init__(
            message,
            nodes,
            original_error=LimitExceeded(message),
            extensions={"code": LIMIT_EXCEEDED},
        )


def mark_limit_error(error: GraphQLError, message: str) -> None:
    """Turn an error graphql-core or Strawberry already created into a limit refusal.

    Needed where the error object is shared with a result built before any extension
    hook can replace it (a parse error), so it is changed in place.
    """
    error.original_error = LimitExceeded(message)
    error.extensions = {**(error.extensions or {}), "code": LIMIT_EXCEEDED}


# ---------------------------------------------------------------------------------------
# The walk


@dataclass(slots=True)
class Tally:
    """What one selection set expands to."""

    cost: int = 0
    selections: int = 0
    aliases: int = 0
    depth: int = 0
    nesting: int = 0

    def add(self, other: Tally) -> None:
        self.cost = min(self.cost + other.cost, SATURATION)
        self.selections = min(self.selections + other.selections, SATURATION)
        self.aliases = min(self.aliases + other.aliases, SATURATION)
        self.depth = max(self.depth, other.depth)
        self.nesting = max(self.nesting, other.nesting)

    def wrapped(self) -> Tally:
        """The tally seen through one spread or inline fragment: one more selection."""
        return Tally(self.cost, min(self.selections + 1, SATURATION), self.aliases,
                     self.depth, self.nesting + 1)


@dataclass(frozen=True)
class Analysis:
    """The whole document: sums over its operations, maxima over them for depth and cost."""

    cost: int
    selections: int
    aliases: int
    depth: int
    nesting: int


class DocumentInvalid(Exception):
    """The document is wrong, not big; reported as a plain validation error."""

    def __init__(self, message: str, nodes: Sequence[Node] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.nodes = list(nodes)


def _unwrap(t: GraphQLOutputType) -> GraphQLOutputType:
    return t.of_type if isinstance(t, GraphQLNonNull) else t


def _spreads(selection_set: SelectionSetNode) -> Iterator[FragmentSpreadNode]:
    """Every spread anywhere below, without recursion (depth is the caller's input)."""
    stack = [selection_set]
    while stack:
        for sel in stack.pop().selections:
            if isinstance(sel, FragmentSpreadNode):
                yield sel
            elif isinstance(sel, (FieldNode, InlineFragmentNode)) and sel.selection_set:
                stack.append(sel.selection_set)


def fragment_order(document: DocumentNode) -> list[FragmentDefinitionNode]:
    """Fragments, each after every fragment it spreads; refuses cycles and unknown names.

    Iterative, so a chain of hundreds of fragments is no deeper for Python than one.
    """
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    for op in document.definitions:
        if isinstance(op, OperationDefinitionNode):
            for spread in _spreads(op.selection_set):
                if spread.name.value not in fragments:
                    raise DocumentInvalid(f"Unknown fragment '{spread.name.value}'.", [spread])
    order: list[FragmentDefinitionNode] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for root in fragments:
        if root in state:
            continue
        state[root] = 1
        path: list[tuple[str, Iterator[FragmentSpreadNode]]] = [
            (root, _spreads(fragments[root].selection_set))
        ]
        while path:
            name, pending = path[-1]
            step = next(pending, None)
            if step is None:
                state[name] = 2
                order.append(fragments[name])
                path.pop()
                continue
            target = step.name.value
            if target not in fragments:
                raise DocumentInvalid(f"Unknown fragment '{target}'.", [step])
            seen = state.get(target)
            if seen == 1:
                raise DocumentInvalid(
                    f"Cannot spread fragment '{target}' within itself.", [step]
                )
            if seen is None:
                state[target] = 1
                path.append((target, _spreads(fragments[target].selection_set)))
    return order


class CostWalk:
    """Prices a parsed document against the schema in time linear in its size."""

    def __init__(
        self,
        schema: GraphQLSchema,
        model: CostModel,
        variables: Mapping[str, Any] | None,
        document: DocumentNode,
    ) -> None:
        self.schema = schema
        self.model = model
        self.variables: Mapping[str, Any] = variables if isinstance(variables, Mapping) else {}
        self.variable_defaults: dict[str, ValueNode] = {}
        for d in document.definitions:
            if isinstance(d, OperationDefinitionNode):
                for v in d.variable_definitions or ():
                    if v.default_value is not None:
                        self.variable_defaults.setdefault(v.variable.name.value, v.default_value)
        self.fragments: dict[str, Tally] = {}

    def run(self, document: DocumentNode) -> Analysis:
        for fragment in fragment_order(document):
            on = self.schema.get_type(fragment.type_condition.name.value)
            self.fragments[fragment.name.value] = self.selection_set(fragment.selection_set, on)
        total = Tally()
        cost = depth = nesting = 0
        for op in document.definitions:
            if not isinstance(op, OperationDefinitionNode):
                continue
            t = self.selection_set(op.selection_set, self._root(op.operation))
            total.add(Tally(0, t.selections, t.aliases))
            cost, depth, nesting = max(cost, t.cost), max(depth, t.depth), max(nesting, t.nesting)
        return Analysis(cost, total.selections, total.aliases, depth, nesting)

    def _root(self, operation: OperationType) -> GraphQLObjectType | None:
        if operation is OperationType.QUERY:
            return self.schema.query_type
        if operation is OperationType.MUTATION:
            return self.schema.mutation_type
        return self.schema.subscription_type

    def selection_set(
        self, selection_set: SelectionSetNode, parent: GraphQLNamedType | None
    ) -> Tally:
        if not selection_set.selections:
            # graphql-core 3.3 parses `{ }`; Strawberry's depth limiter crashes on it.
            raise DocumentInvalid("Selection sets must not be empty.", [selection_set])
        total = Tally()
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                total.add(self.field(sel, parent))
            elif isinstance(sel, InlineFragmentNode):
                on = (
                    self.schema.get_type(sel.type_condition.name.value)
                    if sel.type_condition is not None
                    else parent
                )
                total.add(self.selection_set(sel.selection_set, on).wrapped())
            elif isinstance(sel, FragmentSpreadNode):
                total.add(self.fragments[sel.name.value].wrapped())
        return total

    def field(self, node: FieldNode, parent: GraphQLNamedType | None) -> Tally:
        name = node.name.value
        introspection = name.startswith("__")
        field_def: GraphQLField | None = None
        if not introspection and isinstance(parent, (GraphQLObjectType, GraphQLInterfaceType)):
            field_def = parent.fields.get(name)
        key = f"{parent.name}.{name}" if parent is not None else name
        base = (
            1 if introspection
            else self.model.field_costs.get(key, self.model.default_field_cost)
        )
        aliases = 1 if node.alias is not None else 0
        if node.selection_set is None:
            return Tally(cost=base, selections=1, aliases=aliases, depth=0, nesting=1)
        # Introspection reads the in-memory schema: priced per field, never multiplied,
        # and (as Strawberry does) not counted for depth.
        child_type = get_named_type(field_def.type) if field_def is not None else None
        child = self.selection_set(node.selection_set, child_type)
        if field_def is None:
            below = child.cost
        elif isinstance(_unwrap(field_def.type), GraphQLList):
            below = self._items(node, field_def, key) * child.cost
        else:
            below = self._scaled(node, field_def, child.cost)
        return Tally(
            cost=min(base + below, SATURATION),
            selections=min(1 + child.selections, SATURATION),
            aliases=min(aliases + child.aliases, SATURATION),
            depth=0 if introspection else 1 + child.depth,
            nesting=1 + child.nesting,
        )

    def _items(self, node: FieldNode, field_def: GraphQLField, key: str) -> int:
        """How many times the selections below this list field are resolved."""
        given = self._given(node, field_def)
        if given is not None:
            return given[0]
        sizes = self.model.size_arguments
        for arg_name, mode in sizes.items():
            arg_def = field_def.args.get(arg_name)
            if arg_def is not None:
                n = self._size(arg_def.default_value, mode)
                if n is not None:
                    return n
        return min(max(self.model.list_sizes.get(key, self.model.default_list_size), 0),
                   SATURATION)

    def _given(self, node: FieldNode, field_def: GraphQLField) -> tuple[int, int | None] | None:
        """The size the request gives this field, and the size it has when not given.

        A size argument of the field itself (``first: 50``), else the largest size given
        inside an input-object argument (``exportGraph(source: {codes: [...]})``); the
        second number is the argument's (or input field's) schema default, or None.
        """
        sizes = self.model.size_arguments
        for arg in node.arguments or ():
            mode = sizes.get(arg.name.value)
            if mode is not None:
                n = self._size(self._value(arg.value), mode)
                if n is not None:
                    arg_def = field_def.args.get(arg.name.value)
                    default = None if arg_def is None else self._size(arg_def.default_value, mode)
                    return n, default
        best: tuple[int, int | None] | None = None
        for arg in node.arguments or ():
            if arg.name.value in sizes:
                continue
            value = self._value(arg.value)
            if not isinstance(value, Mapping):
                continue
            arg_def = field_def.args.get(arg.name.value)
            input_type = get_named_type(arg_def.type) if arg_def is not None else None
            for name, item in value.items():
                mode = sizes.get(name)
                n = self._size(item, mode) if mode is not None else None
                if mode is None or n is None or (best is not None and n <= best[0]):
                    continue
                input_field = (
                    input_type.fields.get(name)
                    if isinstance(input_type, GraphQLInputObjectType) else None
                )
                default = (
                    self._size(input_field.default_value, mode)
                    if input_field is not None else None
                )
                best = (n, default)
        return best

    def _scaled(self, node: FieldNode, field_def: GraphQLField, below: int) -> int:
        """The cost below a field that returns one object but takes a size argument
        (``neighborhood(limit:)``, ``listMembers(first:)``): the lists in that object are
        what the size bounds, and the cost model prices them at the default size, so the
        cost below scales by given / default (by the size itself when there is no
        default). Not given: the cost below as it is."""
        given = self._given(node, field_def)
        if given is None:
            return below
        n, default = given
        if default is None or default <= 0:
            return min(n * below, SATURATION)
        return min(-(-n * below // default), SATURATION)

    def _value(self, node: ValueNode) -> Any:
        """The Python value of an argument, through variables; None when unknown."""
        if isinstance(node, VariableNode):
            var = node.name.value
            if var in self.variables:
                return self.variables[var]
            default = self.variable_defaults.get(var)
            return None if default is None else self._value(default)
        if isinstance(node, IntValueNode):
            try:
                return int(node.value)
            except ValueError:
                return None
        if isinstance(node, BooleanValueNode):
            return node.value
        if isinstance(node, ListValueNode):
            return list(node.values)
        if isinstance(node, ObjectValueNode):
            return {f.name.value: self._value(f.value) for f in node.fields}
        return None

    @staticmethod
    def _size(value: Any, mode: SizeMode) -> int | None:
        if mode == "count":
            n = json_int(value)
            return None if n is None else min(max(n, 0), SATURATION)
        if isinstance(value, (list, tuple)):
            return min(len(value), SATURATION)
        return None


def json_int(value: Any) -> int | None:
    """The Int a JSON argument value is to graphql-core: an int (not a bool), or a
    number with a fraction part of zero (``100.0``, ``1e2``), which graphql-core coerces
    to one; None for anything else. A size sent so must be read as the size it is, not
    pass as absent (and be priced, or judged, at the default)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def check_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    limits: Limits,
) -> GraphQLError | None:
    """The first reason to refuse the document before validation, or None."""
    try:
        a = CostWalk(schema, limits.costs, variables, document).run(document)
    except DocumentInvalid as e:
        return GraphQLError(e.message, e.nodes or None)
    if a.nesting > limits.max_nesting:
        return LimitError(
            f"the document nests selections and fragments {a.nesting} levels deep; "
            f"the limit is {limits.max_nesting}"
        )
    if a.selections > limits.max_selections:
        return LimitError(
            f"the document expands to {_shown(a.selections)} selections once its fragments "
            f"are spread; the limit is {limits.max_selections}"
        )
    if a.aliases > limits.max_aliases:
        return LimitError(
            f"the document uses {_shown(a.aliases)} aliases once its fragments are spread; "
            f"the limit is {limits.max_aliases}"
        )
    if a.depth > limits.max_depth:
        return LimitError(
            f"the operation is {a.depth} levels deep; the limit is {limits.max_depth}"
        )
    if a.cost > limits.max_cost:
        return LimitError(
            f"the operation's estimated cost is {_shown(a.cost)}; "
            f"the budget is {limits.max_cost}"
        )
    return None


def _shown(n: int) -> str:
    return f"at least {SATURATION}" if n >= SATURATION else str(n)


# ---------------------------------------------------------------------------------------
# Extensions


class QueryCostLimiter(SchemaExtension):
    """Refuses a document before validation when it is too big in any of the measures.

    It runs in ``on_validate`` before the yield, so before every validation rule
    (Strawberry skips its own validation when ``pre_execution_errors`` is already set),
    whatever its position among the extensions.
    """

    def __init__(self, *, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()

    def on_validate(self) -> Iterator[None]:
        ec = self.execution_context
        if ec.graphql_document is not None and ec.pre_execution_errors is None:
            refusal = check_document(
                ec.schema._schema, ec.graphql_document, ec.variables, self.limits
            )
            if refusal is not None:
                ec.pre_execution_errors = [refusal]
        yield


class ParseLimits(SchemaExtension):
    """Caps the document text and codes every "Parsing aborted." refusal LIMIT_EXCEEDED.

    ``MaxTokensLimiter`` sets the token cap; this adds the source length cap (one string
    literal of a megabyte is a single token) and the code, which the parser cannot give.
    """

    def __init__(self, *, max_source_length: int) -> None:
        self.max_source_length = max_source_length

    def on_operation(self) -> Iterator[None]:
        options = cast(dict[str, Any], self.execution_context.parse_options)
        options["max_source_length"] = self.max_source_length
        try:
            yield
        except GraphQLSyntaxError as error:
            # Strawberry's ``ParserCache`` parses in its own ``on_parse`` hook, so the
            # error escapes the parse step (``on_parse`` below never sees it) and every
            # hook: it passes through here on its way to the result.
            _mark_if_aborted(error)
            raise

    def on_parse(self) -> Iterator[None]:
        yield
        for error in self.execution_context.pre_execution_errors or ():
            _mark_if_aborted(error)


def _mark_if_aborted(error: GraphQLError) -> None:
    if isinstance(error, GraphQLSyntaxError) and error.message.endswith("Parsing aborted."):
        detail = error.message.removeprefix("Syntax Error: ")
        mark_limit_error(error, f"the document is too large: {detail}")


SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def strip_suggestions(message: str) -> str:
    return SUGGESTION.sub("", message)


class HideSuggestions(SchemaExtension):
    """Removes "Did you mean ...?" from every error, not just unknown fields.

    ``StrawberryConfig(disable_field_suggestions=True)`` only rewrites "Cannot query
    field" messages; unknown arguments, types and enum values also suggest names, and
    graphql-core's ``hide_suggestions`` is not reachable through Strawberry 0.341.
    Messages are changed in place, so it works on either side of ``ErrorCodes``.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        ec = self.execution_context
        errors = ec.result.errors if ec.result is not None else ec.pre_execution_errors
        for error in errors or ():
            error.message = strip_suggestions(error.message)


class _LimitCodedContext(ValidationContext):
    """The validation context a wrapped rule sees: its reports become ``LimitError``."""

    def __init__(self, inner: ValidationContext) -> None:
        def report(error: GraphQLError) -> None:
            if isinstance(error, LimitError):
                inner.report_error(error)
            else:
                inner.report_error(LimitError(error.message, error.nodes))

        super().__init__(inner.schema, inner.document, inner._type_info, report)


def limit_coded(rule: type[ASTValidationRule]) -> type[ASTValidationRule]:
    """The same rule, but every error it reports carries ``LIMIT_EXCEEDED``."""

    class LimitCoded(rule):  # type: ignore[valid-type, misc]
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(_LimitCodedContext(context))

    LimitCoded.__name__ = f"LimitCoded{rule.__name__}"
    return LimitCoded


def _coded_rules(extension: AddValidationRules) -> list[type[ASTValidationRule]]:
    return [limit_coded(r) for r in extension.validation_rules]


ExtensionFactory = Callable[[], SchemaExtension]


def schema_extensions(*, production: bool, limits: Limits) -> list[ExtensionFactory]:
    """The extensions for ``strawberry.Schema(extensions=...)``, as classes or factories.

    Put them before ``api.errors.ErrorCodes``. Factories, not instances, because
    Strawberry shares an instance between concurrent requests (and deprecates it).
    """
    depth_rules = _coded_rules(QueryDepthLimiter(max_depth=limits.max_depth))
    alias_rules = _coded_rules(MaxAliasesLimiter(max_alias_count=limits.max_aliases))
    out: list[ExtensionFactory] = [
        lambda: ParseLimits(max_source_length=limits.max_source_length),
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: QueryCostLimiter(limits=limits),
        lambda: AddValidationRules(depth_rules),
        lambda: AddValidationRules(alias_rules),
    ]
    if production:
        out += [DisableIntrospection, HideSuggestions]
    return out


def schema_config(production: bool, **options: Any) -> StrawberryConfig:
    """The schema config: no field suggestions in production (``HideSuggestions`` does the
    rest). ``options`` go to ``StrawberryConfig`` unchanged."""
    return StrawberryConfig(disable_field_suggestions=production, **options)


__all__ = [
    "DEFAULT_SIZE_ARGUMENTS",
    "LIMIT_EXCEEDED",
    "Analysis",
    "CostModel",
    "CostWalk",
    "HideSuggestions",
    "LimitError",
    "Limits",
    "ParseLimits",
    "QueryCostLimiter",
    "check_document",
    "limit_coded",
    "mark_limit_error",
    "schema_config",
    "schema_extensions",
    "strip_suggestions",
]

