"""The GraphQL schema: strawberry types and resolvers, one module per domain."""
