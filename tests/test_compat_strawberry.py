"""One test per strawberry internal the schema relies on (schema/_strawberry_compat.py).

When a strawberry upgrade breaks one, the failing test names the touchpoint and what to fix,
instead of a request failing somewhere deep in a resolver.
"""

from __future__ import annotations

import inspect
from typing import Any

import strawberry
from graphql import GraphQLSchema
from strawberry.federation.schema import Schema as StrawberryFederationSchema

from schema import _strawberry_compat as compat
from schema.enums import PaymentSessionStatus
from schema.schema import build_schema
from schema.types import PaymentCollection, PaymentSession

UPGRADE = "strawberry changed an internal schema/_strawberry_compat.py relies on: "


def test_graphql_schema_is_graphql_cores() -> None:
    built = compat.graphql_schema(build_schema())
    assert isinstance(built, GraphQLSchema), UPGRADE + "Schema._schema"
    assert built.mutation_type is not None


SEEN: list[object] = []
#: What the projection compiler reads from graphql-core's resolve info.
RESOLVE_INFO = ("field_nodes", "fragments", "return_type", "variable_values")


@strawberry.type
class ProbeQuery:
    @strawberry.field
    def probe(self, info: strawberry.Info) -> int:
        SEEN.append(compat.raw_info(info))
        return 1


@strawberry.federation.type(keys=["id"])
class Thing:
    id: strawberry.ID


@strawberry.type
class ThingQuery:
    thing: Thing | None = None


def test_raw_info_is_graphql_cores_resolve_info() -> None:
    SEEN.clear()
    result = strawberry.Schema(query=ProbeQuery).execute_sync("{ probe }")
    assert result.errors is None, UPGRADE + f"Info._raw_info ({result.errors})"
    missing = [name for name in RESOLVE_INFO if not hasattr(SEEN[0], name)]
    assert not missing, UPGRADE + f"Info._raw_info lacks {missing}"


@strawberry.type
class MetadataQuery:
    some_field: int = strawberry.field(default=1, metadata={"k": "v"})


def test_root_field_metadata_by_graphql_name() -> None:
    found = compat.root_field_metadata(strawberry.Schema(query=MetadataQuery))
    assert found == {"MetadataQuery": {"someField": {"k": "v"}}}, (
        UPGRADE + "Schema.query / get_object_definition / name_converter"
    )


def test_type_fields_carry_python_name_type_and_metadata() -> None:
    fields = {field.python_name: field for field in compat.type_fields(PaymentSession)}
    assert "provider_id" in fields, UPGRADE + "get_object_definition(...).fields"
    assert fields["provider_id"].metadata, UPGRADE + "StrawberryField.metadata"


def test_unwrap_and_enum_class_see_through_lists_optionals_and_lazy_types() -> None:
    fields = {field.python_name: field for field in compat.type_fields(PaymentCollection)}
    sessions = compat.unwrap(fields["payment_sessions"].type)
    assert sessions is PaymentSession, UPGRADE + "StrawberryList/StrawberryOptional/LazyType"
    status = {f.python_name: f for f in compat.type_fields(PaymentSession)}["status"]
    assert compat.enum_class(compat.unwrap(status.type)) is PaymentSessionStatus, (
        UPGRADE + "StrawberryEnumDefinition.wrapped_cls"
    )


def test_new_instance_is_filled_through_its_dict() -> None:
    session = compat.new_instance(PaymentSession)
    session.__dict__["id"] = "ps_1"
    assert session.id == "ps_1", UPGRADE + "types must stay plain (non-slotted) dataclasses"


def test_the_entities_hook_is_still_strawberrys() -> None:
    hook = getattr(StrawberryFederationSchema, "entities_resolver", None)
    assert hook is not None, UPGRADE + "federation Schema.entities_resolver was removed"
    parameters = list(inspect.signature(hook).parameters)
    assert parameters == ["self", "info", "representations"], UPGRADE + str(parameters)


def test_the_entities_hook_is_what_answers_entities() -> None:
    checked: list[Any] = []

    class Recording(compat.FederationSchema):
        def check_representation(self, representation: object) -> dict[str, Any] | Exception:
            checked.append(representation)
            return ValueError("refused")

    schema = Recording(query=ThingQuery, types=[Thing], federation_version="2.7")
    result = schema.execute_sync(
        '{ _entities(representations: [{__typename: "Thing", id: "1"}]) { __typename } }'
    )
    assert checked == [{"__typename": "Thing", "id": "1"}], UPGRADE + "entities_resolver hook"
    assert result.errors is not None
    assert result.errors[0].message == "refused"


def test_metadata_of_a_graphql_core_field_is_the_strawberry_fields() -> None:
    built = compat.graphql_schema(strawberry.Schema(query=MetadataQuery))
    assert built.query_type is not None
    field = built.query_type.fields["someField"]
    assert compat.metadata_of(field) == {"k": "v"}, (
        UPGRADE + 'GraphQLField.extensions["strawberry-definition"]'
    )


def test_graphql_field_name_is_the_clients_spelling() -> None:
    assert compat.graphql_field_name(PaymentSession, "provider_id") == (
        "PaymentSession",
        "providerId",
    ), UPGRADE + "get_object_definition / StrawberryField.graphql_name / to_camel_case"
    assert compat.graphql_field_name(object, "x") is None
