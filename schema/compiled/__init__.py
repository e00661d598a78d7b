"""Compiled execution of cached documents: JSON answer -> response, without graphql-core.

    compile_operation(schema, document, operation) -> CompiledOperation | Fallback
    CompiledOperation.execute(context, variables)   -> ExecutionResult | None (None: fall back)

operation.py decides what is compiled and runs the root fields; fields.py turns a selection
into field writers that complete values as graphql-core does; graph.py reads Medusa's JSON
with the object builder's rules.
"""

from schema.compiled.operation import CompiledOperation, Fallback, compile_operation

__all__ = ["CompiledOperation", "Fallback", "compile_operation"]
