"""offsets-gateway: a GraphQL gateway for carbon-credit ordering."""
