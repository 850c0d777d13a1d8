// The Relay documents of the conformance suite. relay-compiler reads the graphql`` tags here (the file is
// never executed) and writes one artifact per operation and fragment; relay.mjs loads those.
/* global graphql */

graphql`
  fragment OrdersList_query on Query
  @refetchable(queryName: "OrdersListPaginationQuery")
  @argumentDefinitions(
    first: { type: "Int" }
    after: { type: "String" }
    last: { type: "Int" }
    before: { type: "String" }
  ) {
    orders(first: $first, after: $after, last: $last, before: $before)
      @connection(key: "OrdersList_orders") {
      __id
      edges {
        node {
          id
          amountKg
        }
      }
    }
  }
`;

graphql`
  query OrdersListQuery($first: Int, $after: String, $last: Int, $before: String) {
    ...OrdersList_query @arguments(first: $first, after: $after, last: $last, before: $before)
  }
`;

graphql`
  mutation OrdersListPlaceMutation($input: PlaceOrderInput!, $connections: [ID!]!) {
    placeOrder(input: $input) {
      order @prependNode(connections: $connections, edgeTypeName: "OrderEdge") {
        id
        amountKg
      }
      userErrors {
        code
        message
      }
    }
  }
`;

graphql`
  fragment SubaccountCard_subaccount on Subaccount @refetchable(queryName: "SubaccountCardRefetchQuery") {
    id
    name
  }
`;

graphql`
  query SubaccountCardQuery($id: ID!) {
    subaccount(id: $id) {
      ...SubaccountCard_subaccount
    }
  }
`;
