"""The GraphQL world: Strawberry types, the projection compiler, resolvers and the schema."""
